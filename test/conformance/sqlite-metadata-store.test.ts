import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AtomicSteps } from '../../src/core/atomic-steps.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite/sqlite-store.js';
import { asBlobKey, asPartRef, asUploadRef, type UploadSessionRecord, type UserRecord } from '../../src/core/model.js';
import { describeMetadataStore, NO_LIMITS, outcome } from './metadata-store-suite.js';

describeMetadataStore('SqliteMetadataStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'partway-sqlite-'));
  const store = new SqliteMetadataStore(join(dir, 'partway.db'));
  return {
    store,
    async cleanup() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('SqliteMetadataStore on its database file', () => {
  const T0 = 1_700_000_000_000;
  let dir: string;
  let path: string;
  const opened: SqliteMetadataStore[] = [];
  const openStore = () => {
    const store = new SqliteMetadataStore(path);
    opened.push(store);
    return store;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'partway-sqlite-'));
    path = join(dir, 'partway.db');
  });

  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const session = (user: UserRecord, overrides: Partial<UploadSessionRecord> = {}): UploadSessionRecord => ({
    id: randomBytes(16).toString('hex').toUpperCase(), ownerId: user.id, folderId: user.rootFolderId, fileId: null,
    fileName: 'big.bin', fileSize: 30_000_000, partSize: 8_388_608, totalParts: 4, uploadRef: asUploadRef(randomBytes(16).toString('hex')),
    state: 'active', createdAt: T0, expiresAt: T0 + 86_400_000, blobKey: null, contentSha1: null, committedFileId: null,
    partsStored: 0, ...overrides,
  });

  it('reopening the file keeps users, files, sessions, parts, garbage and secrets', async () => {
    const first = openStore();
    const alice = await first.ensureUser('alice', T0);
    const file = outcome(await new AtomicSteps(first).createFile({
      ownerId: alice.id, parentId: alice.rootFolderId, name: 'a.txt', nameKey: 'a.txt', now: T0,
      blobKey: asBlobKey('k1'), size: 5, sha1: 'a'.repeat(40),
    }), 'created');
    const active = session(alice);
    await new AtomicSteps(first).createSession(active, NO_LIMITS);
    const part = {
      sessionId: active.id, offset: 0, size: 8_388_608, sha1: 'b'.repeat(40), partId: '00000001', partRef: asPartRef('1.abc.part'), createdAt: T0,
    };
    await first.recordPart(part);
    const aborted = session(alice);
    await new AtomicSteps(first).createSession(aborted, NO_LIMITS);
    await first.abortSession(aborted.id);
    await first.getOrCreateSecret('links', () => 'secret-1');
    await first.close();

    const second = openStore();
    expect(await second.getUserByName('alice')).toEqual(alice);
    expect(await second.getItem(file.id)).toEqual(file);
    expect(await second.getSession(active.id)).toEqual({ ...active, partsStored: 1 });
    expect(await second.getPart(active.id, 0)).toEqual(part);
    expect((await second.claimGarbage(T0, 1000, 10)).map((g) => g.ref)).toEqual([aborted.uploadRef]);
    expect(await second.getOrCreateSecret('links', () => 'secret-2')).toBe('secret-1');
    // A second user gets new ids, not reused ones.
    const bob = await second.ensureUser('bob', T0);
    expect(bob.id).not.toBe(alice.id);
    expect(bob.rootFolderId).not.toBe(alice.rootFolderId);
  });

  it('part writes in flight do not outlive the process that started them (a crashed write is not in flight)', async () => {
    const crashed = openStore();
    const alice = await crashed.ensureUser('alice', T0);
    const s = session(alice);
    await new AtomicSteps(crashed).createSession(s, NO_LIMITS);
    expect(await crashed.claimPartWrite({ writeId: 'w1', sessionId: s.id, offset: 0, expiresAt: T0 + 60_000 }, T0)).toBe(true);
    expect(await crashed.partWritesInFlight(s.id, T0)).toEqual([0]);
    await crashed.close();

    const successor = openStore();
    expect(await successor.partWritesInFlight(s.id, T0)).toEqual([]);
  });

  it('two connections to one file see each other\'s writes', async () => {
    const server = openStore();
    const cli = openStore();
    const alice = await cli.ensureUser('alice', T0);
    await cli.addToken({ id: '0123456789abcdef', userId: alice.id, secretHash: 'c'.repeat(64), createdAt: T0, revokedAt: null });
    expect(await server.getToken('0123456789abcdef')).toMatchObject({ userId: alice.id, revokedAt: null });
    expect(await cli.revokeToken('0123456789abcdef', T0 + 1)).toBe(true);
    expect((await server.getToken('0123456789abcdef'))?.revokedAt).toBe(T0 + 1);
    expect(await server.ensureUser('alice', T0 + 5)).toEqual(alice);
  });

  it('writes made at once all resolve once fsynced together, and another connection sees each of them', async () => {
    const store = openStore();
    const alice = await store.ensureUser('alice', T0);
    const s = session(alice, { fileSize: 64 * 1024, partSize: 1024, totalParts: 64 });
    await new AtomicSteps(store).createSession(s, NO_LIMITS);
    const results = await Promise.all(Array.from({ length: 64 }, (_, index) => store.recordPart({
      sessionId: s.id, offset: index * 1024, size: 1024, sha1: 'd'.repeat(40), partId: String(index).padStart(8, '0'),
      partRef: asPartRef(`${index + 1}.abc.part`), createdAt: T0,
    })));
    expect(results.every((result) => 'recorded' in result)).toBe(true);
    const other = openStore();
    expect((await other.listParts(s.id, 0, 100)).total).toBe(64);
    expect((await other.getSession(s.id))?.partsStored).toBe(64);
  });

  it('while a transaction is open, the process\'s other statements wait: none sees its rows before it commits or runs inside it', async () => {
    const store = openStore();
    const alice = await store.ensureUser('alice', T0);
    const newFolder = (name: string) => ({ ownerId: alice.id, parentId: alice.rootFolderId, name, nameKey: name, now: T0 });
    for (const ending of ['rolled back', 'committed'] as const) {
      let finish!: () => void;
      const held = new Promise<void>((resolve) => {
        finish = resolve;
      });
      // The transaction stays open across turns of the event loop while it waits for `held`.
      const transaction = store.transact(async (tx) => {
        await tx.insertFolder(newFolder(ending));
        await held;
        if (ending === 'rolled back') throw new Error('rolled back');
      });
      const read = store.findChild(alice.rootFolderId, ending);
      const write = store.revokeToken('no-such-token', T0);
      const other = new AtomicSteps(store).createFolder(newFolder(`${ending} beside`));
      await new Promise((resolve) => setTimeout(resolve, 50));
      finish();
      if (ending === 'rolled back') await expect(transaction).rejects.toThrow('rolled back');
      else await transaction;
      expect(await read).toEqual(ending === 'committed' ? expect.objectContaining({ name: ending }) : undefined);
      expect(await write).toBe(false);
      expect(outcome(await other, 'created').name).toBe(`${ending} beside`);
    }
    const names = (await openStore().listChildren(alice.rootFolderId, 0, 10)).entries.map((item) => item.name);
    expect(names.sort()).toEqual(['committed', 'committed beside', 'rolled back beside']);
  });

  it('ping rejects once the store is closed, and closing twice is harmless', async () => {
    const store = openStore();
    await expect(store.ping()).resolves.toBeUndefined();
    await store.close();
    await expect(store.ping()).rejects.toThrow();
    await expect(store.close()).resolves.toBeUndefined();
  });
});
