import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Makes committed SQLite transactions durable by fsyncing the WAL file on the thread pool.
 *
 * With synchronous=FULL, SQLite fsyncs the WAL inside every commit, and better-sqlite3 runs commits
 * on the event loop: each recorded part stopped the whole server for the fsync (up to 14 ms while
 * part data was being flushed). With synchronous=NORMAL a commit only writes the WAL; calling `sync()`
 * after it and waiting for it gives the same guarantee (the commit frame is on disk) without blocking.
 * Callers that arrive while an fsync runs share the next one (group commit).
 *
 * It relies on the WAL file keeping its inode while the connection is open: SQLite truncates or
 * rewrites it in place and deletes it only when the last connection closes. That also means a
 * restart creates a new WAL file, whose directory entry must be made durable too, or the commits in
 * it could vanish with it: the first sync after opening the file also fsyncs its directory.
 *
 * A failed fsync is final: what the kernel could not write may be dropped from its cache and reported
 * once (PostgreSQL's "fsyncgate"), so a later fsync that succeeds proves nothing. Every later sync
 * fails with the first error.
 */
export class WalSync {
  readonly #path: string;
  readonly #syncDirectory: (path: string) => Promise<void>;
  readonly #syncFile: (file: FileHandle) => Promise<void>;
  #file: Promise<FileHandle> | undefined;
  #running: Promise<void> | undefined;
  #next: Promise<void> | undefined;
  #failure: { error: unknown } | undefined;

  /** `syncFile` fsyncs the open WAL file (a seam for tests, which may slow or fail the real one). */
  constructor(walPath: string, syncDirectory: (path: string) => Promise<void> = fsyncDirectory,
    syncFile: (file: FileHandle) => Promise<void> = (file) => file.datasync()) {
    this.#path = walPath;
    this.#syncDirectory = syncDirectory;
    this.#syncFile = syncFile;
  }

  /** The first fsync error, once one failed. */
  get failure(): { error: unknown } | undefined {
    return this.#failure;
  }

  /**
   * The fsync that will make everything committed so far durable, while one is running or owed;
   * undefined when nothing is (the common case, so a read can check it for nothing).
   */
  pending(): Promise<void> | undefined {
    if (this.#failure) return Promise.reject(this.#failure.error);
    return this.#next ?? this.#running;
  }

  /** Resolves once everything committed before the call is on disk. */
  sync(): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure.error);
    if (!this.#running) return this.#start();
    // The running fsync may have begun before the caller's commit: one more follows it, for everyone
    // who arrives until it starts.
    this.#next ??= this.#running.then(() => undefined, () => undefined).then(() => {
      this.#next = undefined;
      return this.#start();
    });
    return this.#next;
  }

  /** After the last write: waits for the fsyncs owed, then lets the file go. */
  async close(): Promise<void> {
    await Promise.allSettled([this.#running, this.#next]);
    const file = await this.#file?.catch(() => undefined);
    this.#file = undefined;
    await file?.close();
  }

  #start(): Promise<void> {
    const running = this.#fsync().catch((error: unknown) => {
      this.#failure ??= { error };
      throw error;
    }).finally(() => {
      if (this.#running === running) this.#running = undefined;
    });
    this.#running = running;
    return running;
  }

  async #fsync(): Promise<void> {
    this.#file ??= this.#open();
    const file = await this.#file.catch((error: unknown) => {
      this.#file = undefined;
      throw error;
    });
    await this.#syncFile(file);
  }

  async #open(): Promise<FileHandle> {
    const file = await open(this.#path, 'r+');
    try {
      await this.#syncDirectory(dirname(this.#path));
      return file;
    } catch (error) {
      await file.close();
      throw error;
    }
  }
}

/** Makes a directory's entries (a file just created in it) durable. */
export async function fsyncDirectory(path: string): Promise<void> {
  const directory = await open(path, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
