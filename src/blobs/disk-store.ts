import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { asBlobKey, asPartRef, asUploadRef, type BlobKey, type PartRef, type UploadRef } from '../core/model.js';
import { StorageFullError } from '../core/store-errors.js';
import type { BlobStore, ByteRange, PartToJoin, PartToWrite, StoredUpload } from './store.js';

const REF = /^[0-9a-f]{32}$/;
const PART_REF = /^[0-9]{1,5}\.[0-9a-f]{1,32}\.part$/;
const MANIFEST = 'manifest.json';
const TEMPORARY_MANIFEST = /^manifest\.json\.[0-9a-f]{8}\.tmp$/;
const READ_CHUNK = 1024 * 1024;
const WRITE_BATCH = 1024 * 1024;

interface Manifest {
  parts: Array<{ file: string; size: number }>;
}

/**
 * Bytes on the local disk. An upload is a directory of part files, one per attempt
 * (`<partNumber>.<attemptId>.part`); completing it writes a manifest naming the recorded parts in
 * order, so a commit moves no bytes and the blob key is the directory itself.
 */
export class DiskBlobStore implements BlobStore {
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  async init(): Promise<this> {
    await mkdir(join(this.#root, 'uploads'), { recursive: true });
    return this;
  }

  async createUpload(): Promise<UploadRef> {
    const ref = asUploadRef(randomBytes(16).toString('hex'));
    await mkdir(this.#dir(ref), { recursive: true });
    await syncDirectory(join(this.#root, 'uploads'));
    return ref;
  }

  async writePart(uploadRef: UploadRef, part: PartToWrite, body: AsyncIterable<Uint8Array>): Promise<PartRef> {
    const partRef = asPartRef(`${part.partNumber}.${part.attemptId}.part`);
    const path = join(this.#dir(uploadRef), checkPartRef(partRef));
    const file = await open(path, 'wx').catch(translateFull);
    try {
      // Sockets deliver ~64 KiB chunks; one writev per MiB saves most of the thread-pool round trips.
      let batch: Uint8Array[] = [];
      let batched = 0;
      for await (const chunk of body) {
        batch.push(chunk);
        batched += chunk.byteLength;
        if (batched >= WRITE_BATCH) {
          await writeAll(file, batch, batched);
          batch = [];
          batched = 0;
        }
      }
      if (batch.length > 0) await writeAll(file, batch, batched);
      await file.sync();
      await file.close();
    } catch (error) {
      await file.close().catch(() => {});
      await unlink(path).catch(() => {});
      return translateFull(error);
    }
    await syncDirectory(this.#dir(uploadRef));
    return partRef;
  }

  async discardPart(uploadRef: UploadRef, _partNumber: number, partRef: PartRef): Promise<void> {
    const leftover = TEMPORARY_MANIFEST.test(partRef);
    await rm(join(this.#dir(uploadRef), leftover ? partRef : checkPartRef(partRef)), { force: true });
  }

  /** Reads into one reused buffer: parts are re-read for hashing as fast as they arrive, so no garbage. */
  async *readPart(uploadRef: UploadRef, partRef: PartRef): AsyncGenerator<Uint8Array> {
    const file = await open(join(this.#dir(uploadRef), checkPartRef(partRef)), 'r');
    try {
      const buffer = Buffer.allocUnsafe(READ_CHUNK);
      for (;;) {
        const { bytesRead } = await file.read(buffer, 0, READ_CHUNK, null);
        if (bytesRead === 0) return;
        yield buffer.subarray(0, bytesRead);
      }
    } finally {
      await file.close();
    }
  }

  async completeUpload(uploadRef: UploadRef, parts: readonly PartToJoin[]): Promise<BlobKey> {
    const manifest: Manifest = { parts: parts.map((part) => ({ file: checkPartRef(part.partRef), size: part.size })) };
    const dir = this.#dir(uploadRef);
    const temporary = join(dir, `${MANIFEST}.${randomBytes(4).toString('hex')}.tmp`);
    const file = await open(temporary, 'w').catch(translateFull);
    try {
      await file.writeFile(JSON.stringify(manifest));
      await file.sync();
    } catch (error) {
      await unlink(temporary).catch(() => {});
      return translateFull(error);
    } finally {
      await file.close();
    }
    await rename(temporary, join(dir, MANIFEST));
    await syncDirectory(dir);
    // The joined blob is the upload's directory read through its manifest.
    return asBlobKey(uploadRef);
  }

  async abortUpload(uploadRef: UploadRef): Promise<void> {
    await rm(this.#dir(uploadRef), { recursive: true, force: true });
  }

  async read(blobKey: BlobKey, range?: ByteRange): Promise<Readable> {
    const dir = this.#dir(blobKey);
    const manifest = JSON.parse(await readFile(join(dir, MANIFEST), 'utf8')) as Manifest;
    const files = manifest.parts.map((part) => ({ path: join(dir, checkPartRef(part.file)), size: part.size }));
    return streamFiles(files, range);
  }

  async deleteBlob(blobKey: BlobKey): Promise<void> {
    await rm(this.#dir(blobKey), { recursive: true, force: true });
  }

  async check(): Promise<void> {
    const probe = join(this.#root, `.probe-${randomBytes(4).toString('hex')}`);
    await open(probe, 'w').then((file) => file.close());
    await unlink(probe);
  }

  async *listUploads(): AsyncGenerator<StoredUpload> {
    for (const name of await readdir(join(this.#root, 'uploads'))) {
      if (!REF.test(name)) continue;
      const uploadRef = asUploadRef(name);
      const files = await readdir(this.#dir(uploadRef)).catch(() => [] as string[]);
      const manifest = await readFile(join(this.#dir(uploadRef), MANIFEST), 'utf8').then((text) => JSON.parse(text) as Manifest, () => undefined);
      yield {
        uploadRef,
        // Temporary manifests left by a crash count as attempts nobody needs.
        partRefs: files.filter((file) => PART_REF.test(file) || TEMPORARY_MANIFEST.test(file)).map(asPartRef),
        joinedPartRefs: manifest?.parts.map((part) => asPartRef(part.file)),
        blobKey: manifest ? asBlobKey(uploadRef) : undefined,
      };
    }
  }

  #dir(ref: string): string {
    if (!REF.test(ref)) throw new Error(`Not a disk blob reference: ${ref}`);
    return join(this.#root, 'uploads', ref);
  }
}

function checkPartRef(partRef: string): string {
  if (!PART_REF.test(partRef)) throw new Error(`Not a disk part reference: ${partRef}`);
  return partRef;
}

/** Streams a sequence of files as one, or the inclusive range [start, end] of their concatenation. */
function streamFiles(files: Array<{ path: string; size: number }>, range?: ByteRange): Readable {
  async function* chunks(): AsyncGenerator<Buffer> {
    let fileStart = 0;
    for (const file of files) {
      const fileEnd = fileStart + file.size - 1;
      const from = Math.max(range?.start ?? 0, fileStart);
      const to = Math.min(range?.end ?? Number.MAX_SAFE_INTEGER, fileEnd);
      if (from <= to) {
        yield* createReadStream(file.path, { start: from - fileStart, end: to - fileStart, highWaterMark: READ_CHUNK });
      }
      fileStart += file.size;
    }
  }
  return Readable.from(chunks(), { objectMode: false, highWaterMark: READ_CHUNK });
}

/** Appends every byte of `buffers`: writev may write less than asked (a disk nearly full). */
async function writeAll(file: FileHandle, buffers: Uint8Array[], length: number): Promise<void> {
  const { bytesWritten } = await file.writev(buffers);
  if (bytesWritten < length) {
    const rest = Buffer.concat(buffers).subarray(bytesWritten);
    for (let at = 0; at < rest.length;) at += (await file.write(rest, at)).bytesWritten || failShort();
  }
}

function failShort(): never {
  throw Object.assign(new Error('No space left on device'), { code: 'ENOSPC' });
}

/** A new directory entry is durable only once its directory is synced. */
async function syncDirectory(path: string): Promise<void> {
  const dir = await open(path, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

function translateFull(error: unknown): never {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') throw new StorageFullError({ cause: error });
  throw error;
}
