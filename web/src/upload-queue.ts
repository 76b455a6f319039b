import { AbortedError, BoxApiError, type BoxFile } from './api.js';
import { numberedName } from './format.js';
import { explainError, type Explained } from './messages.js';
import { RateMeter, secondsLeft } from './rate.js';
import { sameFile, uploadKey, type SavedUpload, type UploadIdentity } from './state-store.js';
import { discardUpload, runUpload, type EngineDeps, type UploadOutcome, type UploadProgress } from './upload-engine.js';

/**
 * The uploads of this page: a queue that runs one file at a time (each with several parts in
 * flight), and the state of each file as the UI shows it. No DOM here: the UI listens to `change`.
 *
 *   queued → running → done
 *              ↓ ↑ pause/resume, retry
 *      paused | failed | conflict (name clash: new version, keep both, or skip)
 *   waiting-file: a session saved by an earlier page; choosing the same file again resumes it.
 */

export type UploadStatus = 'queued' | 'running' | 'paused' | 'failed' | 'conflict' | 'waiting-file' | 'done';

export interface Destination {
  id: string;
  name: string;
}

let nextId = 1;

export class UploadItem {
  readonly id = nextId++;
  file: File | undefined;
  identity: UploadIdentity;
  folderName: string;
  status: UploadStatus;
  progress: UploadProgress;
  readonly rate = new RateMeter();
  error: Explained | undefined;
  /** The existing file that holds the name (status `conflict`). */
  conflict: BoxFile | undefined;
  note: string | undefined;
  result: UploadOutcome | undefined;
  /** The user chose "keep both": on a clash, try the next numbered name by itself. */
  keepBoth = 0;
  #controller: AbortController | undefined;
  #running: Promise<void> | undefined;
  #runs = 0;

  constructor(init: { file: File | undefined; identity: UploadIdentity; folderName: string; status: UploadStatus; partsStored?: number; totalParts?: number }) {
    this.file = init.file;
    this.identity = init.identity;
    this.folderName = init.folderName;
    this.status = init.status;
    this.progress = {
      bytesDone: 0, totalBytes: init.identity.size, partsDone: init.partsStored ?? 0, totalParts: init.totalParts ?? 0,
      bytesRead: 0, phase: 'starting',
    };
  }

  get name(): string {
    return this.identity.name;
  }

  get key(): string {
    return uploadKey(this.identity);
  }

  get active(): boolean {
    return this.status === 'queued' || this.status === 'running';
  }

  /** Starts counting a new run; only the latest run may change the item. */
  newRun(): number {
    return ++this.#runs;
  }

  isRun(ticket: number): boolean {
    return ticket === this.#runs;
  }

  // The run in progress, so that pause and cancel reach it.
  attach(controller: AbortController, settled: Promise<void>): void {
    this.#controller = controller;
    this.#running = settled;
  }

  detach(): void {
    this.#controller = undefined;
    this.#running = undefined;
  }

  abort(): void {
    this.#controller?.abort();
  }

  /** Resolves once no run of this item is in progress. */
  async stopped(): Promise<void> {
    this.abort();
    await this.#running;
  }
}

export interface QueueTotals {
  files: number;
  filesDone: number;
  bytesDone: number;
  totalBytes: number;
  bytesPerSecond: number | undefined;
  secondsLeft: number | undefined;
}

export class UploadQueue extends EventTarget {
  readonly items: UploadItem[] = [];
  readonly #deps: EngineDeps;
  readonly #scope: { origin: string; userId: string };
  readonly #options: { chunkedThreshold?: number; concurrency?: number };

  constructor(deps: EngineDeps, scope: { origin: string; userId: string }, options: { chunkedThreshold?: number; concurrency?: number } = {}) {
    super();
    this.#deps = deps;
    this.#scope = scope;
    this.#options = options;
  }

