import { randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AtomicSteps } from '../../src/core/atomic-steps.js';
import { asPartRef, asUploadRef, type UploadSessionRecord } from '../../src/core/model.js';
import { MetadataUnavailableError } from '../../src/core/store-errors.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite/sqlite-store.js';
import { call, sha1Hex, startServer, type TestServer } from '../helpers/partway.js';
import { SHARED_BACKENDS, startSharedServer } from '../helpers/shared-backends.js';

// Issue 13, §3: defects a security review found in the core and the stores.

const MB = 1_000_000;
const BOUNDARY = 'partway-review-fixes';

function multipart(attributes: object, data: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="attributes"\r\n\r\n${JSON.stringify(attributes)}\r\n`
      + `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="file"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    data, Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ]);
}

const backends = [
  { name: 'SQLite and the disk', skip: false, start: startServer },
  { name: 'PostgreSQL and S3', skip: !SHARED_BACKENDS, start: startSharedServer },
];

/**
 * One request on a connection of its own, closed after the answer: a body refused part way is
 * answered before the server has read it all, and the connection is not reused for another request.
 */
async function sendOnce(url: string, token: string, body: Buffer, contentType: string): Promise<{ status: number; json: any }> {
  const connection = new Agent({ connections: 1 });
  try {
    const response = await request(url, {
      method: 'POST', body, dispatcher: connection,
      headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
    });
    return { status: response.statusCode, json: await response.body.json() };
  } finally {
    await connection.destroy();
  }
}

describe.each(backends)('the simple upload keeps to the storage quota ($name)', ({ skip, start }) => {
  let server: TestServer;
  const upload = (path: string, attributes: object, data: Buffer, token = server.token) => sendOnce(
    `${server.upload}${path}`, token, multipart(attributes, data), `multipart/form-data; boundary=${BOUNDARY}`);
  const newFile = (name: string, data: Buffer, token?: string) => upload('/files/content', { name, parent: { id: '0' } }, data, token);

  beforeAll(async () => {
    if (!skip) server = await start({ storageQuota: String(2 * MB) });
  });
  afterAll(() => server?.close());

  it.skipIf(skip)('keeps the connection of an upload refused part way usable: the rest of its body is discarded', async () => {
    // The multipart parser once stopped reading the request when the file's reader gave up, leaving
    // the connection stalled (and the server's close waiting) until a 60 s timeout.
    const token = await server.tokenFor('kept-alive');
    const connection = new Agent({ connections: 1, pipelining: 1 });
    try {
      const refused = await request(`${server.upload}/files/content`, {
        method: 'POST', dispatcher: connection, body: multipart({ name: 'big.bin', parent: { id: '0' } }, randomBytes(3 * MB)),
        headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
      });
      expect(refused.statusCode).toBe(403);
      expect(await refused.body.json()).toMatchObject({ code: 'storage_limit_exceeded' });
      const next = await request(`${server.api}/users/me`, {
        dispatcher: connection, headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5_000),
      });
      expect(next.statusCode).toBe(200);
      await next.body.dump();
    } finally {
      await connection.destroy();
    }
  });

  it.skipIf(skip)('refuses the file that would pass the quota, a new version too, and stores none of them', async () => {
    const token = await server.tokenFor('sequential');
    const first = await newFile('one.bin', randomBytes(0.8 * MB), token);
    expect(first.status).toBe(201);
    expect((await newFile('two.bin', randomBytes(0.8 * MB), token)).status).toBe(201);
    // 0.4 MB are left: a body longer than that is cut off as it streams.
    const third = await newFile('three.bin', randomBytes(0.8 * MB), token);
    expect(third.status).toBe(403);
    expect(third.json).toMatchObject({ type: 'error', status: 403, code: 'storage_limit_exceeded' });
    const version = await upload(`/files/${first.json.entries[0].id}/content`, {}, randomBytes(0.8 * MB), token);
    expect(version.status).toBe(403);
    expect(version.json.code).toBe('storage_limit_exceeded');

    const listing = await call('GET', `${server.api}/folders/0/items`, { token });
    expect(listing.json.entries.map((entry: { name: string }) => entry.name).sort()).toEqual(['one.bin', 'two.bin']);
    const fits = randomBytes(0.4 * MB);
    const last = await newFile('fits.bin', fits, token);
    expect(last.status).toBe(201);
    expect(last.json.entries[0].sha1).toBe(sha1Hex(fits));
    expect((await newFile('empty.bin', Buffer.alloc(0), token)).status).toBe(201);
    expect((await newFile('one-byte.bin', Buffer.alloc(1), token)).status).toBe(403);
  });

  it.skipIf(skip)('lets only one of two concurrent uploads take the last of the quota', async () => {
    const token = await server.tokenFor('concurrent');
    expect((await newFile('base.bin', randomBytes(0.5 * MB), token)).status).toBe(201);
    // Each fits in the 1.5 MB left when it starts, so only the transaction that creates the file can refuse one.
    const racing = await Promise.all([1, 2, 3].map((n) => newFile(`racing-${n}.bin`, randomBytes(0.9 * MB), token)));
    expect(racing.map((reply) => reply.status).sort()).toEqual([201, 403, 403]);
    for (const reply of racing.filter((r) => r.status === 403)) expect(reply.json.code).toBe('storage_limit_exceeded');
  });
});

