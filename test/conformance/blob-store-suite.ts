import { createHash, randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { newAttemptId } from '../../src/core/ids.js';
import type { BlobStore, ByteRange, PartToJoin, StoredUpload } from '../../src/blobs/store.js';
import type { BlobKey, PartRef, UploadRef } from '../../src/core/model.js';

/**
 * The contract of BlobStore (src/blobs/store.ts), run against any backend.
 *
 * `open` must return a store of its own (an empty directory, a fresh bucket prefix); `cleanup`
 * removes whatever it used. Parts are S3-sized (5 MiB but the last), so an S3 store runs it unchanged.
 */
export function describeBlobStore(
  name: string,
  open: () => Promise<{ store: BlobStore; cleanup(): Promise<void> }>,
  /** The optional capabilities this store offers; each is held to its promise, or checked to be absent. */
  offers: { readPart: boolean; listUploads: boolean },
): void {
  describe(`BlobStore conformance: ${name}`, () => {
    describe('uploads', () => {
      let opened: { store: BlobStore; cleanup(): Promise<void> } | undefined;
      let store: BlobStore;

      beforeEach(async () => {
        opened = await open();
        store = opened.store;
      });

      afterEach(async () => {
        await opened?.cleanup();
        opened = undefined;
      });

      it('parts written out of order and completed in order read back as their concatenation', async () => {
        const data = randomBytes(3 * PART + LAST);
        const uploadRef = await store.createUpload();
        const written = new Map<number, PartToJoin>();
        for (const number of [3, 1, 4, 2]) {
          written.set(number, await writeSlice(store, uploadRef, data, number));
        }
        const blobKey = await store.completeUpload(uploadRef, [1, 2, 3, 4].map((n) => written.get(n)!));
        const read = await readAll(store, blobKey);
        expect(read.length).toBe(data.length);
        expect(sha1(read)).toBe(sha1(data));
      });

      it('parts written concurrently read back as their concatenation', async () => {
        const data = randomBytes(2 * PART + LAST);
        const uploadRef = await store.createUpload();
        const parts = await Promise.all([3, 2, 1].map((n) => writeSlice(store, uploadRef, data, n)));
        const blobKey = await store.completeUpload(uploadRef, [...parts].sort((a, b) => a.partNumber - b.partNumber));
        expect(sha1(await readAll(store, blobKey))).toBe(sha1(data));
      });

      it('a one-part upload whose size was not declared (a simple upload) reads back whole', async () => {
        const data = randomBytes(1_234_567);
        const uploadRef = await store.createUpload();
        const partRef = await store.writePart(uploadRef, { partNumber: 1, attemptId: newAttemptId() }, chunks(data));
        const blobKey = await store.completeUpload(uploadRef, [{ partNumber: 1, partRef, size: data.length }]);
        expect(sha1(await readAll(store, blobKey))).toBe(sha1(data));
        expect(sha1(await readAll(store, blobKey, { start: 1000, end: 1999 }))).toBe(sha1(data.subarray(1000, 2000)));
      });

      it('an empty body makes an empty part, and completing it makes an empty blob', async () => {
        const uploadRef = await store.createUpload();
        const partRef = await store.writePart(uploadRef, { partNumber: 1, attemptId: newAttemptId() }, chunks(Buffer.alloc(0)));
        const blobKey = await store.completeUpload(uploadRef, [{ partNumber: 1, partRef, size: 0 }]);
        expect((await readAll(store, blobKey)).length).toBe(0);
      });

      it('a one-byte blob reads back, whole and as the range [0, 0]', async () => {
        const uploadRef = await store.createUpload();
        const partRef = await store.writePart(uploadRef, { partNumber: 1, attemptId: newAttemptId(), size: 1 }, chunks(Buffer.from([0xa5])));
        const blobKey = await store.completeUpload(uploadRef, [{ partNumber: 1, partRef, size: 1 }]);
        expect(await readAll(store, blobKey)).toEqual(Buffer.from([0xa5]));
        expect(await readAll(store, blobKey, { start: 0, end: 0 })).toEqual(Buffer.from([0xa5]));
      });

      it('completing with the latest attempt at a part gives its bytes, and with an earlier one never gives other bytes', async () => {
        const size = PART + 4321;
        const earlier = randomBytes(size);
        const later = randomBytes(size);
        const write = (uploadRef: UploadRef, bytes: Buffer) => store.writePart(uploadRef, { partNumber: 1, size, attemptId: newAttemptId() }, chunks(bytes));

        const latest = await store.createUpload();
        await write(latest, earlier);
        const laterRef = await write(latest, later);
        expect(sha1(await readAll(store, await store.completeUpload(latest, [{ partNumber: 1, partRef: laterRef, size }])))).toBe(sha1(later));

        // A store may keep every attempt (disk) or only the last (S3, where the ETag then no longer matches).
        const replaced = await store.createUpload();
        const earlierRef = await write(replaced, earlier);
        await write(replaced, later);
        const completed = await store.completeUpload(replaced, [{ partNumber: 1, partRef: earlierRef, size }]).then(
          async (blobKey) => sha1(await readAll(store, blobKey)),
          () => 'refused',
        );
        expect([sha1(earlier), 'refused']).toContain(completed);
      });

      it('discardPart of an attempt that lost its part leaves the attempt that won', async () => {
        const data = randomBytes(PART + LAST);
        const loser = randomBytes(LAST);
        const uploadRef = await store.createUpload();
        const first = await writeSlice(store, uploadRef, data, 1);
        const lost = await store.writePart(uploadRef, { partNumber: 2, size: LAST, attemptId: newAttemptId() }, chunks(loser));
        const kept = await writeSlice(store, uploadRef, data, 2);
        await store.discardPart(uploadRef, 2, lost);
        // Deleting is idempotent: garbage collection may repeat it.
        await store.discardPart(uploadRef, 2, lost);
        const blobKey = await store.completeUpload(uploadRef, [first, kept]);
        expect(sha1(await readAll(store, blobKey))).toBe(sha1(data));
      });

      it('a body that fails midway rejects writePart with the body\'s error, and a new attempt at the part succeeds', async () => {
        const data = randomBytes(2 * PART + LAST);
        const uploadRef = await store.createUpload();
        const first = await writeSlice(store, uploadRef, data, 1);
        const failure = new Error('the client went away');
        await expect(store.writePart(uploadRef, { partNumber: 2, size: PART, attemptId: newAttemptId() },
          failing(data.subarray(PART, 2 * PART), 3 * MiB, failure))).rejects.toBe(failure);
        const second = await writeSlice(store, uploadRef, data, 2);
        const third = await writeSlice(store, uploadRef, data, 3);
        const blobKey = await store.completeUpload(uploadRef, [first, second, third]);
        expect(sha1(await readAll(store, blobKey))).toBe(sha1(data));
      });

      it('a body that fails before its first byte rejects writePart with the body\'s error', async () => {
        const uploadRef = await store.createUpload();
        const failure = new Error('no bytes at all');
        await expect(store.writePart(uploadRef, { partNumber: 1, size: PART, attemptId: newAttemptId() },
          failing(Buffer.alloc(0), 0, failure))).rejects.toBe(failure);
        await store.abortUpload(uploadRef);
      });

      it('completeUpload is safe to repeat: the same parts give the same blob', async () => {
        const data = randomBytes(PART + LAST);
        const uploadRef = await store.createUpload();
        const parts = [await writeSlice(store, uploadRef, data, 1), await writeSlice(store, uploadRef, data, 2)];
        const key1 = await store.completeUpload(uploadRef, parts);
        const key2 = await store.completeUpload(uploadRef, parts);
        expect(key2).toBe(key1);
        expect(sha1(await readAll(store, key1))).toBe(sha1(data));
      });

      it('concurrent completeUpload calls with the same parts (two racing commits) agree on one readable blob', async () => {
        const data = randomBytes(2 * PART + LAST);
        const uploadRef = await store.createUpload();
        const parts: PartToJoin[] = [];
        for (const number of [1, 2, 3]) parts.push(await writeSlice(store, uploadRef, data, number));
        const keys = await Promise.all([0, 1, 2].map(() => store.completeUpload(uploadRef, parts)));
        expect(new Set(keys).size).toBe(1);
        expect(sha1(await readAll(store, keys[0]!))).toBe(sha1(data));
      });

      it('abortUpload after completion makes the blob unreadable, and repeating it is harmless', async () => {
        const data = randomBytes(PART + LAST);
        const uploadRef = await store.createUpload();
        const parts = [await writeSlice(store, uploadRef, data, 1), await writeSlice(store, uploadRef, data, 2)];
        const blobKey = await store.completeUpload(uploadRef, parts);
        expect(sha1(await readAll(store, blobKey))).toBe(sha1(data));
        await store.abortUpload(uploadRef);
        await expect(readAll(store, blobKey)).rejects.toThrow();
        await expect(readAll(store, blobKey, { start: 0, end: 9 })).rejects.toThrow();
        await store.abortUpload(uploadRef);
      });

      it('abortUpload of an upload with parts that was never completed removes it, and repeating it is harmless', async () => {
        const data = randomBytes(PART + LAST);
        const uploadRef = await store.createUpload();
        const two = await writeSlice(store, uploadRef, data, 2);
        const one = await writeSlice(store, uploadRef, data, 1);
        await store.abortUpload(uploadRef);
        await expectUploadGone(store, uploadRef, [one, two]);
        await store.abortUpload(uploadRef);
        await expectUploadGone(store, uploadRef, [one, two]);
      });

      it('abortUpload of an upload with no parts removes it, and repeating it is harmless', async () => {
        const uploadRef = await store.createUpload();
        await store.abortUpload(uploadRef);
        await expectUploadGone(store, uploadRef, []);
        await store.abortUpload(uploadRef);
        await expectUploadGone(store, uploadRef, []);
      });

      it('writing a part into an aborted upload fails', async () => {
        const uploadRef = await store.createUpload();
        await store.abortUpload(uploadRef);
        await expect(store.writePart(uploadRef, { partNumber: 1, size: 10, attemptId: newAttemptId() },
          chunks(randomBytes(10)))).rejects.toThrow();
      });

      it('deleteBlob makes the blob unreadable, and repeating it is harmless', async () => {
        const data = randomBytes(LAST);
        const uploadRef = await store.createUpload();
        const blobKey = await store.completeUpload(uploadRef, [await writeSlice(store, uploadRef, data, 1)]);
        await store.deleteBlob(blobKey);
        await expect(readAll(store, blobKey)).rejects.toThrow();
        await store.deleteBlob(blobKey);
      });

      it('uploads are independent: aborting or deleting one leaves the others readable', async () => {
        const a = randomBytes(LAST);
        const b = randomBytes(LAST + 1);
        const c = randomBytes(LAST + 2);
        const blobs = [];
        for (const data of [a, b, c]) {
          const uploadRef = await store.createUpload();
          const blobKey = await store.completeUpload(uploadRef, [await writeSlice(store, uploadRef, data, 1)]);
          blobs.push({ uploadRef, blobKey, data });
        }
        expect(new Set(blobs.map((x) => x.uploadRef)).size).toBe(3);
        expect(new Set(blobs.map((x) => x.blobKey)).size).toBe(3);
        await store.abortUpload(blobs[0]!.uploadRef);
        await store.deleteBlob(blobs[1]!.blobKey);
        expect(sha1(await readAll(store, blobs[2]!.blobKey))).toBe(sha1(c));
      });

      it('check resolves when the storage is usable', async () => {
        await expect(store.check()).resolves.toBeUndefined();
      });
    });

    // Optional capabilities: a store that offers one must keep its promise; one that does not must not
    // pretend to (the core checks for them to choose how to hash a file), so nothing here is skipped.
    const absent = (['readPart', 'listUploads'] as const).filter((capability) => !offers[capability]);
    it.each(absent.map((capability) => ({ capability })))(
      'does not offer $capability', async ({ capability }) => {
        const opened = await open();
        try {
          expect(opened.store[capability]).toBeUndefined();
        } finally {
          await opened.cleanup();
        }
      });

    if (offers.readPart) describe('readPart (optional: reading a part back before completion)', () => {
      let opened: { store: BlobStore; cleanup(): Promise<void> } | undefined;
      let store: BlobStore;
      let readPart: NonNullable<BlobStore['readPart']>;

      beforeEach(async () => {
        opened = await open();
        store = opened.store;
        expect(store.readPart, `${name} was declared to offer readPart`).toBeTypeOf('function');
        readPart = store.readPart!.bind(store);
      });

      afterEach(async () => {
        await opened?.cleanup();
        opened = undefined;
      });

      /** Copies each chunk: a store may reuse one buffer for all of them. */
      async function readBack(uploadRef: UploadRef, partRef: PartRef): Promise<Buffer> {
        const copies: Buffer[] = [];
        for await (const chunk of readPart(uploadRef, partRef)) copies.push(Buffer.from(chunk));
        return Buffer.concat(copies);
      }

      it('reads each written part, and each attempt at one part, back as written', async () => {
        const data = randomBytes(2 * PART + LAST);
        const uploadRef = await store.createUpload();
        const parts = [await writeSlice(store, uploadRef, data, 3), await writeSlice(store, uploadRef, data, 1)];
        const other = randomBytes(PART);
        const otherRef = await store.writePart(uploadRef, { partNumber: 1, size: PART, attemptId: newAttemptId() }, chunks(other));
        expect(sha1(await readBack(uploadRef, parts[0]!.partRef))).toBe(sha1(data.subarray(2 * PART)));
        expect(sha1(await readBack(uploadRef, parts[1]!.partRef))).toBe(sha1(data.subarray(0, PART)));
        expect(sha1(await readBack(uploadRef, otherRef))).toBe(sha1(other));
      });

      it('reads an empty part as no bytes', async () => {
        const uploadRef = await store.createUpload();
        const partRef = await store.writePart(uploadRef, { partNumber: 1, size: 0, attemptId: newAttemptId() }, chunks(Buffer.alloc(0)));
        expect((await readBack(uploadRef, partRef)).length).toBe(0);
      });

      it('refuses a discarded part, and any part of an aborted upload', async () => {
        const data = randomBytes(PART + LAST);
        const uploadRef = await store.createUpload();
        const one = await writeSlice(store, uploadRef, data, 1);
        const two = await writeSlice(store, uploadRef, data, 2);
        await store.discardPart(uploadRef, 2, two.partRef);
        await expect(readBack(uploadRef, two.partRef)).rejects.toThrow();
        await store.abortUpload(uploadRef);
        await expect(readBack(uploadRef, one.partRef)).rejects.toThrow();
      });
    });

    if (offers.listUploads) describe('listUploads (optional: every upload the storage holds, for the repair after a crash)', () => {
      let opened: { store: BlobStore; cleanup(): Promise<void> } | undefined;
      let store: BlobStore;

      beforeEach(async () => {
        opened = await open();
        store = opened.store;
        expect(store.listUploads, `${name} was declared to offer listUploads`).toBeTypeOf('function');
      });

      afterEach(async () => {
        await opened?.cleanup();
        opened = undefined;
      });

      it('lists nothing in a new store', async () => {
        expect(await listAll(store)).toEqual([]);
      });

      it('lists each upload with every part attempt present, and the parts a completion joined in their order and the blob it made', async () => {
        const data = randomBytes(PART + LAST);
        const empty = await store.createUpload();
        const pending = await store.createUpload();
        const first = await writeSlice(store, pending, data, 1);
        const retried = await writeSlice(store, pending, data, 1);
        const done = await store.createUpload();
        const joined = [await writeSlice(store, done, data, 2), await writeSlice(store, done, data, 1)].reverse();
        const unused = await store.writePart(done, { partNumber: 2, size: LAST, attemptId: newAttemptId() }, chunks(randomBytes(LAST)));
        const doneKey = await store.completeUpload(done, joined);

        expect(await listAll(store)).toEqual([
          { uploadRef: empty, partRefs: [], joinedPartRefs: undefined },
          { uploadRef: pending, partRefs: [first.partRef, retried.partRef].sort(), joinedPartRefs: undefined },
          {
            uploadRef: done, partRefs: [...joined.map((part) => part.partRef), unused].sort(), joinedPartRefs: joined.map((part) => part.partRef),
            blobKey: doneKey,
          },
        ].sort((a, b) => a.uploadRef.localeCompare(b.uploadRef)));
      });

      it('no longer lists a discarded part, an aborted upload or a deleted blob', async () => {
        const data = randomBytes(PART + LAST);
        const kept = await store.createUpload();
        const one = await writeSlice(store, kept, data, 1);
        const lost = await writeSlice(store, kept, data, 1);
        await store.discardPart(kept, 1, lost.partRef);
        const aborted = await store.createUpload();
        await writeSlice(store, aborted, data, 1);
        await store.abortUpload(aborted);
        const deleted = await store.createUpload();
        const blobKey = await store.completeUpload(deleted, [await writeSlice(store, deleted, data, 1)]);
        await store.deleteBlob(blobKey);

        expect(await listAll(store)).toEqual([{ uploadRef: kept, partRefs: [one.partRef], joinedPartRefs: undefined }]);
      });
    });

    describe('reading ranges of a completed multi-part blob', () => {
      // 3 parts of 5 MiB and a short last one, written once for all the range reads below.
      const data = randomBytes(3 * PART + LAST);
      const total = data.length;
      let opened: { store: BlobStore; cleanup(): Promise<void> } | undefined;
      let blobKey: BlobKey;

      beforeAll(async () => {
        opened = await open();
        const uploadRef = await opened.store.createUpload();
        const parts: PartToJoin[] = [];
        for (const number of [2, 4, 1, 3]) parts.push(await writeSlice(opened.store, uploadRef, data, number));
        blobKey = await opened.store.completeUpload(uploadRef, parts.sort((a, b) => a.partNumber - b.partNumber));
      });

      afterAll(async () => {
        await opened?.cleanup();
      });

      const cases: Array<[string, ByteRange]> = [
        ['the first byte', { start: 0, end: 0 }],
        ['the last byte', { start: total - 1, end: total - 1 }],
        ['a range inside the first part', { start: 100, end: 65_635 }],
        ['a range inside a middle part', { start: PART + 17, end: 2 * PART - 18 }],
        ['a range inside the short last part', { start: 3 * PART + 1, end: total - 2 }],
        ['exactly one whole part', { start: PART, end: 2 * PART - 1 }],
        ['exactly the short last part', { start: 3 * PART, end: total - 1 }],
        ['the last byte of one part and the first of the next', { start: PART - 1, end: PART }],
        ['a range across one part boundary', { start: 2 * PART - 1000, end: 2 * PART + 999 }],
        ['a range across every part boundary', { start: 1, end: total - 2 }],
        ['a range from the first byte of a part to the end', { start: 2 * PART, end: total - 1 }],
        ['the whole blob as a range', { start: 0, end: total - 1 }],
      ];

      for (const [what, range] of cases) {
        it(`reading ${what} returns exactly those bytes`, async () => {
          const read = await readAll(opened!.store, blobKey, range);
          expect(read.length).toBe(range.end - range.start + 1);
          expect(sha1(read)).toBe(sha1(data.subarray(range.start, range.end + 1)));
        });
      }

      it('reading without a range returns the whole blob', async () => {
        const read = await readAll(opened!.store, blobKey);
        expect(read.length).toBe(total);
        expect(sha1(read)).toBe(sha1(data));
      });

      it('concurrent reads of one blob do not disturb each other', async () => {
        const ranges: ByteRange[] = [{ start: 0, end: total - 1 }, { start: 7, end: 3 * PART + 7 }, { start: PART, end: PART + 10 }];
        const reads = await Promise.all(ranges.map((range) => readAll(opened!.store, blobKey, range)));
        reads.forEach((read, i) => expect(sha1(read)).toBe(sha1(data.subarray(ranges[i]!.start, ranges[i]!.end + 1))));
      });
    });
  });
}

export const MiB = 1024 * 1024;
/** S3's smallest part but the last. */
export const PART = 5 * MiB;
/** A short last part, not a multiple of anything. */
export const LAST = MiB + 4567;

export function sha1(data: Uint8Array): string {
  return createHash('sha1').update(data).digest('hex');
}

/** A body that arrives in network-sized pieces. */
export async function* chunks(data: Uint8Array, size = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, Math.min(at + size, data.length));
}

