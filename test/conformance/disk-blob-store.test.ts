import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiskBlobStore } from '../../src/blobs/disk-store.js';
import { newAttemptId } from '../../src/core/ids.js';
import { asBlobKey, asPartRef, asUploadRef } from '../../src/core/model.js';
import { chunks, describeBlobStore, failing, LAST, MiB, PART, readAll, sha1, writeSlice } from './blob-store-suite.js';

describeBlobStore('DiskBlobStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'partway-blobs-'));
  const store = await new DiskBlobStore(join(dir, 'blobs')).init();
  return { store, cleanup: () => rm(dir, { recursive: true, force: true }) };
}, { readPart: true, listUploads: true });

describe('DiskBlobStore on the local disk', () => {
  let dir: string;
  let root: string;
  let store: DiskBlobStore;
  /** Where the disk store keeps an upload's part files (and, once completed, its manifest). */
  const uploadDir = (uploadRef: string) => join(root, 'uploads', uploadRef);
  const filesOf = async (uploadRef: string) => (await readdir(uploadDir(uploadRef))).sort();
  const exists = (path: string) => stat(path).then(() => true, () => false);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'partway-blobs-'));
    root = join(dir, 'blobs');
    store = await new DiskBlobStore(root).init();
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps every attempt at a part apart: completing with either of two concurrent attempts gives that attempt\'s bytes', async () => {
    const size = PART + 4321;
    for (const winner of [0, 1]) {
      const attempts = [randomBytes(size), randomBytes(size)];
      const uploadRef = await store.createUpload();
      const refs = await Promise.all(attempts.map((bytes) =>
        store.writePart(uploadRef, { partNumber: 1, size, attemptId: newAttemptId() }, chunks(bytes))));
      expect(refs[0]).not.toBe(refs[1]);
      const blobKey = await store.completeUpload(uploadRef, [{ partNumber: 1, partRef: refs[winner]!, size }]);
      expect(sha1(await readAll(store, blobKey))).toBe(sha1(attempts[winner]!));
    }
  });

  it('a written part is on disk with its full size as soon as writePart resolves', async () => {
    const data = randomBytes(PART + LAST);
    const uploadRef = await store.createUpload();
    expect(await filesOf(uploadRef)).toEqual([]);
    const one = await writeSlice(store, uploadRef, data, 1);
    const two = await writeSlice(store, uploadRef, data, 2);
    expect(await filesOf(uploadRef)).toEqual([one.partRef, two.partRef].sort());
    expect((await stat(join(uploadDir(uploadRef), one.partRef))).size).toBe(PART);
    expect((await stat(join(uploadDir(uploadRef), two.partRef))).size).toBe(LAST);
  });

  it('a failed write leaves no file behind in the upload\'s directory', async () => {
    const data = randomBytes(2 * PART);
    const uploadRef = await store.createUpload();
    await expect(store.writePart(uploadRef, { partNumber: 1, size: PART, attemptId: newAttemptId() },
      failing(data, 2 * MiB, new Error('reset')))).rejects.toThrow('reset');
    expect(await filesOf(uploadRef)).toEqual([]);

    const kept = await writeSlice(store, uploadRef, data, 2);
    await expect(store.writePart(uploadRef, { partNumber: 1, size: PART, attemptId: newAttemptId() },
      failing(data, 4 * MiB, new Error('reset again')))).rejects.toThrow('reset again');
    expect(await filesOf(uploadRef)).toEqual([kept.partRef]);
  });

  it('abortUpload removes every file of the upload, completed or not', async () => {
    const data = randomBytes(PART + LAST);
    const open = await store.createUpload();
    await writeSlice(store, open, data, 1);
    const done = await store.createUpload();
    const parts = [await writeSlice(store, done, data, 1), await writeSlice(store, done, data, 2)];
    await store.completeUpload(done, parts);

    for (const uploadRef of [open, done]) {
      await store.abortUpload(uploadRef);
      expect(await exists(uploadDir(uploadRef))).toBe(false);
    }
    expect(await readdir(join(root, 'uploads'))).toEqual([]);
  });

  it('discardPart deletes the file of that attempt and no other', async () => {
    const uploadRef = await store.createUpload();
    const a = await store.writePart(uploadRef, { partNumber: 1, size: 10, attemptId: newAttemptId() }, chunks(randomBytes(10)));
    const b = await store.writePart(uploadRef, { partNumber: 1, size: 10, attemptId: newAttemptId() }, chunks(randomBytes(10)));
    await store.discardPart(uploadRef, 1, a);
    expect(await filesOf(uploadRef)).toEqual([b]);
  });

  it('completing leaves only the part files and one manifest, with no temporary file', async () => {
    const data = randomBytes(PART + LAST);
    const uploadRef = await store.createUpload();
    const parts = [await writeSlice(store, uploadRef, data, 1), await writeSlice(store, uploadRef, data, 2)];
    await store.completeUpload(uploadRef, parts);
    await store.completeUpload(uploadRef, parts);
    const files = await filesOf(uploadRef);
    expect(files.filter((f) => !f.endsWith('.part'))).toEqual(['manifest.json']);
    expect(files.filter((f) => f.endsWith('.part')).sort()).toEqual(parts.map((p) => p.partRef).sort());
  });

  it('deleteBlob removes the blob\'s directory', async () => {
    const data = randomBytes(LAST);
    const uploadRef = await store.createUpload();
    const blobKey = await store.completeUpload(uploadRef, [await writeSlice(store, uploadRef, data, 1)]);
    expect(sha1(await readAll(store, blobKey))).toBe(sha1(data));
    await store.deleteBlob(blobKey);
    expect(await readdir(join(root, 'uploads'))).toEqual([]);
  });

  it('references that could point outside the store are refused before touching the disk', async () => {
    const outside = join(dir, 'precious.txt');
    await writeFile(outside, 'keep');
    const uploadRef = await store.createUpload();
    for (const ref of ['..', '../..', '../../precious.txt', '', 'ABCDEF']) {
      await expect(store.abortUpload(asUploadRef(ref))).rejects.toThrow();
      await expect(store.deleteBlob(asBlobKey(ref))).rejects.toThrow();
      await expect(store.read(asBlobKey(ref))).rejects.toThrow();
    }
    await expect(store.discardPart(uploadRef, 1, asPartRef('../../../precious.txt'))).rejects.toThrow();
    await expect(store.writePart(uploadRef, { partNumber: 1, attemptId: '../x' }, chunks(Buffer.from('x')))).rejects.toThrow();
    await expect(store.completeUpload(uploadRef, [{ partNumber: 1, partRef: asPartRef('../../../precious.txt'), size: 4 }])).rejects.toThrow();
    expect(await exists(outside)).toBe(true);
    expect(await exists(root)).toBe(true);
  });

  it('check rejects when the storage directory is gone', async () => {
    await expect(store.check()).resolves.toBeUndefined();
    await rm(root, { recursive: true, force: true });
    await expect(store.check()).rejects.toThrow();
  });
});
