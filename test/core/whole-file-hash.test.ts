import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiskBlobStore } from '../../src/blobs/disk-store.js';
import type { BlobStore } from '../../src/blobs/store.js';
import { Folders } from '../../src/core/folders.js';
import { UploadSessions } from '../../src/core/upload-sessions.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite/sqlite-store.js';
import type { PartRecord, UserRecord } from '../../src/core/model.js';

const PART = 64 * 1024;
const SIZE = 6 * PART - 1000;

/**
 * The real disk store seen as a store that cannot read parts back before completion (as S3 cannot),
 * counting how often a joined blob is read.
 */
function withoutReadPart(disk: DiskBlobStore, reads: { count: number }): BlobStore {
  return {
    createUpload: () => disk.createUpload(),
    writePart: (uploadRef, part, body) => disk.writePart(uploadRef, part, body),
    discardPart: (uploadRef, partNumber, partRef) => disk.discardPart(uploadRef, partNumber, partRef),
    completeUpload: (uploadRef, parts) => disk.completeUpload(uploadRef, parts),
    abortUpload: (uploadRef) => disk.abortUpload(uploadRef),
    read: (blobKey, range) => {
      reads.count++;
      return disk.read(blobKey, range);
    },
    deleteBlob: (blobKey) => disk.deleteBlob(blobKey),
    check: () => disk.check(),
  };
}

const sha1 = (bytes: Buffer, encoding: 'hex' | 'base64') => createHash('sha1').update(bytes).digest(encoding);
async function* bodyOf(bytes: Buffer): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += 16 * 1024) yield bytes.subarray(at, at + 16 * 1024);
}

describe('the whole-file SHA-1, kept while parts arrive', () => {
  let dir: string;
  let metadata: SqliteMetadataStore;
  let disk: DiskBlobStore;
  let user: UserRecord;
  const data = randomBytes(SIZE);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'partway-hash-'));
    metadata = new SqliteMetadataStore(join(dir, 'partway.db'));
    disk = await new DiskBlobStore(join(dir, 'blobs')).init();
    user = await metadata.ensureUser('hana', Date.now());
  });
  afterEach(async () => {
    await metadata.close();
    await rm(dir, { recursive: true, force: true });
  });

  function sessionsOn(blobs: BlobStore): UploadSessions {
    return new UploadSessions({
      metadata, blobs, folders: new Folders({ metadata, blobs }),
      limits: {
        partSizePolicy: { basePartSize: PART, maxParts: 10_000 }, minChunkedFileSize: 1000, maxFileSize: 1e12,
        sessionLifetimeMs: 3_600_000, storageQuota: null, maxOpenSessions: null, partWriteLeaseMs: 60_000, commitRetryAfterSeconds: 1,
      },
    });
  }

  async function upload(uploads: UploadSessions, order: number[], before?: (id: string) => Promise<void>) {
    const session = await uploads.create(user, { folderId: user.rootFolderId, fileName: `f-${order.join('')}.bin`, fileSize: SIZE });
    await before?.(session.id);
    const parts: PartRecord[] = [];
    for (const index of order) {
      const bytes = data.subarray(index * PART, Math.min((index + 1) * PART, SIZE));
      parts.push(await uploads.uploadPart(user, session.id, {
        range: { first: index * PART, last: index * PART + bytes.length - 1, total: SIZE }, sha1: sha1(bytes, 'hex'),
      }, bodyOf(bytes)));
    }
    const listed = parts.map((part) => ({ offset: part.offset, size: part.size, part_id: part.partId, sha1: part.sha1 }));
    const outcome = await uploads.commit(user, session.id, { sha1: sha1(data, 'hex'), parts: listed });
    if (!('file' in outcome)) throw new Error('commit answered 202');
    return outcome.file;
  }

  it('needs no read of the joined file for parts sent one at a time in order, even where parts cannot be read back (S3)', async () => {
    const reads = { count: 0 };
    const file = await upload(sessionsOn(withoutReadPart(disk, reads)), [0, 1, 2, 3, 4, 5]);
    expect({ sha1: file.sha1, reads: reads.count }).toEqual({ sha1: sha1(data, 'hex'), reads: 0 });
  });

  it('reads the joined file once where parts arrived out of order and cannot be read back, and gets the same SHA-1', async () => {
    const reads = { count: 0 };
    const file = await upload(sessionsOn(withoutReadPart(disk, reads)), [1, 0, 2, 3, 5, 4]);
    expect({ sha1: file.sha1, reads: reads.count }).toEqual({ sha1: sha1(data, 'hex'), reads: 1 });
  });

  it('needs no read of the joined file for parts out of order where the store can read parts back (the disk)', async () => {
    const reads = { count: 0 };
    const counted: BlobStore = { ...withoutReadPart(disk, reads), readPart: (uploadRef, partRef) => disk.readPart(uploadRef, partRef) };
    const file = await upload(sessionsOn(counted), [5, 3, 1, 0, 2, 4]);
    expect({ sha1: file.sha1, reads: reads.count }).toEqual({ sha1: sha1(data, 'hex'), reads: 0 });
  });

  it('keeps the hash as it was when a part at the prefix is refused (wrong digest, cut short), then takes the good one', async () => {
    const reads = { count: 0 };
    const uploads = sessionsOn(withoutReadPart(disk, reads));
    const first = data.subarray(0, PART);
    const file = await upload(uploads, [0, 1, 2, 3, 4, 5], async (id) => {
      const range = { first: 0, last: PART - 1, total: SIZE };
      const other = randomBytes(PART);
      await expect(uploads.uploadPart(user, id, { range, sha1: sha1(first, 'hex') }, bodyOf(other)))
        .rejects.toMatchObject({ code: 'digest_mismatch' });
      await expect(uploads.uploadPart(user, id, { range, sha1: sha1(first, 'hex') }, bodyOf(first.subarray(0, PART / 2))))
        .rejects.toMatchObject({ code: 'requested_range_not_satisfiable' });
    });
    expect({ sha1: file.sha1, reads: reads.count }).toEqual({ sha1: sha1(data, 'hex'), reads: 0 });
  });
});
