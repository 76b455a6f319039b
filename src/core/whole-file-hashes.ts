import { createHash, type Hash } from 'node:crypto';
import type { MetadataStore, UploadSessionRecord } from '../metadata/store.js';

interface Progress {
  hash: Hash;
  /** The bytes [0, nextOffset) are in the hash. */
  nextOffset: number;
  catchUp: Promise<void> | undefined;
  sha1: string | undefined;
  /** Called each time the prefix grows (parts waiting for the hash to come closer). */
  onAdvance: Array<() => void>;
}

/** At most this many sessions' hashes are kept; the oldest are dropped (their commit reads the file instead). */
const MAX_SESSIONS = 10_000;

/**
 * The whole-file SHA-1 of each session, computed as its contiguous prefix of recorded parts grows,
 * so that a commit need not read the file again. After each recorded part, a catch-up reads the
 * parts that now extend the prefix back from the blob store (just written: from the page cache) and
 * hashes them in offset order. Only for stores that can read a part before completion (the disk);
 * the state lives in this process, so after a restart or on another node the commit reads the file.
 */
export class WholeFileHashes {
  readonly #metadata: MetadataStore;
  readonly #readPart: (uploadRef: string, partRef: string) => AsyncIterable<Uint8Array>;
  readonly #sessions = new Map<string, Progress>();
  readonly #onError: (error: unknown) => void;

  constructor(metadata: MetadataStore, readPart: (uploadRef: string, partRef: string) => AsyncIterable<Uint8Array>, onError: (error: unknown) => void) {
    this.#metadata = metadata;
    this.#readPart = readPart;
    this.#onError = onError;
  }

  /** A part of `session` was recorded: extend the prefix in the background. */
  partRecorded(session: UploadSessionRecord): void {
    let progress = this.#sessions.get(session.id);
    if (!progress) {
      progress = { hash: createHash('sha1'), nextOffset: 0, catchUp: undefined, sha1: undefined, onAdvance: [] };
      this.#sessions.set(session.id, progress);
      if (this.#sessions.size > MAX_SESSIONS) this.#sessions.delete(this.#sessions.keys().next().value!);
    }
    this.#run(session, progress);
  }

  /**
   * Waits while the catch-up is running and lags more than `maxLagBytes` behind `offset`. Parts then
   * arrive no faster than the whole file is hashed, so what a commit waits for stays bounded whatever
   * the file size. It never waits on a prefix that cannot grow (parts sent far out of order).
   */
  async keepUp(session: UploadSessionRecord, offset: number, maxLagBytes: number): Promise<void> {
    const progress = this.#sessions.get(session.id);
    while (progress?.catchUp && progress.sha1 === undefined && offset - progress.nextOffset > maxLagBytes) {
      await new Promise<void>((resolve) => progress.onAdvance.push(resolve));
    }
  }

  /** The SHA-1 (hex) of the whole file if every part has been hashed, waiting for a catch-up in progress. */
  async sha1(session: UploadSessionRecord): Promise<string | undefined> {
    const progress = this.#sessions.get(session.id);
    if (!progress) return undefined;
    while (progress.catchUp) await progress.catchUp;
    return progress.sha1;
  }

  forget(sessionId: string): void {
    this.#sessions.delete(sessionId);
  }

  #run(session: UploadSessionRecord, progress: Progress): void {
    if (progress.catchUp || progress.sha1 !== undefined) return;
    progress.catchUp = this.#catchUp(session, progress)
      .catch((error: unknown) => {
        // A broken prefix is dropped; the commit then reads the file itself.
        this.#sessions.delete(session.id);
        this.#onError(error);
      })
      .finally(() => {
        progress.catchUp = undefined;
        this.#advanced(progress);
      });
  }

  #advanced(progress: Progress): void {
    for (const resolve of progress.onAdvance.splice(0)) resolve();
  }

  async #catchUp(session: UploadSessionRecord, progress: Progress): Promise<void> {
    for (;;) {
      const part = await this.#metadata.getPart(session.id, progress.nextOffset);
      if (!part) return;
      for await (const chunk of this.#readPart(session.uploadRef, part.partRef)) progress.hash.update(chunk);
      progress.nextOffset += part.size;
      this.#advanced(progress);
      if (progress.nextOffset >= session.fileSize) {
        progress.sha1 = progress.hash.digest('hex');
        return;
      }
    }
  }
}
