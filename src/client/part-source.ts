/**
 * The seam between the upload engine and the platform's file reading (`node:fs` in Node,
 * `File.slice` in the browser), like tus-js-client's `fileReader`. A source reads front to back, one
 * part at a time (each byte once), hashes each part and the whole file as it goes, and says what to
 * send for a part. No imports, no I/O of its own.
 */

import type { RequestBody } from './http-stack.js';

export interface ReadPart {
  offset: number;
  length: number;
  /** The part's SHA-1 (raw bytes). */
  sha1: Uint8Array;
  /** What to send: the bytes read (Node), or a slice of the File that the browser streams from disk. */
  body: RequestBody;
  /** Before a retry after a network error: throws SourceChangedError if the body can no longer be read. */
  beforeRetry?: (() => Promise<void>) | undefined;
  /** Hands the part's memory back for the next part, once nothing uses `body` any more. */
  release(): void;
}

export interface PartSource {
  size: number;
  /** A name to upload under if the caller gives none. */
  name: string | undefined;
  /** Parts of `partSize` bytes, in order; when they are done, `wholeSha1` is the whole file's. */
  parts(partSize: number): AsyncIterable<ReadPart>;
  /** The SHA-1 of everything `parts` read. */
  wholeSha1(): Uint8Array;
  /** The whole content for the simple upload, and its SHA-1. */
  whole(): Promise<{ content: Blob; sha1: Uint8Array }>;
  /** Throws SourceChangedError if the source changed while it was read. */
  checkUnchanged(): Promise<void>;
}
