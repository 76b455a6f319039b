import { createHash, type Hash } from 'node:crypto';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { SourceChangedError } from '../errors.js';
import type { PartSource, ReadPart } from '../part-source.js';
import { Sha1Worker } from './hash-worker.js';

/** What can be uploaded from Node: a file path, a Blob, or a stream of known size. */
export type UploadSource = string | Blob | { stream: AsyncIterable<Uint8Array>; size: number; name?: string };

/** Node's PartSource for each kind of UploadSource: read with `node:fs` (or the Blob, or the stream), hashed with `node:crypto`. */
export async function openSource(source: UploadSource): Promise<PartSource> {
  if (typeof source === 'string') return fileSource(source);
  if (source instanceof Blob) return blobSource(source);
  return streamSource(source);
}

/** Parts as Buffers, each hashed on its own and into the whole-file hash as it is handed over. */
function hashedSource(init: { size: number; name: string | undefined; read(partSize: number): AsyncIterable<{ offset: number; bytes: Buffer; release(): void }>;
  checkUnchanged(): Promise<void> }): PartSource {
  let whole: Hash = createHash('sha1');
  return {
    size: init.size,
    name: init.name,
    async *parts(partSize) {
      whole = createHash('sha1');
      for await (const { offset, bytes, release } of init.read(partSize)) {
        whole.update(bytes);
        const part: ReadPart = { offset, length: bytes.length, sha1: createHash('sha1').update(bytes).digest(), body: bytes, release };
        yield part;
      }
    },
    wholeSha1: () => whole.digest(),
    async whole() {
      const chunks: Buffer[] = [];
      const hash = createHash('sha1');
      for await (const { bytes } of init.read(Math.max(init.size, 1))) {
        hash.update(bytes);
        chunks.push(bytes);
      }
      return { content: new Blob(chunks), sha1: hash.digest() };
    },
    checkUnchanged: init.checkUnchanged,
  };
}

async function fileSource(path: string): Promise<PartSource> {
  const before = await stat(path);
  if (!before.isFile()) throw new SourceChangedError(`${path} is not a regular file`);
  const readInto = async (file: FileHandle, bytes: Buffer, offset: number) => {
    for (let filled = 0; filled < bytes.length;) {
      const { bytesRead } = await file.read(bytes, filled, bytes.length - filled, offset + filled);
      if (bytesRead === 0) throw new SourceChangedError(`${path} became shorter while it was read`);
      filled += bytesRead;
    }
  };
  const source = hashedSource({
    size: before.size,
    name: basename(path),
    // For the simple upload (small files): read whole, hashed here.
    async *read(partSize) {
      const file = await open(path, 'r');
      try {
        for (let offset = 0; offset < before.size; offset += partSize) {
          const bytes = Buffer.allocUnsafe(Math.min(partSize, before.size - offset));
          await readInto(file, bytes, offset);
          yield { offset, bytes, release: () => {} };
        }
      } finally {
        await file.close();
      }
    },
    async checkUnchanged() {
      const after = await stat(path);
      if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
        throw new SourceChangedError(`${path} changed while it was uploaded`);
      }
    },
  });
  let whole: Uint8Array | undefined;
  return {
    ...source,
    /**
     * Parts read into shared buffers and hashed on two threads at once (the part's SHA-1 on one, the
     * whole file's on the other), so the main thread only reads and sends. A buffer is reused once
     * its part was sent and hashed into the whole file: with the caller's bounded parts in flight,
     * memory stays bounded too.
     */
    async *parts(partSize) {
      whole = undefined;
      const file = await open(path, 'r');
      const partHashes = new Sha1Worker();
      const wholeHash = new Sha1Worker();
      const free: SharedArrayBuffer[] = [];
      try {
        for (let offset = 0; offset < before.size; offset += partSize) {
          const length = Math.min(partSize, before.size - offset);
          const shared = free.pop() ?? new SharedArrayBuffer(partSize);
          const bytes = Buffer.from(shared, 0, length);
          await readInto(file, bytes, offset);
          let holds = 2;
          const letGo = () => {
            if (--holds === 0) free.push(shared);
          };
          // A failed update fails the digest below; the buffer is then simply not reused.
          wholeHash.update(shared, length).then(letGo, () => {});
          const sha1 = await partHashes.sha1Of(shared, length);
          let released = false;
          yield { offset, length, sha1, body: bytes, release: () => {
            if (!released) letGo();
            released = true;
          } };
        }
        whole = await wholeHash.digest();
      } finally {
        await Promise.all([file.close(), partHashes.close(), wholeHash.close()]);
      }
    },
    wholeSha1() {
      if (whole === undefined) throw new Error('The whole-file SHA-1 is known only once every part was read');
      return whole;
    },
  };
}

function blobSource(blob: Blob): PartSource {
  return hashedSource({
    size: blob.size,
    name: 'name' in blob && typeof blob.name === 'string' ? blob.name : undefined,
    async *read(partSize) {
      for (let offset = 0; offset < blob.size; offset += partSize) {
        yield { offset, bytes: Buffer.from(await blob.slice(offset, Math.min(offset + partSize, blob.size)).arrayBuffer()), release: () => {} };
      }
    },
    async checkUnchanged() {},
  });
}

function streamSource(source: { stream: AsyncIterable<Uint8Array>; size: number; name?: string }): PartSource {
  return hashedSource({
    size: source.size,
    name: source.name,
    async *read(partSize) {
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      let offset = 0;
      for await (const chunk of source.stream) {
        let data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        while (data.length > 0) {
          const take = Math.min(partSize - pendingBytes, data.length);
          pending.push(data.subarray(0, take));
          pendingBytes += take;
          data = data.subarray(take);
          if (pendingBytes === partSize) {
            yield { offset, bytes: Buffer.concat(pending, pendingBytes), release: () => {} };
            offset += pendingBytes;
            pending = [];
            pendingBytes = 0;
          }
        }
      }
      if (pendingBytes > 0) {
        yield { offset, bytes: Buffer.concat(pending, pendingBytes), release: () => {} };
        offset += pendingBytes;
      }
      if (offset !== source.size) throw new SourceChangedError(`The stream had ${offset} bytes, not the ${source.size} announced`);
    },
    async checkUnchanged() {},
  });
}
