import { formatBytes, formatCount, formatDate, formatDuration, formatRate } from '../format.js';
import { secondsLeft } from '../rate.js';
import type { UploadItem, UploadQueue } from '../upload-queue.js';
import { announce, h, replaceChildren } from './dom.js';

const STATUS_LABEL: Record<UploadItem['status'], string> = {
  queued: 'Waiting',
  running: 'Uploading',
  paused: 'Paused',
  failed: 'Failed',
  conflict: 'Name in use',
  'waiting-file': 'Interrupted',
  done: 'Uploaded',
};

/**
 * The uploads panel: overall progress, and one row per file with its progress bar, bytes, rate and
 * time left, and the buttons its state allows. Rows are updated in place (at most once a frame) so
 * that keyboard focus stays where it is.
 */
export class UploadsPanel {
  readonly element: HTMLElement;
  readonly #queue: UploadQueue;
  readonly #list = h('ul', { class: 'upload-list' });
  readonly #overallBar = h('progress', { id: 'overall-progress', max: 1, value: 0, 'aria-labelledby': 'overall-label' });
  readonly #overallText = h('p', { id: 'overall-label', class: 'stats' });
  readonly #rows = new Map<UploadItem, Row>();
  #frame = 0;

  constructor(queue: UploadQueue) {
    this.#queue = queue;
    const clear = h('button', { type: 'button', class: 'button small', onclick: () => queue.clearFinished() }, 'Clear finished');
    this.element = h('section', { class: 'uploads card', 'aria-labelledby': 'uploads-title', hidden: true },
      h('div', { class: 'uploads-head' }, h('h2', { id: 'uploads-title' }, 'Uploads'), clear),
      h('div', { class: 'overall' }, this.#overallBar, this.#overallText),
      this.#list);
    queue.addEventListener('change', () => this.#schedule());
    queue.addEventListener('announce', (event) => {
      const { message, urgent } = (event as CustomEvent<{ message: string; urgent: boolean }>).detail;
      announce(message, urgent);
    });
    // Rates and times left age even when nothing reports (a stalled connection).
    window.setInterval(() => {
      if (queue.busy) this.#schedule();
    }, 1000);
    this.#render();
  }

  #schedule(): void {
    if (this.#frame !== 0) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = 0;
      this.#render();
    });
  }

  #render(): void {
    const now = performance.now();
    const items = this.#queue.items;
    let focusLost = false;
    for (const [item, row] of this.#rows) {
      if (!items.includes(item)) {
        focusLost ||= row.element.contains(document.activeElement);
        row.element.remove();
        this.#rows.delete(item);
      }
    }
    this.element.hidden = items.length === 0;
    items.forEach((item, index) => {
      let row = this.#rows.get(item);
      if (!row) {
        row = new Row(item, this.#queue);
        this.#rows.set(item, row);
      }
      if (this.#list.children[index] !== row.element) this.#list.insertBefore(row.element, this.#list.children[index] ?? null);
      row.update(now);
    });
    // A removed row had the focus (Cancel, Skip, Remove): move it to the next sensible control.
    if (focusLost) {
      const next = this.#list.querySelector<HTMLElement>('.upload-actions button') ?? document.getElementById('choose-files');
      next?.focus();
    }

    const totals = this.#queue.totals(now);
    this.#overallBar.max = Math.max(totals.totalBytes, 1);
    this.#overallBar.value = totals.bytesDone;
    this.#overallText.textContent = [
      `${totals.filesDone} of ${formatCount(totals.files, 'file')} done`,
      `${formatBytes(totals.bytesDone)} of ${formatBytes(totals.totalBytes)}`,
      formatRate(totals.bytesPerSecond),
      totals.secondsLeft === undefined ? undefined : `${formatDuration(totals.secondsLeft)} left`,
    ].filter(Boolean).join(' · ');
  }
}

class Row {
  readonly element: HTMLLIElement;
  readonly #item: UploadItem;
  readonly #queue: UploadQueue;
  readonly #badge = h('span', { class: 'badge' });
  readonly #name = h('span', { class: 'upload-name' });
  readonly #destination = h('span', { class: 'upload-destination' });
  readonly #bar: HTMLProgressElement;
  readonly #stats = h('p', { class: 'stats' });
  readonly #message = h('div', { class: 'upload-message' });
  readonly #actions = h('div', { class: 'upload-actions' });
  #shape = '';

