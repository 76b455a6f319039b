import type { Readable } from 'node:stream';
import type { BlobKey, PartRef, UploadRef } from '../core/model.js';

/**
 * Where the bytes live. An upload is a staging area that collects numbered parts (in any order, each
 * written by a uniquely named attempt) and is then joined into one blob. That is exactly an S3
 * multipart upload; the disk store mirrors it. Every operation that deletes is idempotent, because
 * garbage collection may repeat it after a crash. test/conformance/blob-store-suite.ts is the contract.
 */
export interface BlobStore {
  /** Opens a staging area; returns an opaque reference that the session keeps. */
  createUpload(): Promise<UploadRef>;
  /**
   * Streams one part into the upload and resolves once its bytes are durable, with a reference to
   * them. The caller checks what actually arrived.
   * If the body fails, nothing of this attempt is left behind.
   */
  writePart(uploadRef: UploadRef, part: PartToWrite, body: AsyncIterable<Uint8Array>): Promise<PartRef>;
  /** Removes what one attempt wrote (a part that lost a race or failed its digest). */
  discardPart(uploadRef: UploadRef, partNumber: number, partRef: PartRef): Promise<void>;
  /** Joins the given parts, in order, into one blob and returns its key. Safe to repeat. */
  completeUpload(uploadRef: UploadRef, parts: readonly PartToJoin[]): Promise<BlobKey>;
  /** Discards an upload with all its parts and any blob completed from it (sessions queue only this). */
  abortUpload(uploadRef: UploadRef): Promise<void>;
  /** Reads a blob, or the inclusive byte range `[start, end]` of it. */
  read(blobKey: BlobKey, range?: ByteRange): Promise<Readable>;
  deleteBlob(blobKey: BlobKey): Promise<void>;
  /** Throws if the storage cannot be reached or written. */
  check(): Promise<void>;
  /**
   * Reads one written part before the upload is completed; only stores that can (the disk; S3 cannot),
   * which lets the whole-file SHA-1 be computed while parts arrive. Chunks may share one buffer: each
   * is valid only until the next is asked for.
   */
  readPart?(uploadRef: UploadRef, partRef: PartRef): AsyncIterable<Uint8Array>;
  /**
   * Every upload the storage holds, for the repair after a crash; only for a store that one process
   * owns (the local disk). Others leave it out.
   */
  listUploads?(): AsyncIterable<StoredUpload>;
}

export interface StoredUpload {
  uploadRef: UploadRef;
  /** Every part attempt present. */
  partRefs: PartRef[];
  /** The parts a completion joined, if the upload was completed. */
  joinedPartRefs: PartRef[] | undefined;
  /** The key of the blob a completion joined the upload into, if it was completed. */
  blobKey: BlobKey | undefined;
}

export interface PartToWrite {
  /** 1-based, as in S3: offset / part size + 1. */
  partNumber: number;
  /** The length the body should have; unknown for Box's simple upload. */
  size?: number | undefined;
  /** Unique per attempt, so concurrent attempts at one part never write the same place. */
  attemptId: string;
}

export interface PartToJoin {
  partNumber: number;
  partRef: PartRef;
  size: number;
}

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}
