import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiskBlobStore } from '../../src/blobs/disk-store.js';
import { BoxError } from '../../src/core/errors.js';
import { Folders } from '../../src/core/folders.js';
import { UploadSessions } from '../../src/core/upload-sessions.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite/sqlite-store.js';
import type { UserRecord } from '../../src/core/model.js';

const PART = 64 * 1024;
const SIZE = 2 * PART;
const LEASE_MS = 120_000;

/**
 * A part being written makes a commit that lists it wait (202), but only for the part write's lease:
 * a write whose process died never ends, and the commit must not wait for it for ever. The core's
 * clock is moved past the lease instead of waiting two minutes.
 */
describe('the lease of a part write in flight', () => {
  let dir: string;
  let metadata: SqliteMetadataStore;
  let uploads: UploadSessions;
  let user: UserRecord;
  let now: number;

  beforeEach(async () => {
    now = Date.now();
    dir = await mkdtemp(join(tmpdir(), 'partway-lease-'));
    metadata = new SqliteMetadataStore(join(dir, 'partway.db'));
    const blobs = await new DiskBlobStore(join(dir, 'blobs')).init();
    const clock = () => now;
    uploads = new UploadSessions({
      metadata, blobs, folders: new Folders({ metadata, blobs, now: clock }), now: clock,
      limits: {
        partSizePolicy: { basePartSize: PART, maxParts: 10_000 }, minChunkedFileSize: 1000, maxFileSize: 1e12,
        sessionLifetimeMs: 24 * 3_600_000, storageQuota: null, maxOpenSessions: null, partWriteLeaseMs: LEASE_MS, commitRetryAfterSeconds: 3,
      },
    });
    user = await metadata.ensureUser('lena', now);
  });
  afterEach(async () => {
    await metadata.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('makes a commit wait while the lease runs, and lets it refuse the part list once the lease ran out', async () => {
    const data = randomBytes(SIZE);
    const session = await uploads.create(user, { folderId: user.rootFolderId, fileName: 'leased.bin', fileSize: SIZE });
    const second = data.subarray(PART);
    await uploads.uploadPart(user, session.id, {
      range: { first: PART, last: SIZE - 1, total: SIZE }, sha1: sha1(second),
    }, (async function* () { yield second; })());

    // The first part's body sends some bytes and then nothing, like a client (or node) that went silent.
    const stalled = stallingBody(data.subarray(0, 1000));
    const write = uploads.uploadPart(user, session.id, {
      range: { first: 0, last: PART - 1, total: SIZE }, sha1: sha1(data.subarray(0, PART)),
    }, stalled.body);
    await stalled.started;

    const commit = () => uploads.commit(user, session.id, {
      sha1: sha1(data), parts: [{ offset: 0, size: PART }, { offset: PART, size: PART }],
    });
    expect(await commit()).toEqual({ retryAfterSeconds: 3 });
    now += LEASE_MS - 1000;
    expect(await commit()).toEqual({ retryAfterSeconds: 3 });
    now += 2000;
    const refused = await commit().then(() => undefined, (error: unknown) => error);
    expect(refused).toBeInstanceOf(BoxError);
    expect((refused as BoxError).code).toBe('parts_mismatch');

    stalled.fail(new Error('the client went away'));
    await expect(write).rejects.toThrow('the client went away');
  });
});

function sha1(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes).digest('hex');
}

/** A body that yields `head` and then waits until `fail` is called; `started` resolves once it was read. */
function stallingBody(head: Uint8Array) {
  let fail!: (error: Error) => void;
  const failed = new Promise<never>((_, reject) => { fail = reject; });
  let started!: () => void;
  const startedPromise = new Promise<void>((resolve) => { started = resolve; });
  async function* body(): AsyncGenerator<Uint8Array> {
    started();
    yield head;
    await failed;
  }
  return { body: body(), started: startedPromise, fail };
}