describe('SQLite answers only from rows whose commit is on disk', () => {
  /** The real fsync of the WAL, held back while `held` is set or failing while `failing` is. */
  let held: Promise<void> | undefined;
  let failing = false;
  let dir: string;
  let store: SqliteMetadataStore;
  const walFsync = async (file: FileHandle) => {
    await held;
    if (failing) throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
    await file.datasync();
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'partway-durable-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function openStore(name: string): Promise<UploadSessionRecord> {
    held = undefined;
    failing = false;
    store = new SqliteMetadataStore(join(dir, `${name}.db`), { walFsync });
    const alice = await store.ensureUser('alice', 1);
    const session: UploadSessionRecord = {
      id: randomBytes(16).toString('hex').toUpperCase(), ownerId: alice.id, folderId: alice.rootFolderId, fileId: null,
      fileName: 'a.bin', fileSize: 100, partSize: 100, totalParts: 1, uploadRef: asUploadRef('ref'), state: 'active',
      createdAt: 1, expiresAt: 10_000, blobKey: null, contentSha1: null, committedFileId: null, partsStored: 0,
    };
    expect(await new AtomicSteps(store).createSession(session, { quota: null, maxOpenSessions: null })).toEqual({ created: true });
    return session;
  }

  const part = (session: UploadSessionRecord) => ({
    sessionId: session.id, offset: 0, size: 100, sha1: 'a'.repeat(40), partId: '00000001', partRef: asPartRef('1.x.part'), createdAt: 2,
  });

  it('a read of a part whose commit is still being fsynced waits for the fsync', async () => {
    const session = await openStore('slow');
    let release!: () => void;
    held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const events: string[] = [];
    const recording = store.recordPart(part(session)).then(() => events.push('recorded'));
    const read = store.getPart(session.id, 0).then((found) => events.push(found ? 'read' : 'read nothing'));
    const listed = store.getSession(session.id).then((found) => events.push(`session with ${found?.partsStored} parts`));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(events).toEqual([]);
    events.push('fsynced');
    release();
    await Promise.all([recording, read, listed]);
    expect(events[0]).toBe('fsynced');
    expect(events.slice(1).sort()).toEqual(['read', 'recorded', 'session with 1 parts']);
    // With no fsync pending a read answers at once.
    held = undefined;
    expect(await store.getPart(session.id, 0)).toMatchObject({ offset: 0 });
    await store.close();
  });

  it('a failed fsync fails the store: the write and every later call are MetadataUnavailableError', async () => {
    const session = await openStore('failing');
    failing = true;
    await expect(store.recordPart(part(session))).rejects.toBeInstanceOf(MetadataUnavailableError);
    failing = false; // a later fsync that succeeds cannot vouch for what the failed one lost
    await expect(store.getPart(session.id, 0)).rejects.toBeInstanceOf(MetadataUnavailableError);
    await expect(store.getSession(session.id)).rejects.toBeInstanceOf(MetadataUnavailableError);
    await expect(store.recordPart({ ...part(session), offset: 0 })).rejects.toBeInstanceOf(MetadataUnavailableError);
    await expect(new AtomicSteps(store).commitSession({ sessionId: session.id, nameKey: 'a.bin', now: 3 }))
      .rejects.toBeInstanceOf(MetadataUnavailableError);
    await expect(store.ping()).rejects.toBeInstanceOf(MetadataUnavailableError);
    await store.close();
  });
});
