import type { BlobStore } from '../blobs/store.js';
import type { MetadataStore } from '../metadata/store.js';

export interface JanitorOptions {
  intervalMs: number;
  /** How long one node may hold a garbage entry before another may take it over. */
  leaseMs: number;
  batchSize: number;
  /** How long a deleted item stays in the trash before it is deleted for good; absent: kept until the user empties it. */
  trashLifetimeMs?: number | undefined;
  /** How long expired access tokens and used assertion ids are kept before they are deleted; absent: kept. */
  expiredCredentialRetentionMs?: number | undefined;
  onError?: (error: unknown) => void;
  /** Deletes a trashed item for good with its events (Folders.purgeExpired); the store's own purge otherwise. */
  purge?: (itemId: string) => Promise<boolean>;
}

/**
 * Reclaims bytes no record needs: marks sessions past their expiry as expired, deletes for good what
 * stayed in the trash past its lifetime, deletes access tokens and assertion ids long expired, then deletes the uploads and blobs queued as garbage (by
 * aborts, expiries and deletions for good). Entries are leased,
 * so several nodes can sweep at once without doing the same work, and a crash only delays it.
 */
export class Janitor {
  readonly #metadata: MetadataStore;
  readonly #blobs: BlobStore;
  readonly #options: JanitorOptions;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;

  constructor(metadata: MetadataStore, blobs: BlobStore, options: JanitorOptions, now: () => number = Date.now) {
    this.#metadata = metadata;
    this.#blobs = blobs;
    this.#options = options;
    this.#now = now;
  }

  start(): void {
    this.#timer = setInterval(() => this.nudge(), this.#options.intervalMs);
    this.#timer.unref();
    this.nudge();
  }

  /** Runs a sweep soon; a request during a sweep makes it run once more. */
  nudge(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#sweepOnce()
      .then(() => {}, (error: unknown) => this.#options.onError?.(error))
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.nudge();
        }
      });
  }

  /** A full sweep now, after any sweep in progress (whose leased entries it would otherwise skip). */
  async sweep(): Promise<{ expired: number; reclaimed: number }> {
    await this.#running;
    return this.#sweepOnce();
  }

  async #sweepOnce(): Promise<{ expired: number; reclaimed: number }> {
    let expired = 0;
    let reclaimed = 0;
    for (let batch; (batch = await this.#metadata.expireSessions(this.#now(), this.#options.batchSize)) > 0;) expired += batch;
    if (this.#options.trashLifetimeMs !== undefined) await this.#emptyOldTrash(this.#now() - this.#options.trashLifetimeMs);
    // Every grant leaves a token row behind; without this they would pile up for ever.
    if (this.#options.expiredCredentialRetentionMs !== undefined) {
      const before = this.#now() - this.#options.expiredCredentialRetentionMs;
      while (await this.#metadata.purgeExpiredCredentials(before, this.#options.batchSize) > 0);
    }
    for (;;) {
      const garbage = await this.#metadata.claimGarbage(this.#now(), this.#options.leaseMs, this.#options.batchSize);
      if (garbage.length === 0) break;
      for (const entry of garbage) {
        if (entry.kind === 'upload') await this.#blobs.abortUpload(entry.ref);
        // A copy shares its source's blob: the bytes go only when no version reads them any more. (A
        // new copy needs a version that reads the blob, so none can appear once none is left.)
        else if (!(await this.#metadata.blobInUse(entry.ref))) await this.#blobs.deleteBlob(entry.ref);
        await this.#metadata.deleteGarbage(entry.id);
        reclaimed++;
      }
    }
    return { expired, reclaimed };
  }

  async #emptyOldTrash(before: number): Promise<void> {
    for (let due; (due = await this.#metadata.trashDue(before, this.#options.batchSize)).length > 0;) {
      // Another node may purge one first; then this finds nothing to delete, and that is fine.
      for (const itemId of due) await (this.#options.purge ?? ((id: string) => this.#metadata.purgeTrashed(id)))(itemId);
    }
  }

  /**
   * After a crash: deletes bytes no record needs (part attempts never recorded, uploads whose session
   * or file was never created). Only for a blob store this process alone writes, and only before it
   * takes requests, since a part being written now is not recorded yet.
   */
  async repair(): Promise<{ uploadsRemoved: number; partsRemoved: number }> {
    let uploadsRemoved = 0;
    let partsRemoved = 0;
    if (!this.#blobs.listUploads) return { uploadsRemoved, partsRemoved };
    for await (const upload of this.#blobs.listUploads()) {
      const usage = await this.#metadata.uploadUsage(upload.uploadRef, upload.blobKey);
      if (usage.recordedPartRefs === null && !usage.isFileBlob) {
        await this.#blobs.abortUpload(upload.uploadRef);
        uploadsRemoved++;
        continue;
      }
      const needed = new Set([...usage.recordedPartRefs ?? [], ...upload.joinedPartRefs ?? []]);
      for (const partRef of upload.partRefs.filter((ref) => !needed.has(ref))) {
        await this.#blobs.discardPart(upload.uploadRef, 0, partRef);
        partsRemoved++;
      }
    }
    return { uploadsRemoved, partsRemoved };
  }

  /** Stops the timer and waits for a sweep in progress. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#again = false;
    await this.#running;
  }
}
