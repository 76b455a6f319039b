import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';

export const MiB = 1024 * 1024;

/** Writes `size` random bytes to `path` (8 MiB at a time) and returns their SHA-1 (hex). */
export async function writeRandomFile(path: string, size: number): Promise<string> {
  const file = await open(path, 'w');
  const hash = createHash('sha1');
  const block = Buffer.allocUnsafe(8 * MiB);
  try {
    for (let written = 0; written < size;) {
      const length = Math.min(block.length, size - written);
      const chunk = block.subarray(0, length);
      randomFillSync(chunk);
      hash.update(chunk);
      await file.write(chunk, 0, length, written);
      written += length;
    }
    await file.sync();
  } finally {
    await file.close();
  }
  return hash.digest('hex');
}

/** SHA-1 (hex) and size of a file, read once. */
export async function sha1File(path: string): Promise<{ sha1: string; size: number }> {
  const hash = createHash('sha1');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: MiB }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha1: hash.digest('hex'), size };
}

/**
 * Deterministic-enough content generated on the fly for files too big to keep around: one random
 * 64 MiB block, each part a slice of it with the part's number written into its first 8 bytes, so
 * no two parts are equal. Nothing but the block and the parts in flight is held in memory.
 */
export class GeneratedContent {
  readonly #block: Buffer;
  readonly size: number;

  constructor(size: number, blockSize = 64 * MiB) {
    this.size = size;
    this.#block = Buffer.allocUnsafe(blockSize);
    randomFillSync(this.#block);
  }

  /** The bytes at [offset, offset + length); `index` makes the part unique. */
  part(index: number, offset: number, length: number): Buffer {
    const bytes = Buffer.allocUnsafe(length);
    for (let filled = 0; filled < length;) {
      const from = (offset + filled) % this.#block.length;
      filled += this.#block.copy(bytes, filled, from, Math.min(this.#block.length, from + length - filled));
    }
    if (length >= 8) bytes.writeBigUInt64BE(BigInt(index), 0);
    return bytes;
  }
}
