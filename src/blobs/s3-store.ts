import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand,
  GetObjectCommand, HeadBucketCommand, HeadObjectCommand, S3Client, S3ServiceException, UploadPartCommand,
} from '@aws-sdk/client-s3';
import { asBlobKey, asPartRef, asUploadRef, type BlobKey, type PartRef, type UploadRef } from '../core/model.js';
import { StorageFullError } from '../core/store-errors.js';
import type { BlobStore, ByteRange, PartToJoin, PartToWrite } from './store.js';

export interface S3Settings {
  endpoint: string | undefined;
  region: string;
  bucket: string;
  accessKeyId: string | undefined;
  secretAccessKey: string | undefined;
  forcePathStyle: boolean;
}

/** S3 refuses parts under 5 MiB except the last; Box part sizes are 8 MiB and up. */
export const S3_MIN_PART_SIZE = 5 * 1024 * 1024;

/**
 * Bytes in an S3-compatible bucket. Each upload is one S3 multipart upload and each Box part one S3
 * part (part number = offset / part size + 1), streamed from the request into `UploadPart`. Completing
 * is `CompleteMultipartUpload` with the recorded ETags: no byte is copied, and if a racing attempt had
 * replaced a part with other bytes, S3 refuses the ETag instead of joining the wrong data.
 * Upload references are `<key>:<uploadId>`; blob keys are the object keys (`blobs/<32 hex>`), short
 * because Swift limits the names of multipart segments.
 */
export class S3BlobStore implements BlobStore {
  readonly #s3: S3Client;
  readonly #bucket: string;

  constructor(settings: S3Settings) {
    this.#bucket = settings.bucket;
    this.#s3 = new S3Client({
      endpoint: settings.endpoint,
      region: settings.region,
      forcePathStyle: settings.forcePathStyle,
      credentials: settings.accessKeyId && settings.secretAccessKey
        ? { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey } : undefined,
      // Parts are verified by SHA-1 as they stream; aws-chunked trailers are not understood by every S3 (Swift, Ceph).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async createUpload(): Promise<UploadRef> {
    const key = `blobs/${randomBytes(16).toString('hex')}`;
    const created = await this.#s3.send(new CreateMultipartUploadCommand({ Bucket: this.#bucket, Key: key, ContentType: 'application/octet-stream' }));
    return asUploadRef(`${key}:${created.UploadId}`);
  }

  async writePart(uploadRef: UploadRef, part: PartToWrite, body: AsyncIterable<Uint8Array>): Promise<PartRef> {
    const { key, uploadId } = parseRef(uploadRef);
    // S3 needs a stream's length up front; a simple upload's length is only known at its end.
    const spooled = part.size === undefined ? await spool(body) : undefined;
    // A failing body (a client gone, a 416) must end the request to S3 at once, or S3 waits for the
    // declared bytes until its own timeout; the body's error is the one reported.
    const cancel = new AbortController();
    let bodyError: unknown;
    const guarded = async function* () {
      try {
        yield* exactly(part.size!, body);
      } catch (error) {
        bodyError = error;
        cancel.abort();
        throw error;
      }
    };
    try {
      const stream = spooled ? createReadStream(spooled.path) : Readable.from(guarded(), { objectMode: false });
      // The SDK may stop listening once the request is aborted; the error is reported through `send`.
      stream.on('error', () => {});
      const written = await this.#s3.send(new UploadPartCommand({
        Bucket: this.#bucket, Key: key, UploadId: uploadId, PartNumber: part.partNumber,
        ContentLength: spooled?.size ?? part.size, Body: stream,
      }), { abortSignal: cancel.signal }).catch((error: unknown) => {
        stream.destroy();
        throw bodyError ?? translate(error);
      });
      return asPartRef(written.ETag!);
    } finally {
      if (spooled) await spooled.remove();
    }
  }

  /** S3 cannot delete one part: an unrecorded part is left out of the completion and goes with the upload. */
  async discardPart(): Promise<void> {}

  async completeUpload(uploadRef: UploadRef, parts: readonly PartToJoin[]): Promise<BlobKey> {
    const { key, uploadId } = parseRef(uploadRef);
    try {
      await this.#s3.send(new CompleteMultipartUploadCommand({
        Bucket: this.#bucket, Key: key, UploadId: uploadId,
        MultipartUpload: { Parts: parts.map((part) => ({ PartNumber: part.partNumber, ETag: part.partRef })) },
      }));
    } catch (error) {
      // Completed before (a retried commit): AWS forgets the upload id once the object exists.
      if (errorName(error) !== 'NoSuchUpload' || !(await this.#exists(key))) throw translate(error);
    }
    return asBlobKey(key);
  }

  async abortUpload(uploadRef: UploadRef): Promise<void> {
    const { key, uploadId } = parseRef(uploadRef);
    await this.#s3.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: key, UploadId: uploadId })).catch((error: unknown) => {
      if (!['NoSuchUpload', 'NoSuchKey', 'NotFound'].includes(errorName(error))) throw error;
    });
    await this.deleteBlob(asBlobKey(key));
  }

  async read(blobKey: BlobKey, range?: ByteRange): Promise<Readable> {
    const object = await this.#s3.send(new GetObjectCommand({
      Bucket: this.#bucket, Key: blobKey, Range: range ? `bytes=${range.start}-${range.end}` : undefined,
    }));
    return object.Body as Readable;
  }

  async deleteBlob(blobKey: BlobKey): Promise<void> {
    await this.#s3.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: blobKey }));
  }

  async check(): Promise<void> {
    await this.#s3.send(new HeadBucketCommand({ Bucket: this.#bucket }));
  }

  close(): void {
    this.#s3.destroy();
  }

  async #exists(key: string): Promise<boolean> {
    try {
      await this.#s3.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }));
      return true;
    } catch (error) {
      if (['NotFound', 'NoSuchKey'].includes(errorName(error))) return false;
      throw error;
    }
  }
}

function parseRef(uploadRef: UploadRef): { key: string; uploadId: string } {
  const separator = uploadRef.indexOf(':');
  const key = uploadRef.slice(0, separator);
  if (separator < 0 || !/^blobs\/[0-9a-f]{32}$/.test(key)) throw new Error(`Not an S3 upload reference: ${uploadRef}`);
  return { key, uploadId: uploadRef.slice(separator + 1) };
}

function errorName(error: unknown): string {
  return error instanceof S3ServiceException ? error.name : (error as Error | undefined)?.name ?? '';
}

function translate(error: unknown): unknown {
  const name = errorName(error);
  if (name === 'EntityTooLarge' || name === 'QuotaExceeded' || name === 'InsufficientStorage') return new StorageFullError({ cause: error });
  return error;
}

/**
 * Passes a body through and fails it if it ends short: S3 would otherwise wait for the missing bytes
 * of the declared Content-Length until its own timeout.
 */
async function* exactly(size: number, body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let received = 0;
  for await (const chunk of body) {
    received += chunk.byteLength;
    yield chunk;
  }
  if (received !== size) throw new Error(`The part body had ${received} of ${size} bytes`);
}

/** Writes a body of unknown length to a temporary file, so it can be sent with its length. */
async function spool(body: AsyncIterable<Uint8Array>): Promise<{ path: string; size: number; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'partway-spool-'));
  const path = join(dir, 'body');
  const file = await open(path, 'w');
  let size = 0;
  try {
    for await (const chunk of body) {
      await file.write(chunk);
      size += chunk.byteLength;
    }
  } catch (error) {
    await file.close();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  await file.close();
  return { path, size, remove: () => rm(dir, { recursive: true, force: true }) };
}