/** A body that delivers `failAfter` bytes of `data` and then fails, as a dropped connection does. */
export async function* failing(data: Uint8Array, failAfter: number, error: Error): AsyncGenerator<Uint8Array> {
  yield* chunks(data.subarray(0, failAfter));
  throw error;
}

/** Writes part `number` (1-based) of `data` split into PART-sized parts, as a new attempt. */
export async function writeSlice(store: BlobStore, uploadRef: UploadRef, data: Buffer, number: number): Promise<PartToJoin> {
  const bytes = data.subarray((number - 1) * PART, Math.min(number * PART, data.length));
  const partRef = await store.writePart(uploadRef, { partNumber: number, size: bytes.length, attemptId: newAttemptId() }, chunks(bytes));
  return { partNumber: number, partRef, size: bytes.length };
}

/**
 * An aborted upload is gone: no part can be written to it, the parts it had cannot be completed
 * (S3 answers NoSuchUpload, the disk has no directory), and no optional capability still sees it.
 */
async function expectUploadGone(store: BlobStore, uploadRef: UploadRef, parts: PartToJoin[]): Promise<void> {
  await expect(store.writePart(uploadRef, { partNumber: 1, size: 10, attemptId: newAttemptId() }, chunks(randomBytes(10)))).rejects.toThrow();
  if (parts.length > 0) await expect(store.completeUpload(uploadRef, parts)).rejects.toThrow();
  if (store.listUploads) expect((await listAll(store)).map((upload) => upload.uploadRef)).not.toContain(uploadRef);
  for (const part of parts) {
    if (store.readPart) await expect(drain(store.readPart(uploadRef, part.partRef))).rejects.toThrow();
  }
}

async function drain(chunks: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const _ of chunks) { /* reading is the point */ }
}

/** Every stored upload, sorted by reference, with its part attempts sorted (the order a store lists them in is its own). */
async function listAll(store: BlobStore): Promise<StoredUpload[]> {
  const uploads: StoredUpload[] = [];
  for await (const upload of store.listUploads!()) uploads.push({ ...upload, partRefs: [...upload.partRefs].sort() });
  return uploads.sort((a, b) => a.uploadRef.localeCompare(b.uploadRef));
}

export async function readAll(store: BlobStore, blobKey: BlobKey, range?: ByteRange): Promise<Buffer> {
  const stream = await store.read(blobKey, range);
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(parts);
}
