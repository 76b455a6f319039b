import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { SourceChangedError } from './errors.js';

/** What can be uploaded: a file path, a Blob, or a stream of known size. */
export type UploadSource = string | Blob | { stream: AsyncIterable<Uint8Array>; size: number; name?: string };

export interface SourcePart {
  offset: number;
  bytes: Buffer;
  /** Hands the part's memory back for the next part, once nothing uses `bytes` any more. */
  release(): void;
}

/** A source read front to back, one part at a time, so each byte is read once. */
export interface PartSource {
  size: number;
  /** A name to upload under if the caller gives none. */
  name: string | undefined;
  /** For files: what identifies this version of the file (for resume state). */
  identity?: { path: string; size: number; mtimeMs: number };
  parts(partSize: number): AsyncGenerator<SourcePart>;
  /** Throws SourceChangedError if the source changed while it was read. */
  checkUnchanged(): Promise<void>;
}

export async function openSource(source: UploadSource): Promise<PartSource> {
  if (typeof source === 'string') return fileSource(source);
  if (typeof Blob !== 'undefined' && source instanceof Blob) return blobSource(source);
  return streamSource(source as { stream: AsyncIterable<Uint8Array>; size: number; name?: string });
}

async function fileSource(path: string): Promise<PartSource> {
  const before = await stat(path);
  if (!before.isFile()) throw new SourceChangedError(`${path} is not a regular file`);
  return {
    size: before.size,
    name: basename(path),
    identity: { path, size: before.size, mtimeMs: before.mtimeMs },
    async *parts(partSize) {
      const file = await open(path, 'r');
      // Part buffers are reused: with the caller's bounded parts in flight, memory stays bounded too,
      // instead of waiting for the garbage collector to notice many dead 8 MiB buffers.
      const free: Buffer[] = [];
      try {
        for (let offset = 0; offset < before.size; offset += partSize) {
          const length = Math.min(partSize, before.size - offset);
          const buffer = free.pop() ?? Buffer.allocUnsafe(partSize);
          const bytes = buffer.subarray(0, length);
          let filled = 0;
          while (filled < length) {
            const { bytesRead } = await file.read(bytes, filled, length - filled, offset + filled);
            if (bytesRead === 0) throw new SourceChangedError(`${path} became shorter while it was read`);
            filled += bytesRead;
          }
          yield { offset, bytes, release: () => free.push(buffer) };
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
  };
}

function blobSource(blob: Blob): PartSource {
  return {
    size: blob.size,
    name: 'name' in blob && typeof blob.name === 'string' ? blob.name : undefined,
    async *parts(partSize) {
      for (let offset = 0; offset < blob.size; offset += partSize) {
        yield { offset, bytes: Buffer.from(await blob.slice(offset, Math.min(offset + partSize, blob.size)).arrayBuffer()), release: () => {} };
      }
    },
    async checkUnchanged() {},
  };
}

function streamSource(source: { stream: AsyncIterable<Uint8Array>; size: number; name?: string }): PartSource {
  return {
    size: source.size,
    name: source.name,
    async *parts(partSize) {
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
  };
}
