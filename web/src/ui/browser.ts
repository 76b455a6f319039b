import type { BoxApi, BoxFile, BoxFolderDetails, BoxItem } from '../api.js';
import { formatBytes, formatDate } from '../format.js';
import { explainError } from '../messages.js';
import { announce, confirmDialog, h, icon, replaceChildren } from './dom.js';

export interface FolderRef {
  id: string;
  name: string;
}

/**
 * One folder: its path, its items (name, size, date, SHA-1; download and delete for files), a form
 * for a new folder, and the drop zone and file picker that hand files to the upload queue.
 */
export class FolderView {
  readonly element: HTMLElement;
  folder: FolderRef = { id: '0', name: 'All Files' };
  readonly #api: BoxApi;
  readonly #onFiles: (files: File[], folder: FolderRef) => void;
  readonly #crumbs = h('ol', { class: 'breadcrumbs' });
  readonly #title = h('h1', { id: 'folder-title', tabindex: '-1' }, 'All Files');
  readonly #list = h('div', { class: 'items', 'aria-live': 'off' });
  readonly #dropTarget = h('strong', {}, 'All Files');
  readonly #folderError = h('p', { class: 'form-error', role: 'alert', id: 'new-folder-error' });
  #loading = 0;

  constructor(api: BoxApi, onFiles: (files: File[], folder: FolderRef) => void) {
    this.#api = api;
    this.#onFiles = onFiles;
    const picker = h('input', { type: 'file', multiple: true, id: 'file-input', class: 'visually-hidden', tabindex: '-1', 'aria-hidden': 'true' });
    picker.addEventListener('change', () => {
      const files = [...(picker.files ?? [])];
      picker.value = '';
      if (files.length > 0) this.#onFiles(files, this.folder);
    });
    const choose = h('button', { type: 'button', class: 'button primary', id: 'choose-files', onclick: () => picker.click() }, 'Choose files…');

    const nameInput = h('input', { id: 'new-folder-name', class: 'input', required: true, maxlength: 255, autocomplete: 'off', 'aria-describedby': 'new-folder-error' });
    const newFolder = h('form', { class: 'new-folder', novalidate: true },
      h('label', { for: 'new-folder-name' }, 'New folder'),
      h('div', { class: 'inline' }, nameInput, h('button', { type: 'submit', class: 'button' }, 'Create')),
      this.#folderError);
    newFolder.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#createFolder(nameInput);
    });