  /** Shows the uploads an earlier page left unfinished (their sessions are in the state store). */
  async loadSaved(): Promise<void> {
    const saved = (await this.#deps.store.all())
      .filter((record) => record.origin === this.#scope.origin && record.userId === this.#scope.userId)
      .sort((a, b) => a.createdAt - b.createdAt);
    const checks: Promise<void>[] = [];
    for (const record of saved) {
      if (this.items.some((item) => item.key === record.key)) continue;
      const item = new UploadItem({
        file: undefined, identity: identityOf(record), folderName: record.folderName, status: 'waiting-file',
        partsStored: record.partsStored, totalParts: record.session.totalParts,
      });
      item.progress.bytesDone = Math.min(record.size, record.partsStored * record.session.partSize);
      this.items.push(item);
      checks.push(this.#checkSaved(item, record));
    }
    this.#changed();
    await Promise.all(checks);
  }

  /** Asks the server how far a saved upload got (the saved count may lag a little behind). */
  async #checkSaved(item: UploadItem, record: SavedUpload): Promise<void> {
    try {
      const parts = await this.#deps.api.listParts({ session_endpoints: record.session.endpoints });
      item.progress.partsDone = parts.length;
      item.progress.bytesDone = parts.reduce((sum, part) => sum + part.size, 0);
    } catch (error) {
      if (error instanceof BoxApiError && (error.status === 404 || error.status === 410)) {
        item.progress.partsDone = 0;
        item.progress.bytesDone = 0;
        item.note = error.status === 410
          ? 'Its upload session has expired, so choosing the file again starts the upload over.'
          : 'The server no longer has its upload session, so choosing the file again starts the upload over.';
      }
    }
    this.#changed(item);
  }

  /**
   * Adds files to upload into `folder`. A file that an unfinished upload was reading (same name,
   * size and modification time) continues that upload, into its own destination, instead.
   */
  add(files: Iterable<File>, folder: Destination): void {
    for (const file of files) {
      const earlier = this.items.find((item) => !item.active && item.status !== 'done' && sameFile(item.identity, file));
      if (earlier) {
        earlier.file = file;
        this.#announce(`Resuming the earlier upload of ${earlier.name} into ${earlier.folderName}.`);
        this.#queue(earlier);
        continue;
      }
      if (this.items.some((item) => item.active && sameFile(item.identity, file) && item.identity.folderId === folder.id)) {
        this.#announce(`${file.name} is already being uploaded here.`);
        continue;
      }
      const item = new UploadItem({
        file, folderName: folder.name, status: 'queued',
        identity: { ...this.#scope, folderId: folder.id, newVersionOf: undefined, name: file.name, fileName: file.name, size: file.size, lastModified: file.lastModified },
      });
      this.items.push(item);
      this.#changed(item);
    }
    this.#pump();
  }

  /** Gives a `waiting-file` item its file back; false (and nothing done) if it is not the same file. */
  attachFile(item: UploadItem, file: File): boolean {
    if (!sameFile(item.identity, file)) return false;
    item.file = file;
    this.#queue(item);
    return true;
  }

  pause(item: UploadItem): void {
    if (item.status === 'queued') {
      this.#setStatus(item, 'paused');
    } else if (item.status === 'running') {
      item.status = 'paused';
      item.rate.reset();
      item.abort();
      this.#changed(item);
    }
  }

  resume(item: UploadItem): void {
    if (item.status === 'paused' || item.status === 'failed') this.#queue(item);
  }

  /** Starts the item again from zero: its session is aborted first. */
  async restart(item: UploadItem): Promise<void> {
    await item.stopped();
    await discardUpload(this.#deps, item.key).catch(() => {});
    item.progress = { ...item.progress, bytesDone: 0, partsDone: 0, bytesRead: 0, phase: 'starting' };
    this.#queue(item);
  }

  /** Stops the upload, aborts its session on the server and forgets it. */
  async cancel(item: UploadItem): Promise<void> {
    const wasRunning = item.status === 'running';
    item.status = 'paused';
    if (wasRunning) item.abort();
    await item.stopped();
    this.#remove(item);
    try {
      await discardUpload(this.#deps, item.key);
      this.#announce(`Upload of ${item.name} cancelled.`);
    } catch {
      this.#announce(`Upload of ${item.name} cancelled; the server could not be told, so its session will expire by itself.`);
    }
  }

  /** After a name clash: upload as a new version of the existing file. */
  async uploadAsNewVersion(item: UploadItem): Promise<void> {
    const existing = item.conflict;
    if (!existing || item.status !== 'conflict') return;
    await discardUpload(this.#deps, item.key).catch(() => {});
    item.identity = { ...item.identity, newVersionOf: existing.id, name: existing.name };
    item.conflict = undefined;
    this.#queue(item);
  }

  /** After a name clash: upload under "name (1).ext", or the next free number. */
  async keepBoth(item: UploadItem): Promise<void> {
    if (item.status !== 'conflict') return;
    await discardUpload(this.#deps, item.key).catch(() => {});
    item.keepBoth++;
    item.identity = { ...item.identity, name: numberedName(item.identity.fileName, item.keepBoth) };
    item.conflict = undefined;
    this.#queue(item);
  }

  /** Forgets an item that is not running (a skipped clash, a finished upload). */
  async dismiss(item: UploadItem): Promise<void> {
    if (item.active) return;
    if (item.status !== 'done') await discardUpload(this.#deps, item.key).catch(() => {});
    this.#remove(item);
  }

  clearFinished(): void {
    for (const item of this.items.filter((each) => each.status === 'done')) this.#remove(item);
  }

  /** Whether leaving the page now would interrupt something. */
  get busy(): boolean {
    return this.items.some((item) => item.active);
  }

  totals(now = performance.now()): QueueTotals {
    let bytesDone = 0;
    let totalBytes = 0;
    let filesDone = 0;
    let rate: number | undefined;
    const counted = this.items.filter((item) => item.status !== 'waiting-file');
    for (const item of counted) {
      bytesDone += item.status === 'done' ? item.identity.size : item.progress.bytesDone;
      totalBytes += item.identity.size;
      if (item.status === 'done') filesDone++;
      const itemRate = item.status === 'running' ? item.rate.bytesPerSecond(now) : undefined;
      if (itemRate !== undefined) rate = (rate ?? 0) + itemRate;
    }
    return { files: counted.length, filesDone, bytesDone, totalBytes, bytesPerSecond: rate, secondsLeft: secondsLeft(totalBytes - bytesDone, rate) };
  }

  #queue(item: UploadItem): void {
    item.error = undefined;
    item.note = undefined;
    this.#setStatus(item, 'queued');
    this.#pump();
  }

  /** Starts the next queued file if none is running. */
  #pump(): void {
    if (this.items.some((item) => item.status === 'running')) return;
    const next = this.items.find((item) => item.status === 'queued' && item.file !== undefined);
    if (next) void this.#run(next);
  }

  async #run(item: UploadItem): Promise<void> {
    const file = item.file!;
    // A paused item resumed at once may still have its previous run winding down: that run must
    // end first, and must not touch the item's state after this one began.
    const ticket = item.newRun();
    item.status = 'running';
    item.error = undefined;
    item.rate.reset();
    this.#changed(item);
    await item.stopped();
    if (!item.isRun(ticket) || item.status !== 'running') {
      this.#pump();
      return;
    }
    const controller = new AbortController();
    let first = true;
    const current = () => item.isRun(ticket);
    const running = runUpload(this.#deps, { file, identity: item.identity, folderName: item.folderName }, {
      signal: controller.signal,
      ...this.#options,
      onProgress: (progress) => {
        if (!current()) return;
        item.progress = progress;
        // The first report counts the parts an earlier run stored: not speed.
        if (first) item.rate.rebase(progress.bytesDone);
        else item.rate.sample(progress.bytesDone);
        first = false;
        this.#changed(item);
      },
      onNote: (note) => {
        if (!current()) return;
        item.note = note;
        this.#announce(`${item.name}: ${note}`);
      },
    });
    item.attach(controller, running.then(() => {}, () => {}));
    let outcome: UploadOutcome | undefined;
    let failure: unknown;
    try {
      outcome = await running;
    } catch (error) {
      failure = error;
    }
    if (!current()) return;
    item.detach();
    item.rate.reset();
    if (outcome) {
      item.result = outcome;
      item.progress = { ...item.progress, bytesDone: file.size, partsDone: item.progress.totalParts, phase: 'committing' };
      item.status = 'done';
      this.#announce(`${item.name} uploaded${outcome.resumed ? ` (continued: ${outcome.partsSkipped} parts were already on the server)` : ''}.`);
      this.dispatchEvent(new CustomEvent('uploaded', { detail: item }));
    } else if (failure instanceof AbortedError || controller.signal.aborted) {
      // Paused or cancelled: the status was set by whoever stopped it.
      if (item.status === 'running') item.status = 'paused';
    } else if (failure instanceof BoxApiError && failure.code === 'item_name_in_use') {
      if (item.keepBoth > 0 && item.keepBoth < 100) {
        // "Keep both" was chosen: try the next number by itself.
        item.keepBoth++;
        item.identity = { ...item.identity, name: numberedName(item.identity.fileName, item.keepBoth) };
        item.status = 'queued';
      } else {
        item.conflict = conflictOf(failure);
        item.error = explainError(failure, 'upload');
        item.status = 'conflict';
        this.#announce(`${item.name}: a file with this name already exists in ${item.folderName}.`);
      }
    } else {
      item.error = explainError(failure, 'upload');
      item.status = 'failed';
      this.#announce(`${item.name} failed: ${item.error.message}`, true);
    }
    this.#changed(item);
    this.#pump();
  }

  #setStatus(item: UploadItem, status: UploadStatus): void {
    item.status = status;
    this.#changed(item);
  }

  #remove(item: UploadItem): void {
    const index = this.items.indexOf(item);
    if (index >= 0) this.items.splice(index, 1);
    this.#changed();
  }

  #changed(item?: UploadItem): void {
    this.dispatchEvent(new CustomEvent('change', { detail: item }));
  }

  #announce(message: string, urgent = false): void {
    this.dispatchEvent(new CustomEvent('announce', { detail: { message, urgent } }));
  }
}

function identityOf(record: SavedUpload): UploadIdentity {
  const { origin, userId, folderId, newVersionOf, name, fileName, size, lastModified } = record;
  return { origin, userId, folderId, newVersionOf, name, fileName, size, lastModified };
}

/** Box sends the clashing item as `context_info.conflicts`: one object (or, from some servers, a list). */
function conflictOf(error: BoxApiError): BoxFile | undefined {
  const conflicts = error.contextInfo?.conflicts;
  const item = Array.isArray(conflicts) ? conflicts[0] : conflicts;
  return typeof item === 'object' && item !== null && (item as BoxFile).type === 'file' ? item as BoxFile : undefined;
}