  constructor(item: UploadItem, queue: UploadQueue) {
    this.#item = item;
    this.#queue = queue;
    this.#bar = h('progress', { class: 'upload-progress', max: 1, value: 0, 'aria-label': `Progress of ${item.name}` });
    this.element = h('li', { class: 'upload', 'data-upload-id': item.id },
      h('div', { class: 'upload-head' }, this.#name, this.#destination, this.#badge),
      this.#bar, this.#message,
      h('div', { class: 'upload-foot' }, this.#stats, this.#actions));
  }

  update(now: number): void {
    const item = this.#item;
    const { progress } = item;
    this.element.dataset.status = item.status;
    this.#name.textContent = item.name;
    this.#destination.textContent = item.identity.newVersionOf ? `new version, in ${item.folderName}` : `to ${item.folderName}`;
    this.#badge.textContent = item.status === 'running' && progress.phase === 'committing' ? 'Finishing' : STATUS_LABEL[item.status];
    const done = item.status === 'done' ? item.identity.size : progress.bytesDone;
    this.#bar.max = Math.max(item.identity.size, 1);
    this.#bar.value = item.status === 'done' ? this.#bar.max : done;
    this.#bar.setAttribute('aria-label', `Progress of ${item.name}`);
    this.#bar.setAttribute('aria-valuetext', `${percent(done, item.identity.size)} uploaded`);

    const rate = item.status === 'running' ? item.rate.bytesPerSecond(now) : undefined;
    const left = secondsLeft(item.identity.size - done, rate);
    this.#stats.textContent = [
      `${formatBytes(done)} of ${formatBytes(item.identity.size)} (${percent(done, item.identity.size)})`,
      progress.totalParts > 1 ? `${progress.partsDone} of ${progress.totalParts} parts` : undefined,
      formatRate(rate),
      left === undefined ? undefined : `${formatDuration(left)} left`,
      item.status === 'running' && progress.bytesRead < progress.bytesDone ? `checking stored parts (${formatBytes(progress.bytesRead)} read)` : undefined,
    ].filter(Boolean).join(' · ');

    // Message and buttons change only with the state: rebuilding them keeps focus on the same action.
    const shape = JSON.stringify([item.status, item.error?.message, item.conflict?.id, item.note, item.name,
      item.status === 'waiting-file' ? item.progress.partsDone : 0]);
    if (shape === this.#shape) return;
    this.#shape = shape;
    this.#renderMessage();
    const focused = this.#actions.contains(document.activeElement) ? (document.activeElement as HTMLElement).dataset.action : undefined;
    replaceChildren(this.#actions, ...this.#buttons());
    if (focused !== undefined) {
      const again = this.#actions.querySelector<HTMLElement>(`[data-action="${focused}"]`) ?? this.#actions.querySelector<HTMLElement>('button');
      (again ?? this.element).focus();
    }
  }

  #renderMessage(): void {
    const item = this.#item;
    const parts: (Node | string)[] = [];
    if (item.status === 'waiting-file') {
      parts.push(h('p', {}, `Interrupted (${item.progress.partsDone} of ${item.progress.totalParts} parts are on the server). `
        + `Choose or drop ${item.identity.fileName} again to continue where it stopped.`));
    } else if (item.status === 'conflict') {
      const existing = item.conflict;
      parts.push(h('p', { role: 'alert' }, `A file named ${item.name} already exists in ${item.folderName}`
        + (existing ? ` (${formatBytes(existing.size)}${existing.modified_at ? `, modified ${formatDate(existing.modified_at)}` : ''})` : '')
        + '. Upload this one as a new version of it, keep both under another name, or skip it?'));
    } else if (item.error) {
      parts.push(h('p', { role: 'alert' }, item.error.message));
      if (item.error.detail) parts.push(h('details', {}, h('summary', {}, 'Details'), h('p', { class: 'detail' }, item.error.detail)));
    }
    if (item.note) parts.push(h('p', { class: 'note' }, item.note));
    if (item.status === 'done' && item.result) {
      parts.push(h('p', { class: 'note' }, `SHA-1 ${item.result.sha1} verified`
        + (item.result.resumed ? `; ${item.result.partsSkipped} parts were already on the server and were not sent again` : '')));
    }
    replaceChildren(this.#message, ...parts);
  }

  #buttons(): HTMLElement[] {
    const item = this.#item;
    const queue = this.#queue;
    const button = (action: string, label: string, run: () => unknown, kind = '') =>
      h('button', { type: 'button', class: `button small ${kind}`.trim(), 'data-action': action, 'aria-label': `${label} ${item.name}`, onclick: () => void run() }, label);
    const cancel = button('cancel', 'Cancel', () => queue.cancel(item), 'danger');
    switch (item.status) {
      case 'queued':
      case 'running':
        return [button('pause', 'Pause', () => queue.pause(item)), cancel];
      case 'paused':
        return [button('resume', 'Resume', () => queue.resume(item), 'primary'), cancel];
      case 'failed':
        return [item.error?.next === 'restart'
          ? button('restart', 'Start again', () => queue.restart(item), 'primary')
          : button('retry', 'Retry', () => queue.resume(item), 'primary'), cancel];
      case 'conflict':
        return [
          ...(item.conflict ? [button('new-version', 'Upload as new version', () => queue.uploadAsNewVersion(item), 'primary')] : []),
          button('keep-both', 'Keep both', () => queue.keepBoth(item)),
          button('skip', 'Skip', () => queue.dismiss(item)),
        ];
      case 'waiting-file': {
        const picker = h('input', { type: 'file', class: 'visually-hidden', tabindex: '-1', 'aria-hidden': 'true', 'data-resume-input': item.id });
        picker.addEventListener('change', () => {
          const file = picker.files?.[0];
          picker.value = '';
          if (file && !queue.attachFile(item, file)) {
            announce(`${file.name} is not the file this upload was reading (${item.identity.fileName}, ${formatBytes(item.identity.size)}, `
              + `modified ${new Date(item.identity.lastModified).toLocaleString()}).`, true);
          }
        });
        return [button('choose', 'Choose file…', () => picker.click(), 'primary'), button('discard', 'Discard', () => queue.dismiss(item), 'danger'), picker];
      }
      case 'done':
        return [button('remove', 'Remove from list', () => queue.dismiss(item))];
    }
  }
}

function percent(done: number, total: number): string {
  if (total === 0) return '100%';
  const value = (done / total) * 100;
  return `${value >= 10 || value === 0 ? Math.floor(value) : value.toFixed(1)}%`;
}
