import { createHash, type Hash } from 'node:crypto';
import type { MetadataStore } from '../metadata/store.js';
import type { PartRef, UploadRef, UploadSessionRecord } from './model.js';

interface Progress {
  hash: Hash;
  /** The bytes [0, nextOffset) are in the hash. */
  nextOffset: number;
  catchUp: Promise<void> | undefined;
  /** A part was recorded while a catch-up ran: look again when it ends. */
  lookAgain: boolean;
  /** The part now streaming into a copy of the hash, if any (see `claim`). */
  claimed: PrefixClaim | undefined;
  sha1: string | undefined;
  /** Called each time the prefix grows (parts waiting for the hash to come closer). */
  onAdvance: Array<() => void>;
}

/** A part that starts exactly where the prefix ends: its bytes go into `hash` as they stream in. */
export interface PrefixClaim {
  readonly offset: number;
  /** A copy of the whole-file hash at `offset`; it becomes the session's hash if the part is recorded. */
  readonly hash: Hash;
}

/** At most this many sessions' hashes are kept; the oldest are dropped (their commit reads the file instead). */
const MAX_SESSIONS = 10_000;

type ReadPart = (uploadRef: UploadRef, partRef: PartRef) => AsyncIterable<Uint8Array>;

/**
 * The whole-file SHA-1 of each session, computed as its contiguous prefix of recorded parts grows,
 * so that a commit need not read the file again. Two ways extend the prefix:
 * - a part that starts exactly at the prefix (every part of a client sending one at a time) is hashed
 *   into a copy of the hash while it streams in, and the copy is kept once the part is recorded;
 * - where the blob store can read parts back before completion (the disk), a catch-up reads the parts
 *   that arrived ahead of the prefix (just written: from the page cache) once the prefix reaches them.
 * The state lives in this process: after a restart, on another node, or when the prefix cannot grow
 * (S3 with parts in parallel), the commit reads the joined file instead.
 */
export class WholeFileHashes {
  readonly #metadata: MetadataStore;
  readonly #readPart: ReadPart | undefined;
  readonly #sessions = new Map<string, Progress>();
  readonly #onError: (error: unknown) => void;

  constructor(metadata: MetadataStore, readPart: ReadPart | undefined, onError: (error: unknown) => void) {
    this.#metadata = metadata;
    this.#readPart = readPart;
    this.#onError = onError;
  }

  /**
   * Claims the prefix for the part at `offset` if it starts exactly there and nothing else is
   * extending it; the caller feeds the part's bytes into `claim.hash` and then hands the claim to
   * `partRecorded`, or to `abandon` if the part was not recorded.
   */
  claim(session: UploadSessionRecord, offset: number): PrefixClaim | undefined {
    const progress = this.#progress(session);
    if (progress.sha1 !== undefined || progress.claimed || progress.catchUp || progress.nextOffset !== offset) return undefined;
    progress.claimed = { offset, hash: progress.hash.copy() };
    return progress.claimed;
  }

  /** Drops a claim whose part was not recorded (nothing happens once `partRecorded` has taken it). */
  abandon(session: UploadSessionRecord, claim: PrefixClaim): void {
    const progress = this.#sessions.get(session.id);
    if (progress?.claimed === claim) progress.claimed = undefined;
  }

  /** A part of `session` was recorded (streamed into `claim`, if it had one): extend the prefix. */
  partRecorded(session: UploadSessionRecord, part: { offset: number; size: number }, claim?: PrefixClaim): void {
    const progress = this.#progress(session);
    if (claim && progress.claimed === claim) {
      progress.claimed = undefined;
      // Kept only if nothing else moved the prefix meanwhile and no catch-up is reading at it.
      if (!progress.catchUp && progress.nextOffset === claim.offset && part.offset === claim.offset) {
        progress.hash = claim.hash;
        this.#advance(progress, part.size, session.fileSize);
      }
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

  #progress(session: UploadSessionRecord): Progress {
    let progress = this.#sessions.get(session.id);
    if (!progress) {
      progress = {
        hash: createHash('sha1'), nextOffset: 0, catchUp: undefined, lookAgain: false, claimed: undefined, sha1: undefined, onAdvance: [],
      };
      this.#sessions.set(session.id, progress);
      if (this.#sessions.size > MAX_SESSIONS) this.#sessions.delete(this.#sessions.keys().next().value!);
    }
    return progress;
  }

  #advance(progress: Progress, size: number, fileSize: number): void {
    progress.nextOffset += size;
    if (progress.nextOffset >= fileSize) progress.sha1 = progress.hash.digest('hex');
    for (const resolve of progress.onAdvance.splice(0)) resolve();
  }

  #run(session: UploadSessionRecord, progress: Progress): void {
    if (!this.#readPart || progress.sha1 !== undefined) return;
    if (progress.catchUp) {
      progress.lookAgain = true;
      return;
    }
    progress.lookAgain = false;
    progress.catchUp = this.#catchUp(session, progress, this.#readPart)
      .catch((error: unknown) => {
        // A broken prefix is dropped; the commit then reads the file itself.
        this.#sessions.delete(session.id);
        this.#onError(error);
      })
      .finally(() => {
        progress.catchUp = undefined;
        for (const resolve of progress.onAdvance.splice(0)) resolve();
        if (progress.lookAgain && this.#sessions.get(session.id) === progress) this.#run(session, progress);
      });
  }

  async #catchUp(session: UploadSessionRecord, progress: Progress, readPart: ReadPart): Promise<void> {
    while (progress.sha1 === undefined) {
      const part = await this.#metadata.getPart(session.id, progress.nextOffset);
      if (!part) return;
      for await (const chunk of readPart(session.uploadRef, part.partRef)) progress.hash.update(chunk);
      this.#advance(progress, part.size, session.fileSize);
    }
  }
}
