import { SourceChangedError } from '../../src/client/errors.js';
import type { PartSource, ReadPart } from '../../src/client/part-source.js';
import { IncrementalSha1, sha1Of } from './sha1.js';

/** The most the reader holds at once; larger parts are read and hashed in pieces. */
const READ_PIECE = 32 * 1024 * 1024;

/**
 * The browser's PartSource: reads the File front to back with `file.slice`, hashing each part
 * (crypto.subtle where it exists) and the whole file (hash-wasm, incrementally). A part is sent as
 * a slice of the File, not as the bytes read: the browser streams it from disk, the page holds only
 * the part being hashed (at most READ_PIECE bytes) whatever the number of parts in flight, and
 * reading does not compete with sending (Chromium's reads of the file fell to a few MB/s while
 * ArrayBuffer bodies were being sent).
 */
export function fileSource(file: File): PartSource {
  let whole: IncrementalSha1 | undefined;
  return {
    size: file.size,
    name: file.name,
    async *parts(partSize) {
      whole = await IncrementalSha1.create();
      for (let offset = 0; offset < file.size; offset += partSize) {
        const end = Math.min(offset + partSize, file.size);
        const part: ReadPart = {
          offset, length: end - offset, sha1: await readPart(file, offset, end, whole), body: file.slice(offset, end),
          // A picked file that changed can no longer be read, which looks like a network error: check before retrying.
          beforeRetry: async () => void await readSlice(file, offset, Math.min(offset + 1, end)),
          release: () => {},
        };
        yield part;
      }
    },
    wholeSha1: () => whole!.digest(),
    async whole() {
      const hasher = await IncrementalSha1.create();
      await hasher.update(await readSlice(file, 0, file.size));
      return { content: file, sha1: hasher.digest() };
    },
    // The browser refuses to read a changed file, so a change shows up as a read that fails.
    async checkUnchanged() {},
  };
}

/** Reads `[offset, end)` once, feeding the whole-file hash; returns the part's own SHA-1. */
async function readPart(file: File, offset: number, end: number, whole: IncrementalSha1): Promise<Uint8Array> {
  if (end - offset <= READ_PIECE) {
    const bytes = await readSlice(file, offset, end);
    await whole.update(bytes);
    return sha1Of(bytes);
  }
  const part = await IncrementalSha1.create();
  for (let start = offset; start < end; start += READ_PIECE) {
    const bytes = await readSlice(file, start, Math.min(start + READ_PIECE, end));
    await whole.update(bytes);
    await part.update(bytes);
  }
  return part.digest();
}

async function readSlice(file: File, start: number, end: number): Promise<Uint8Array<ArrayBuffer>> {
  try {
    return new Uint8Array(await file.slice(start, end).arrayBuffer());
  } catch (error) {
    // Browsers refuse to read a picked file that was modified, moved or deleted since.
    throw new SourceChangedError(`${file.name} can no longer be read (changed, moved or deleted?): ${(error as Error).message}`);
  }
}
