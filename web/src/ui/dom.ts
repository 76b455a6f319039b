/** A tiny DOM builder: `h('button', { type: 'button', onclick: go }, 'Go')`. */

type Child = Node | string | number | null | undefined | false;
type Handler = (event: any) => void;
export type Attrs = Record<string, string | number | boolean | Handler | undefined | null>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === 'function') {
      element.addEventListener(name.replace(/^on/, ''), value);
    } else if (name === 'class') {
      element.className = String(value);
    } else if (value === true) {
      element.setAttribute(name, '');
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces the children of `parent`. */
export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** A message for screen readers (`polite`) or, for failures, one that interrupts (`assertive`). */
export function announce(message: string, urgent = false): void {
  const region = document.getElementById(urgent ? 'alerts' : 'announcements');
  if (!region) return;
  // Cleared first so that the same message twice is read twice.
  region.textContent = '';
  window.setTimeout(() => {
    region.textContent = message;
  }, 50);
}

/** A modal question with real buttons; Escape or "Cancel" answers false. */
export function confirmDialog(options: { title: string; message: string; confirm: string; danger?: boolean }): Promise<boolean> {
  return new Promise((resolve) => {
    const titleId = `dialog-title-${Math.random().toString(36).slice(2)}`;
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': titleId },
      h('form', { method: 'dialog' },
        h('h2', { id: titleId }, options.title),
        h('p', {}, options.message),
        h('div', { class: 'dialog-actions' },
          h('button', { type: 'submit', value: 'cancel', class: 'button', autofocus: true }, 'Cancel'),
          h('button', { type: 'submit', value: 'confirm', class: options.danger ? 'button danger' : 'button primary' }, options.confirm))));
    const opener = document.activeElement as HTMLElement | null;
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'confirm');
      dialog.remove();
      if (opener?.isConnected) opener.focus();
    });
    document.body.appendChild(dialog);
    dialog.showModal();
  });
}

const ICONS = {
  folder: 'M3 6.5A1.5 1.5 0 0 1 4.5 5h4.2l1.8 2h9a1.5 1.5 0 0 1 1.5 1.5v9A1.5 1.5 0 0 1 19.5 19h-15A1.5 1.5 0 0 1 3 17.5z',
  file: 'M6.5 3h7.7L19 7.8v11.7a1.5 1.5 0 0 1-1.5 1.5h-11A1.5 1.5 0 0 1 5 19.5v-15A1.5 1.5 0 0 1 6.5 3zM14 3.5V8h4.5',
} as const;

/** A decorative icon (hidden from screen readers: the name next to it says what it is). */
export function icon(name: keyof typeof ICONS): SVGSVGElement {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '20');
  svg.setAttribute('height', '20');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', `icon icon-${name}`);
  const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  path.setAttribute('d', ICONS[name]);
  svg.appendChild(path);
  return svg;
}