    const dropzone = h('div', { class: 'dropzone', id: 'dropzone' },
      h('p', {}, 'Drop files here to upload them to ', this.#dropTarget, ', or'),
      choose, picker);
    this.element = h('section', { class: 'browser', 'aria-labelledby': 'folder-title' },
      h('nav', { 'aria-label': 'Folder path' }, this.#crumbs),
      h('div', { class: 'folder-head' }, this.#title, newFolder),
      dropzone,
      h('div', { id: 'uploads-slot' }),
      this.#list);
    this.#listenForDrops(dropzone);
  }

  /** Shows a folder; `focus` moves keyboard focus to its title (after navigating). */
  async show(folderId: string, focus = false): Promise<void> {
    const ticket = ++this.#loading;
    this.#list.setAttribute('aria-busy', 'true');
    try {
      const [folder, items] = await Promise.all([this.#api.getFolder(folderId), this.#api.listFolder(folderId)]);
      if (ticket !== this.#loading) return;
      this.folder = { id: folder.id, name: folder.name };
      this.#renderHead(folder);
      this.#renderItems(items);
      document.title = `${folder.name} – Partway`;
      if (focus) this.#title.focus();
    } catch (error) {
      if (ticket !== this.#loading) return;
      const explained = explainError(error, 'browse');
      replaceChildren(this.#list, h('div', { class: 'notice error', role: 'alert' },
        h('p', {}, explained.message),
        explained.detail ? h('p', { class: 'detail' }, explained.detail) : null,
        h('p', {}, h('button', { type: 'button', class: 'button', onclick: () => void this.show(folderId) }, 'Try again'), ' ',
          h('a', { href: '#/folder/0' }, 'Go to All Files'))));
    } finally {
      if (ticket === this.#loading) this.#list.removeAttribute('aria-busy');
    }
  }

  refresh(): Promise<void> {
    return this.show(this.folder.id);
  }

  #renderHead(folder: BoxFolderDetails): void {
    const path = [...folder.path_collection.entries, folder];
    replaceChildren(this.#crumbs, ...path.map((entry, index) => index === path.length - 1
      ? h('li', {}, h('span', { 'aria-current': 'page' }, entry.name))
      : h('li', {}, h('a', { href: `#/folder/${encodeURIComponent(entry.id)}` }, entry.name))));
    // At the top there is no path to show: the title says where we are.
    this.#crumbs.parentElement!.hidden = path.length <= 1;
    this.#title.textContent = folder.name;
    this.#dropTarget.textContent = folder.name;
  }

  #renderItems(items: BoxItem[]): void {
    if (items.length === 0) {
      replaceChildren(this.#list, h('p', { class: 'empty' }, 'This folder is empty.'));
      return;
    }
    const rows = items.map((item) => item.type === 'folder'
      ? h('tr', { class: 'folder-row' },
        h('th', { scope: 'row', 'data-label': 'Name' }, h('a', { href: `#/folder/${encodeURIComponent(item.id)}`, class: 'item-name' },
          icon('folder'), item.name)),
        h('td', { 'data-label': 'Size', class: 'muted' }, '—'),
        h('td', { 'data-label': 'Modified' }, formatDate(item.modified_at)),
        h('td', { 'data-label': 'SHA-1', class: 'muted' }, '—'),
        h('td', { class: 'actions' }))
      : this.#fileRow(item));
    replaceChildren(this.#list,
      h('table', { class: 'item-table' },
        h('caption', { class: 'visually-hidden' }, `Contents of ${this.folder.name}`),
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Size'), h('th', { scope: 'col' }, 'Modified'),
          h('th', { scope: 'col' }, 'SHA-1'), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
        h('tbody', {}, ...rows)));
  }

  #fileRow(file: BoxFile): HTMLTableRowElement {
    return h('tr', { class: 'file-row', 'data-file-id': file.id },
      h('th', { scope: 'row', 'data-label': 'Name' }, h('span', { class: 'item-name' }, icon('file'), file.name)),
      h('td', { 'data-label': 'Size', title: `${file.size.toLocaleString()} bytes` }, formatBytes(file.size)),
      h('td', { 'data-label': 'Modified' }, formatDate(file.modified_at)),
      h('td', { 'data-label': 'SHA-1' }, h('code', { class: 'sha1' }, file.sha1)),
      h('td', { class: 'actions' },
        h('button', { type: 'button', class: 'button small', 'aria-label': `Download ${file.name}`, onclick: () => void this.#download(file) }, 'Download'),
        h('button', { type: 'button', class: 'button small danger', 'aria-label': `Delete ${file.name}`, onclick: () => void this.#delete(file) }, 'Delete')));
  }

  async #createFolder(input: HTMLInputElement): Promise<void> {
    const name = input.value.trim();
    this.#folderError.textContent = '';
    if (name === '') {
      this.#folderError.textContent = 'Type a name for the new folder.';
      input.focus();
      return;
    }
    try {
      await this.#api.createFolder(name, this.folder.id);
      input.value = '';
      announce(`Folder ${name} created.`);
      await this.refresh();
    } catch (error) {
      const explained = explainError(error, 'folder');
      this.#folderError.textContent = explained.message;
      input.focus();
    }
  }

  async #download(file: BoxFile): Promise<void> {
    try {
      const { url } = await this.#api.downloadUrl(file.id);
      // The signed link needs no token, so the browser's own download manager can fetch it
      // (with its progress, pause and resume), and no multi-gigabyte body passes through this page.
      const link = h('a', { href: url, download: file.name, class: 'visually-hidden' });
      document.body.appendChild(link);
      link.click();
      link.remove();
      announce(`Downloading ${file.name}.`);
    } catch (error) {
      const explained = explainError(error, 'download');
      announce(`${file.name} cannot be downloaded: ${explained.message}`, true);
      this.#flash(explained.message);
    }
  }

  async #delete(file: BoxFile): Promise<void> {
    const sure = await confirmDialog({
      title: `Delete ${file.name}?`, message: `${file.name} (${formatBytes(file.size)}) will be deleted from ${this.folder.name}. This cannot be undone.`,
      confirm: 'Delete', danger: true,
    });
    if (!sure) return;
    try {
      await this.#api.deleteFile(file.id);
      announce(`${file.name} deleted.`);
      await this.refresh();
      this.#title.focus();
    } catch (error) {
      const explained = explainError(error, 'delete');
      announce(`${file.name} was not deleted: ${explained.message}`, true);
      this.#flash(explained.message);
      await this.refresh();
    }
  }

  /** A short-lived visible message above the list (the same text also goes to the live region). */
  #flash(message: string): void {
    const notice = h('div', { class: 'notice error' }, message);
    this.#list.before(notice);
    window.setTimeout(() => notice.remove(), 8000);
  }

  /** Files dropped anywhere on the page go to this folder; the drop zone lights up while dragging. */
  #listenForDrops(dropzone: HTMLElement): void {
    let depth = 0;
    const hasFiles = (event: DragEvent) => event.dataTransfer?.types.includes('Files') ?? false;
    document.addEventListener('dragenter', (event) => {
      if (!hasFiles(event)) return;
      depth++;
      dropzone.classList.add('dragging');
    });
    document.addEventListener('dragleave', (event) => {
      if (!hasFiles(event)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) dropzone.classList.remove('dragging');
    });
    document.addEventListener('dragover', (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
    });
    document.addEventListener('drop', (event) => {
      if (!hasFiles(event) || !this.element.isConnected) return;
      event.preventDefault();
      depth = 0;
      dropzone.classList.remove('dragging');
      const transfer = event.dataTransfer!;
      const files: File[] = [];
      let folders = 0;
      const entries = [...transfer.items].filter((item) => item.kind === 'file').map((item) => item.webkitGetAsEntry?.());
      [...transfer.files].forEach((file, index) => {
        if (entries[index]?.isDirectory) folders++;
        else files.push(file);
      });
      if (folders > 0) announce(`${folders === 1 ? 'A folder was' : `${folders} folders were`} left out: drop the files inside it instead.`, true);
      if (files.length > 0) this.#onFiles(files, this.folder);
    });
  }
}
