import { h, replaceChildren } from './dom.js';

/**
 * Asked when a `/#token=…` link arrives while this browser is signed in with another token: a link
 * must not quietly move the user's uploads into someone else's account.
 */
export function renderAccountChoice(container: HTMLElement, options: {
  /** The signed-in account's name, if the server still accepts its token. */
  current: string;
  /** The link's account name, if the server accepts the link's token. */
  offered: string | undefined;
  onKeep: () => void;
  onSwitch: () => void;
}): void {
  const keep = h('button', { type: 'button', class: 'button primary', id: 'keep-account', onclick: options.onKeep }, `Stay signed in as ${options.current}`);
  const offeredText = options.offered === undefined ? 'with another token (the server does not accept it)' : `as ${options.offered}`;
  replaceChildren(container,
    h('section', { class: 'card sign-in', role: 'alertdialog', 'aria-labelledby': 'switch-title', 'aria-describedby': 'switch-text' },
      h('h1', { id: 'switch-title' }, 'Switch accounts?'),
      h('p', { id: 'switch-text' }, 'You are signed in as ', h('strong', {}, options.current), '. The link you opened would sign you in ',
        options.offered === undefined ? offeredText : h('strong', {}, offeredText),
        ' instead, and what you upload would go to that account. Switch only if you expected this link.'),
      h('div', { class: 'actions' },
        keep,
        options.offered === undefined ? null
          : h('button', { type: 'button', class: 'button', id: 'switch-account', onclick: options.onSwitch }, `Switch to ${options.offered}`))));
  keep.focus();
}
