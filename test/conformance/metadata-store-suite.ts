import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AtomicSteps } from '../../src/core/atomic-steps.js';
import { nameKey } from '../../src/core/names.js';
import {
  asBlobKey, asPartRef, asUploadRef, type ChildOrder, type ChildPosition, type FileRecord, type FolderRecord, type GarbageRecord, type ItemRecord, type Millis, type PartRecord,
  type TokenRecord, type ApplicationRecord, type BlobKey, type UploadSessionRecord, type UserRecord,
} from '../../src/core/model.js';
import type { MetadataStore } from '../../src/metadata/store.js';
import { describeEventStore } from './event-store-suite.js';

/**
 * The contract of MetadataStore (src/metadata/store.ts), run against any backend.
 *
 * `open` must return an empty store of its own; `cleanup` closes it and removes whatever it used.
 * The suite talks to the store only through the interface, so a PostgreSQL (or any other) store runs
 * it unchanged. The steps decided by the core over the store's transactions (AtomicSteps: names,
 * If-Match, limits, commit) are run here over each store too: their answers depend on its locking.
 */
/** No quota and no cap on open sessions. */
export const NO_LIMITS = { quota: null, maxOpenSessions: null };

export function describeMetadataStore(
  name: string,
  open: () => Promise<{ store: MetadataStore; cleanup(): Promise<void> }>,
): void {
  describe(`MetadataStore conformance: ${name}`, () => {
    const T0: Millis = 1_700_000_000_000;
    const HOUR = 3_600_000;

    let opened: { store: MetadataStore; cleanup(): Promise<void> } | undefined;
    let store: MetadataStore;
    /** The steps the core decides over the store's transactions, so they hold on every backend too. */
    let steps: AtomicSteps;

    beforeEach(async () => {
      opened = await open();
      store = opened.store;
      steps = new AtomicSteps(store);
    });

    afterEach(async () => {
      await opened?.cleanup();
      opened = undefined;
    });

    // ---- helpers -------------------------------------------------------------------------------

    const sha1 = (text: string): string => createHash('sha1').update(text).digest('hex');
    const newSessionId = (): string => randomBytes(16).toString('hex').toUpperCase();
    const newBlobKey = () => asBlobKey(randomBytes(16).toString('hex'));
    const newUploadRef = () => asUploadRef(randomBytes(16).toString('hex'));

    async function folderIn(owner: UserRecord, parentId: string, folderName: string, now = T0): Promise<FolderRecord> {
      const result = await steps.createFolder({ ownerId: owner.id, parentId, name: folderName, nameKey: nameKey(folderName), now });
      return outcome(result, 'created');
    }

    async function fileIn(owner: UserRecord, parentId: string, fileName: string,
      content: { size?: number; blobKey?: BlobKey; now?: Millis; description?: string } = {}): Promise<FileRecord> {
      const result = await steps.createFile({
        ownerId: owner.id, parentId, name: fileName, nameKey: nameKey(fileName), now: content.now ?? T0,
        blobKey: content.blobKey ?? newBlobKey(), size: content.size ?? 100, sha1: sha1(`${fileName}:${content.size ?? 100}`),
        description: content.description,
      });
      return outcome(result, 'created');
    }

    function sessionFor(owner: UserRecord, overrides: Partial<UploadSessionRecord> = {}): UploadSessionRecord {
      const fileSize = overrides.fileSize ?? 50_000_000;
      const partSize = overrides.partSize ?? 8_388_608;
      return {
        id: newSessionId(), ownerId: owner.id, folderId: owner.rootFolderId, fileId: null, fileName: 'upload.bin',
        fileSize, partSize, totalParts: Math.ceil(fileSize / partSize), uploadRef: newUploadRef(), state: 'active',
        createdAt: T0, expiresAt: T0 + 24 * HOUR, blobKey: null, contentSha1: null, committedFileId: null, partsStored: 0,
        ...overrides,
      };
    }

    async function openSession(owner: UserRecord, overrides: Partial<UploadSessionRecord> = {}): Promise<UploadSessionRecord> {
      const session = sessionFor(owner, overrides);
      expect(await steps.createSession(session, NO_LIMITS)).toEqual({ created: true });
      return session;
    }

    /** An active session whose parts were joined: ready to commit. */
    async function joinedSession(owner: UserRecord, overrides: Partial<UploadSessionRecord> = {}) {
      const session = await openSession(owner, overrides);
      const blobKey = newBlobKey();
      const contentSha1 = sha1(`content of ${session.id}`);
      expect(await store.setSessionContent(session.id, blobKey, contentSha1)).toBe(true);
      return { ...session, blobKey, contentSha1 };
    }

    function partOf(session: UploadSessionRecord, offset: number, overrides: Partial<PartRecord> = {}): PartRecord {
      const size = Math.min(session.partSize, session.fileSize - offset);
      return {
        sessionId: session.id, offset, size, sha1: sha1(`${session.id}@${offset}`),
        partId: (offset / session.partSize + 1).toString(16).toUpperCase().padStart(8, '0'),
        partRef: asPartRef(`${offset / session.partSize + 1}.${randomBytes(6).toString('hex')}.part`), createdAt: T0 + 1000,
        ...overrides,
      };
    }

    async function commit(sessionId: string, fileName = 'upload.bin', extra: { ifMatch?: string; now?: Millis } = {}) {
      return steps.commitSession({ sessionId, nameKey: nameKey(fileName), ifMatch: extra.ifMatch, now: extra.now ?? T0 + HOUR });
    }

    /** Everything queued as garbage that is due at `now`, as (kind, ref) pairs sorted by ref. */
    async function garbageDue(now: Millis): Promise<Array<Pick<GarbageRecord, 'kind' | 'ref'>>> {
      const entries = await store.claimGarbage(now, 1, 1000);
      return entries.map(({ kind, ref }) => ({ kind, ref })).sort((a, b) => a.ref.localeCompare(b.ref));
    }

    const byRef = (a: { ref: string }, b: { ref: string }) => a.ref.localeCompare(b.ref);

    // ---- users ---------------------------------------------------------------------------------

    describe('users', () => {
      it('ensureUser creates a user with a root folder that has no parent', async () => {
        const alice = await store.ensureUser('alice', T0);
        expect(alice).toMatchObject({ name: 'alice', createdAt: T0 });
        const root = await store.getItem(alice.rootFolderId);
        expect(root).toMatchObject({ type: 'folder', id: alice.rootFolderId, ownerId: alice.id, parentId: null });
        expect(await store.listChildren(alice.rootFolderId, 0, 100)).toEqual({ total: 0, entries: [] });
        expect(await store.ancestors(alice.rootFolderId)).toEqual([]);
      });

      it('ensureUser is idempotent: a second call returns the same user and root folder', async () => {
        const first = await store.ensureUser('alice', T0);
        const second = await store.ensureUser('alice', T0 + HOUR);
        expect(second).toEqual(first);
      });

      it('ensureUser keeps a display name given when it creates the user, and only then', async () => {
        const carol = await store.ensureUser('carol@https://idp.example', T0, 'Carol Example');
        expect(carol).toMatchObject({ name: 'carol@https://idp.example', displayName: 'Carol Example' });
        expect(await store.ensureUser('carol@https://idp.example', T0 + HOUR, 'Someone Else')).toEqual(carol);
        expect(await store.getUser(carol.id)).toEqual(carol);
        expect((await store.ensureUser('dave', T0)).displayName).toBeUndefined();
      });

      it('concurrent ensureUser calls for one name create one user', async () => {
        const users = await Promise.all([1, 2, 3, 4].map((i) => store.ensureUser('bob', T0 + i)));
        expect(new Set(users.map((u) => u.id)).size).toBe(1);
        expect(new Set(users.map((u) => u.rootFolderId)).size).toBe(1);
      });

      it('different names get different users, each with its own root folder', async () => {
        const alice = await store.ensureUser('alice', T0);
        const bob = await store.ensureUser('bob', T0);
        expect(bob.id).not.toBe(alice.id);
        expect(bob.rootFolderId).not.toBe(alice.rootFolderId);
        expect(await store.getItem(bob.rootFolderId)).toMatchObject({ type: 'folder', ownerId: bob.id, parentId: null });
      });

      it('getUser and getUserByName find a user and return undefined for an unknown one', async () => {
        const alice = await store.ensureUser('alice', T0);
        expect(await store.getUser(alice.id)).toEqual(alice);
        expect(await store.getUserByName('alice')).toEqual(alice);
        expect(await store.getUserByName('nobody')).toBeUndefined();
        expect(await store.getUser('987654321')).toBeUndefined();
      });

      it('user, folder, file and version ids are decimal strings', async () => {
        const alice = await store.ensureUser('alice', T0);
        const folder = await folderIn(alice, alice.rootFolderId, 'docs');
        const file = await fileIn(alice, folder.id, 'a.txt');
        for (const id of [alice.id, alice.rootFolderId, folder.id, file.id, file.versionId]) {
          expect(id).toMatch(/^[0-9]{1,19}$/);
        }
      });
    });

    // ---- tokens --------------------------------------------------------------------------------

    describe('tokens', () => {
      const token = (id: string, userId: string, createdAt = T0): TokenRecord => ({
        id, userId, secretHash: createHash('sha256').update(id).digest('hex'), createdAt, revokedAt: null,
      });

      it('addToken stores a token that getToken returns unchanged', async () => {
        const alice = await store.ensureUser('alice', T0);
        const record = token('0123456789abcdef', alice.id);
        await store.addToken(record);
        expect(await store.getToken(record.id)).toEqual(record);
        expect(await store.getToken('ffffffffffffffff')).toBeUndefined();
      });

      it('listTokens lists every token, or only those of one user', async () => {
        const alice = await store.ensureUser('alice', T0);
        const bob = await store.ensureUser('bob', T0);
        const a1 = token('aaaaaaaaaaaaaaa1', alice.id, T0);
        const a2 = token('aaaaaaaaaaaaaaa2', alice.id, T0 + 1);
        const b1 = token('bbbbbbbbbbbbbbb1', bob.id, T0 + 2);
        for (const t of [a1, a2, b1]) await store.addToken(t);
        const byId = (x: TokenRecord, y: TokenRecord) => x.id.localeCompare(y.id);
        expect((await store.listTokens()).sort(byId)).toEqual([a1, a2, b1]);
        expect((await store.listTokens(alice.id)).sort(byId)).toEqual([a1, a2]);
        expect(await store.listTokens(bob.id)).toEqual([b1]);
        const carol = await store.ensureUser('carol', T0);
        expect(await store.listTokens(carol.id)).toEqual([]);
      });

      it('revokeToken revokes once and returns false when the token is already revoked', async () => {
        const alice = await store.ensureUser('alice', T0);
        const record = token('0123456789abcdef', alice.id);
        await store.addToken(record);
        expect(await store.revokeToken(record.id, T0 + 5)).toBe(true);
        expect(await store.getToken(record.id)).toEqual({ ...record, revokedAt: T0 + 5 });
        expect(await store.revokeToken(record.id, T0 + 9)).toBe(false);
        expect((await store.getToken(record.id))?.revokedAt).toBe(T0 + 5);
      });

      it('revokeToken of an unknown token returns false', async () => {
        expect(await store.revokeToken('ffffffffffffffff', T0)).toBe(false);
      });

      it('revoking one token leaves the user\'s other tokens valid', async () => {
        const alice = await store.ensureUser('alice', T0);
        await store.addToken(token('aaaaaaaaaaaaaaa1', alice.id));
        await store.addToken(token('aaaaaaaaaaaaaaa2', alice.id));
        await store.revokeToken('aaaaaaaaaaaaaaa1', T0 + 1);
        expect((await store.getToken('aaaaaaaaaaaaaaa2'))?.revokedAt).toBeNull();
      });

      it('a token with an expiry keeps it; one without has none', async () => {
        const alice = await store.ensureUser('alice', T0);
        const expiring = { ...token('aaaaaaaaaaaaaaa1', alice.id), expiresAt: T0 + 3_600_000 };
        await store.addToken(expiring);
        await store.addToken(token('aaaaaaaaaaaaaaa2', alice.id));
        expect(await store.getToken(expiring.id)).toStrictEqual(expiring);
        expect(await store.getToken('aaaaaaaaaaaaaaa2')).not.toHaveProperty('expiresAt');
      });
    });

    // ---- applications (OAuth 2.0 client credentials and JWT) ----------------------------------------

    describe('applications', () => {
      const application = (id: string, userId: string, createdAt = T0): ApplicationRecord => ({
        id, userId, secretHash: createHash('sha256').update(id).digest('hex'), createdAt, revokedAt: null,
      });

      it('addApplication stores an application that getApplication returns unchanged', async () => {
        const alice = await store.ensureUser('alice', T0);
        const record = application('a'.repeat(32), alice.id);
        await store.addApplication(record);
        expect(await store.getApplication(record.id)).toStrictEqual(record);
        expect(await store.getApplication('b'.repeat(32))).toBeUndefined();
      });

      it('listApplications lists every application, oldest first', async () => {
        const alice = await store.ensureUser('alice', T0);
        const bob = await store.ensureUser('bob', T0);
        const second = application('b'.repeat(32), bob.id, T0 + 1);
        const first = application('c'.repeat(32), alice.id, T0);
        await store.addApplication(second);
        await store.addApplication(first);
        expect(await store.listApplications()).toStrictEqual([first, second]);
      });

      it('revokeApplication revokes once and returns false when already revoked or unknown', async () => {
        const alice = await store.ensureUser('alice', T0);
        const record = application('a'.repeat(32), alice.id);
        await store.addApplication(record);
        expect(await store.revokeApplication(record.id, T0 + 5)).toBe(true);
        expect(await store.getApplication(record.id)).toStrictEqual({ ...record, revokedAt: T0 + 5 });
        expect(await store.revokeApplication(record.id, T0 + 9)).toBe(false);
        expect(await store.revokeApplication('d'.repeat(32), T0)).toBe(false);
      });

      it('revokeApplication revokes the tokens granted to the application, and only those', async () => {
        const alice = await store.ensureUser('alice', T0);
        const record = application('a'.repeat(32), alice.id);
        const other = application('b'.repeat(32), alice.id);
        await store.addApplication(record);
        await store.addApplication(other);
        const tokenOf = (id: string, applicationId?: string): TokenRecord => ({
          id, userId: alice.id, secretHash: sha1(id).padEnd(64, '0'), createdAt: T0, revokedAt: null, expiresAt: T0 + HOUR,
          ...(applicationId !== undefined && { applicationId }),
        });
        const granted = [tokenOf('aaaaaaaaaaaaaaa1', record.id), tokenOf('aaaaaaaaaaaaaaa2', record.id)];
        const untouched = [tokenOf('bbbbbbbbbbbbbbb1', other.id), tokenOf('ccccccccccccccc1')];
        for (const token of [...granted, ...untouched]) await store.addToken(token);
        expect(await store.getToken(granted[0]!.id)).toStrictEqual(granted[0]);
        expect(await store.revokeApplication(record.id, T0 + 5)).toBe(true);
        for (const token of granted) expect(await store.getToken(token.id)).toStrictEqual({ ...token, revokedAt: T0 + 5 });
        for (const token of untouched) expect(await store.getToken(token.id)).toStrictEqual(token);
      });

      it('application keys: added per application, listed oldest first, an id once per application, removed', async () => {
        const alice = await store.ensureUser('alice', T0);
        const record = application('a'.repeat(32), alice.id);
        const other = application('b'.repeat(32), alice.id);
        await store.addApplication(record);
        await store.addApplication(other);
        const key = (applicationId: string, id: string, createdAt: Millis) => ({ applicationId, id, publicKeyPem: `PEM of ${id}`, createdAt });
        const second = key(record.id, 'k2', T0 + 1);
        const first = key(record.id, 'k1', T0);
        expect(await store.addApplicationKey(second)).toBe(true);
        expect(await store.addApplicationKey(first)).toBe(true);
        expect(await store.addApplicationKey({ ...first, publicKeyPem: 'another' })).toBe(false);
        expect(await store.addApplicationKey(key(other.id, 'k1', T0))).toBe(true);
        expect(await store.listApplicationKeys(record.id)).toStrictEqual([first, second]);
        expect(await store.removeApplicationKey(record.id, 'k1')).toBe(true);
        expect(await store.removeApplicationKey(record.id, 'k1')).toBe(false);
        expect(await store.listApplicationKeys(record.id)).toStrictEqual([second]);
        expect(await store.listApplicationKeys(other.id)).toStrictEqual([key(other.id, 'k1', T0)]);
        expect(await store.listApplicationKeys('c'.repeat(32))).toStrictEqual([]);
      });

      it('useAssertionId accepts a jti once per application, also when many ask at once', async () => {
        const racers = await Promise.all(Array.from({ length: 8 }, () => store.useAssertionId('a'.repeat(32), 'jti-1', T0 + 60_000)));
        expect(racers.filter(Boolean)).toHaveLength(1);
        expect(await store.useAssertionId('a'.repeat(32), 'jti-1', T0 + 60_000)).toBe(false);
        expect(await store.useAssertionId('b'.repeat(32), 'jti-1', T0 + 60_000)).toBe(true);
        expect(await store.useAssertionId('a'.repeat(32), 'jti-2', T0 + 60_000)).toBe(true);
      });

      it('purgeExpiredCredentials deletes tokens and assertion ids that ran out before the cut-off, in batches', async () => {
        const alice = await store.ensureUser('alice', T0);
        const tokenUntil = (id: string, expiresAt?: Millis): TokenRecord => ({
          id, userId: alice.id, secretHash: sha1(id).padEnd(64, '0'), createdAt: T0, revokedAt: null, ...(expiresAt !== undefined && { expiresAt }),
        });
        const old = [tokenUntil('aaaaaaaaaaaaaaa1', T0 + 10), tokenUntil('aaaaaaaaaaaaaaa2', T0 + 20)];
        const kept = [tokenUntil('bbbbbbbbbbbbbbb1', T0 + HOUR), tokenUntil('bbbbbbbbbbbbbbb2')];
        for (const token of [...old, ...kept]) await store.addToken(token);
        await store.useAssertionId('a'.repeat(32), 'old', T0 + 30);
        await store.useAssertionId('a'.repeat(32), 'kept', T0 + HOUR);
        let purged = 0;
        for (let batch; (batch = await store.purgeExpiredCredentials(T0 + 1000, 2)) > 0;) {
          expect(batch).toBeLessThanOrEqual(2);
          purged += batch;
        }
        expect(purged).toBe(3);
        for (const token of old) expect(await store.getToken(token.id)).toBeUndefined();
        for (const token of kept) expect(await store.getToken(token.id)).toStrictEqual(token);
        // The purged id is free again (its assertion's exp has passed, so the grant refuses it anyway).
        expect(await store.useAssertionId('a'.repeat(32), 'old', T0 + 30)).toBe(true);
        expect(await store.useAssertionId('a'.repeat(32), 'kept', T0 + HOUR)).toBe(false);
      });
    });

    // ---- folders and files ---------------------------------------------------------------------

    describe('folders and files', () => {
      it('createFolder creates a folder that getItem and findChild (by name key) return', async () => {
        const alice = await store.ensureUser('alice', T0);
        const folder = await folderIn(alice, alice.rootFolderId, 'Reports', T0 + 7);
        expect(folder).toMatchObject({
          type: 'folder', ownerId: alice.id, parentId: alice.rootFolderId, name: 'Reports', createdAt: T0 + 7, modifiedAt: T0 + 7,
        });
        expect(await store.getItem(folder.id)).toEqual(folder);
        expect(await store.findChild(alice.rootFolderId, 'reports')).toEqual(folder);
        expect(await store.findChild(alice.rootFolderId, 'other')).toBeUndefined();
        expect(await store.getItem('987654321')).toBeUndefined();
      });

      it('createFile stores the content and defaults content times to now and the description to empty', async () => {
        const alice = await store.ensureUser('alice', T0);
        const blobKey = newBlobKey();
        const result = await steps.createFile({
          ownerId: alice.id, parentId: alice.rootFolderId, name: 'Movie.MKV', nameKey: nameKey('Movie.MKV'), now: T0 + 3,
          blobKey, size: 123_456_789, sha1: sha1('movie'),
        });
        const file = outcome(result, 'created');
        expect(file).toMatchObject({
          type: 'file', ownerId: alice.id, parentId: alice.rootFolderId, name: 'Movie.MKV', description: '',
          size: 123_456_789, sha1: sha1('movie'), etag: 0, blobKey, createdAt: T0 + 3, modifiedAt: T0 + 3,
          contentCreatedAt: T0 + 3, contentModifiedAt: T0 + 3,
        });
        expect(await store.getItem(file.id)).toEqual(file);
        expect(await store.findChild(alice.rootFolderId, 'movie.mkv')).toEqual(file);
        expect(await store.getFileVersion(file.id, file.versionId)).toEqual({
          id: file.versionId, fileId: file.id, blobKey, size: 123_456_789, sha1: sha1('movie'), createdAt: T0 + 3,
        });
      });

      it('createFile keeps given content times and description', async () => {
        const alice = await store.ensureUser('alice', T0);
        const file = outcome(await steps.createFile({
          ownerId: alice.id, parentId: alice.rootFolderId, name: 'a.txt', nameKey: 'a.txt', now: T0,
          blobKey: newBlobKey(), size: 1, sha1: sha1('a'), contentCreatedAt: T0 - 2000, contentModifiedAt: T0 - 1000,
          description: 'notes',
        }), 'created');
        expect(file).toMatchObject({ contentCreatedAt: T0 - 2000, contentModifiedAt: T0 - 1000, description: 'notes' });
      });

      it('createFolder with a name key already used in the folder returns the existing item as a conflict', async () => {
        const alice = await store.ensureUser('alice', T0);
        const existing = await folderIn(alice, alice.rootFolderId, 'Photos');
        const result = await steps.createFolder({
          ownerId: alice.id, parentId: alice.rootFolderId, name: 'PHOTOS', nameKey: nameKey('PHOTOS'), now: T0,
        });
        expect(result).toEqual({ conflict: existing });
        expect((await store.listChildren(alice.rootFolderId, 0, 10)).total).toBe(1);
      });

      it('a file and a folder cannot share a name key in one folder', async () => {
        const alice = await store.ensureUser('alice', T0);
        const folder = await folderIn(alice, alice.rootFolderId, 'thing');
        const fileResult = await steps.createFile({
          ownerId: alice.id, parentId: alice.rootFolderId, name: 'Thing', nameKey: nameKey('Thing'), now: T0,
          blobKey: newBlobKey(), size: 1, sha1: sha1('x'),
        });
        expect(fileResult).toEqual({ conflict: folder });

        const file = await fileIn(alice, alice.rootFolderId, 'other.txt');
        const folderResult = await steps.createFolder({
          ownerId: alice.id, parentId: alice.rootFolderId, name: 'Other.txt', nameKey: nameKey('Other.txt'), now: T0,
        });
        expect(folderResult).toEqual({ conflict: file });
        const fileAgain = await steps.createFile({
          ownerId: alice.id, parentId: alice.rootFolderId, name: 'other.txt', nameKey: 'other.txt', now: T0,
          blobKey: newBlobKey(), size: 1, sha1: sha1('y'),
        });
        expect(fileAgain).toEqual({ conflict: file });
      });

      it('the same name may be used in different folders', async () => {
        const alice = await store.ensureUser('alice', T0);
        const a = await folderIn(alice, alice.rootFolderId, 'a');
        const b = await folderIn(alice, alice.rootFolderId, 'b');
        const inA = await fileIn(alice, a.id, 'same.txt');
        const inB = await fileIn(alice, b.id, 'same.txt');
        expect(inA.id).not.toBe(inB.id);
        const bob = await store.ensureUser('bob', T0);
        await folderIn(bob, bob.rootFolderId, 'a');
      });

      it('creating under a missing parent, or under a file, returns parentMissing', async () => {
        const alice = await store.ensureUser('alice', T0);
        const file = await fileIn(alice, alice.rootFolderId, 'a.txt');
        for (const parentId of ['987654321', file.id]) {
          expect(await steps.createFolder({ ownerId: alice.id, parentId, name: 'x', nameKey: 'x', now: T0 }))
            .toEqual({ parentMissing: true });
          expect(await steps.createFile({
            ownerId: alice.id, parentId, name: 'y', nameKey: 'y', now: T0, blobKey: newBlobKey(), size: 1, sha1: sha1('y'),
          })).toEqual({ parentMissing: true });
        }
        expect((await store.listChildren(alice.rootFolderId, 0, 10)).total).toBe(1);
      });

      it('concurrent creations of one name in one folder create exactly one item', async () => {
        const alice = await store.ensureUser('alice', T0);
        const results = await Promise.all([
          ...[0, 1, 2].map(() => steps.createFolder({
            ownerId: alice.id, parentId: alice.rootFolderId, name: 'Race', nameKey: 'race', now: T0,
          })),
          ...[0, 1, 2].map(() => steps.createFile({
            ownerId: alice.id, parentId: alice.rootFolderId, name: 'race', nameKey: 'race', now: T0,
            blobKey: newBlobKey(), size: 1, sha1: sha1('r'),
          })),
        ]);
        const created = results.filter((r) => 'created' in r);
        expect(created).toHaveLength(1);
        expect(results.filter((r) => 'conflict' in r)).toHaveLength(5);
        expect((await store.listChildren(alice.rootFolderId, 0, 10)).total).toBe(1);
      });

      it('listChildren lists folders before files, each by name, with the total and paging', async () => {
        const alice = await store.ensureUser('alice', T0);
        const root = alice.rootFolderId;
        // Created in a scrambled order, so the order must come from the store.
        await fileIn(alice, root, 'delta.txt');
        await folderIn(alice, root, 'zulu');
        await fileIn(alice, root, 'alpha.txt');
        await folderIn(alice, root, 'bravo');
        await fileIn(alice, root, 'charlie.txt');
        await folderIn(alice, root, 'mike');
        const expected = ['bravo', 'mike', 'zulu', 'alpha.txt', 'charlie.txt', 'delta.txt'];

        const all = await store.listChildren(root, 0, 100);
        expect(all.total).toBe(6);
        expect(all.entries.map((e) => e.name)).toEqual(expected);
        expect(all.entries.map((e) => e.type)).toEqual(['folder', 'folder', 'folder', 'file', 'file', 'file']);

        const pages = [];
        for (let offset = 0; offset < 6; offset += 4) pages.push(await store.listChildren(root, offset, 4));
        expect(pages.map((p) => p.total)).toEqual([6, 6]);
        expect(pages.map((p) => p.entries.map((e) => e.name))).toEqual([expected.slice(0, 4), expected.slice(4)]);

        expect((await store.listChildren(root, 2, 2)).entries.map((e) => e.name)).toEqual(['zulu', 'alpha.txt']);
        expect(await store.listChildren(root, 6, 10)).toEqual({ total: 6, entries: [] });
        expect(await store.listChildren(root, 0, 0)).toEqual({ total: 6, entries: [] });
      });

      it('listChildren lists only the direct children of the folder', async () => {
        const alice = await store.ensureUser('alice', T0);
        const sub = await folderIn(alice, alice.rootFolderId, 'sub');
        await fileIn(alice, sub.id, 'deep.txt');
        const top = await store.listChildren(alice.rootFolderId, 0, 10);
        expect(top.total).toBe(1);
        expect(top.entries).toEqual([sub]);
        const inside = await store.listChildren(sub.id, 0, 10);
        expect(inside.entries.map((e) => e.name)).toEqual(['deep.txt']);
        expect(inside.entries[0]).toMatchObject({ type: 'file', parentId: sub.id });
      });

      it('ancestors lists the folders above an item, root first', async () => {
        const alice = await store.ensureUser('alice', T0);
        const root = await store.getItem(alice.rootFolderId);
        const a = await folderIn(alice, alice.rootFolderId, 'a');
        const b = await folderIn(alice, a.id, 'b');
        const c = await folderIn(alice, b.id, 'c');
        const file = await fileIn(alice, c.id, 'leaf.bin');
        expect(await store.ancestors(file.id)).toEqual([root, a, b, c]);
        expect(await store.ancestors(c.id)).toEqual([root, a, b]);
        expect(await store.ancestors(a.id)).toEqual([root]);
        expect(await store.ancestors(alice.rootFolderId)).toEqual([]);
        expect(await store.ancestors('987654321')).toEqual([]);
      });
    });

    describe('listChildrenOrdered', () => {
      /** Walks every page after the previous page's last item, as marker paging does. */
      async function walk(parentId: string, order: ChildOrder, limit: number): Promise<string[]> {
        const names: string[] = [];
        let after: ChildPosition | undefined;
        for (;;) {
          const page = await store.listChildrenOrdered(parentId, { order, after, limit });
          names.push(...page.entries.map((item) => item.name));
          const last = page.entries.at(-1);
          if (page.entries.length < limit || !last) return names;
          const value = order.by === 'name' ? nameKey(last.name) : order.by === 'id' ? Number(last.id)
            : order.by === 'date' ? last.modifiedAt : last.type === 'file' ? last.size : 0;
          after = { type: last.type, value, id: last.id };
        }
      }

      it('lists folders first, then by the chosen key and direction, by offset or after a position', async () => {
        const alice = await store.ensureUser('alice', T0);
        const root = alice.rootFolderId;
        await fileIn(alice, root, 'b.txt', { size: 30, now: T0 + 3 });
        await folderIn(alice, root, 'Zeta', T0 + 1);
        await fileIn(alice, root, 'a.txt', { size: 10, now: T0 + 5 });
        await folderIn(alice, root, 'alpha', T0 + 4);
        await fileIn(alice, root, 'C.txt', { size: 20, now: T0 + 2 });

        const byName: ChildOrder = { by: 'name', direction: 'ASC' };
        const all = await store.listChildrenOrdered(root, { order: byName, limit: 100 });
        expect(all.total).toBe(5);
        expect(all.entries.map((item) => item.name)).toEqual(['alpha', 'Zeta', 'a.txt', 'b.txt', 'C.txt']);
        expect((await store.listChildrenOrdered(root, { order: byName, offset: 3, limit: 1 })).entries.map((i) => i.name)).toEqual(['b.txt']);
        for (const limit of [1, 2, 3, 5]) expect(await walk(root, byName, limit)).toEqual(['alpha', 'Zeta', 'a.txt', 'b.txt', 'C.txt']);
        expect(await walk(root, { by: 'name', direction: 'DESC' }, 2)).toEqual(['Zeta', 'alpha', 'C.txt', 'b.txt', 'a.txt']);
        expect(await walk(root, { by: 'size', direction: 'DESC' }, 2)).toEqual(['alpha', 'Zeta', 'b.txt', 'C.txt', 'a.txt']);
        expect(await walk(root, { by: 'date', direction: 'ASC' }, 2)).toEqual(['Zeta', 'alpha', 'C.txt', 'b.txt', 'a.txt']);
        expect(await walk(root, { by: 'id', direction: 'DESC' }, 1)).toEqual(['alpha', 'Zeta', 'C.txt', 'a.txt', 'b.txt']);
      });

      it('a position past the last child gives an empty page; an empty folder has none', async () => {
        const alice = await store.ensureUser('alice', T0);
        const file = await fileIn(alice, alice.rootFolderId, 'only.txt');
        const order: ChildOrder = { by: 'name', direction: 'ASC' };
        const after: ChildPosition = { type: 'file', value: nameKey(file.name), id: file.id };
        expect(await store.listChildrenOrdered(alice.rootFolderId, { order, after, limit: 10 })).toEqual({ total: 1, entries: [] });
        const empty = await folderIn(alice, alice.rootFolderId, 'empty');
        expect(await store.listChildrenOrdered(empty.id, { order, limit: 10 })).toEqual({ total: 0, entries: [] });
      });
    });

    // ---- updates: rename, move -----------------------------------------------------------------

    describe('updateItem', () => {
      it('renames and moves a file, keeps its content, sets description and content time, and gives it a new etag', async () => {
        const alice = await store.ensureUser('alice', T0);
        const docs = await folderIn(alice, alice.rootFolderId, 'docs');
        const file = await fileIn(alice, alice.rootFolderId, 'a.txt');
        const result = await steps.updateItem({
          itemId: file.id, ownerId: alice.id, rename: { name: 'B.txt', nameKey: nameKey('B.txt') }, parentId: docs.id,
          description: 'notes', contentModifiedAt: T0 + 5, ifMatch: '0', now: T0 + 9,
        });
        expect(outcome(result, 'updated')).toEqual({
          ...file, name: 'B.txt', parentId: docs.id, description: 'notes', contentModifiedAt: T0 + 5, modifiedAt: T0 + 9, etag: 1,
        });
        expect(await store.findChild(alice.rootFolderId, nameKey('a.txt'))).toBeUndefined();
        expect((await store.findChild(docs.id, nameKey('b.txt')))?.id).toBe(file.id);
        // The old name is free again.
        await fileIn(alice, alice.rootFolderId, 'a.txt');
      });

      it('a stale If-Match, a taken name, a missing or foreign parent and another user change nothing', async () => {
        const alice = await store.ensureUser('alice', T0);
        const bob = await store.ensureUser('bob', T0);
        const file = await fileIn(alice, alice.rootFolderId, 'a.txt');
        const other = await fileIn(alice, alice.rootFolderId, 'other.txt');
        const base = { itemId: file.id, ownerId: alice.id, now: T0 + 9 };
        expect(await steps.updateItem({ ...base, ifMatch: '7', description: 'x' })).toEqual({ preconditionFailed: file });
        expect(await steps.updateItem({ ...base, rename: { name: 'OTHER.txt', nameKey: nameKey('OTHER.txt') } }))
          .toEqual({ conflict: other });
        expect(await steps.updateItem({ ...base, parentId: '999999' })).toEqual({ parentMissing: true });
        expect(await steps.updateItem({ ...base, parentId: other.id })).toEqual({ parentMissing: true });
        expect(await steps.updateItem({ ...base, parentId: bob.rootFolderId })).toEqual({ parentMissing: true });
        expect(await steps.updateItem({ ...base, ownerId: bob.id, description: 'x' })).toEqual({ notFound: true });
        expect(await steps.updateItem({ itemId: alice.rootFolderId, ownerId: alice.id, description: 'x', now: T0 })).toEqual({ notFound: true });
        expect(await store.getItem(file.id)).toEqual(file);
      });

      it('renaming an item to its own name in another case is no clash', async () => {
        const alice = await store.ensureUser('alice', T0);
        const folder = await folderIn(alice, alice.rootFolderId, 'photos');
        const renamed = outcome(await steps.updateItem({
          itemId: folder.id, ownerId: alice.id, rename: { name: 'Photos', nameKey: nameKey('Photos') }, now: T0 + 1,
        }), 'updated');
        expect(renamed).toEqual({ ...folder, name: 'Photos', modifiedAt: T0 + 1 });
      });

      it('refuses to move a folder into itself or below it, and moves it elsewhere with its subtree', async () => {
        const alice = await store.ensureUser('alice', T0);
        const top = await folderIn(alice, alice.rootFolderId, 'top');
        const middle = await folderIn(alice, top.id, 'middle');
        const bottom = await folderIn(alice, middle.id, 'bottom');
        const elsewhere = await folderIn(alice, alice.rootFolderId, 'elsewhere');
        for (const target of [top, middle, bottom]) {
          expect(await steps.updateItem({ itemId: top.id, ownerId: alice.id, parentId: target.id, now: T0 })).toEqual({ cyclical: true });
        }
        outcome(await steps.updateItem({ itemId: top.id, ownerId: alice.id, parentId: elsewhere.id, now: T0 }), 'updated');
        expect((await store.ancestors(bottom.id)).map((folder) => folder.id)).toEqual([alice.rootFolderId, elsewhere.id, top.id, middle.id]);
      });

      it('two racing moves that would each put one folder inside the other leave no cycle', async () => {
        const alice = await store.ensureUser('alice', T0);
        const a = await folderIn(alice, alice.rootFolderId, 'a');
        const b = await folderIn(alice, alice.rootFolderId, 'b');
        const results = await Promise.all([
          steps.updateItem({ itemId: a.id, ownerId: alice.id, parentId: b.id, now: T0 }),
          steps.updateItem({ itemId: b.id, ownerId: alice.id, parentId: a.id, now: T0 }),
        ]);
        expect(results.filter((result) => 'updated' in result)).toHaveLength(1);
        expect(results.filter((result) => 'cyclical' in result)).toHaveLength(1);
      });

      it('racing renames to one free name in one folder: exactly one takes it', async () => {
        const alice = await store.ensureUser('alice', T0);
        const files = await Promise.all(['x1', 'x2', 'x3'].map((name) => fileIn(alice, alice.rootFolderId, name)));
        const results = await Promise.all(files.map((file) => steps.updateItem({
          itemId: file.id, ownerId: alice.id, rename: { name: 'same', nameKey: nameKey('same') }, now: T0,
        })));
        expect(results.filter((result) => 'updated' in result)).toHaveLength(1);
        expect(results.filter((result) => 'conflict' in result)).toHaveLength(2);
      });
    });

    // ---- the trash -----------------------------------------------------------------------------

    const trash = (item: ItemRecord, ownerId: string, recursive = false, now = T0 + HOUR) =>
      steps.trashItem({ itemId: item.id, ownerId, recursive, now });
    /** Deletes a file for good, as a user does: to the trash, then out of it. */
    const deleteForGood = async (file: ItemRecord) => {
      outcome(await trash(file, file.ownerId), 'trashed');
      expect(await store.purgeTrashed(file.id)).toBe(true);
    };

    describe('trash', () => {

      it('trashItem takes a folder with everything below it; its name is free; restoreItem brings all back', async () => {
        const alice = await store.ensureUser('alice', T0);
        const top = await folderIn(alice, alice.rootFolderId, 'top');
        const inner = await folderIn(alice, top.id, 'inner');
        const file = await fileIn(alice, inner.id, 'deep.txt');
        expect(await trash(top, alice.id)).toEqual({ notEmpty: true });
        const trashed = outcome(await trash(top, alice.id, true), 'trashed');
        expect(trashed).toEqual({ ...top, trashedAt: T0 + HOUR });
        expect(await store.getItem(file.id)).toEqual({ ...file, trashedAt: T0 + HOUR, trashedWith: top.id });
        expect(await store.getItem(inner.id)).toEqual({ ...inner, trashedAt: T0 + HOUR, trashedWith: top.id });
        expect(await store.findChild(alice.rootFolderId, nameKey('top'))).toBeUndefined();
        expect((await store.listChildren(alice.rootFolderId, 0, 100)).entries).toEqual([]);
        expect(await store.listTrash(alice.id, 0, 100)).toEqual({ total: 1, entries: [trashed] });
        // A trashed folder takes nothing new, and what went with a folder is not restored alone.
        expect(await steps.createFolder({ ownerId: alice.id, parentId: inner.id, name: 'x', nameKey: 'x', now: T0 })).toEqual({ parentMissing: true });
        expect(await steps.restoreItem({ itemId: file.id, ownerId: alice.id, name: file.name, nameKey: nameKey(file.name), now: T0 }))
          .toEqual({ notFound: true });

        const taken = await folderIn(alice, alice.rootFolderId, 'TOP');
        const restore = { itemId: top.id, ownerId: alice.id, name: 'top', nameKey: nameKey('top'), now: T0 + 2 * HOUR };
        expect(await steps.restoreItem(restore)).toEqual({ conflict: taken });
        expect(await steps.restoreItem({ ...restore, ownerId: (await store.ensureUser('bob', T0)).id })).toEqual({ notFound: true });
        const restored = outcome(await steps.restoreItem({ ...restore, name: 'top 2', nameKey: nameKey('top 2') }), 'restored');
        expect(restored).toEqual({ ...top, name: 'top 2', modifiedAt: T0 + 2 * HOUR });
        expect(await store.getItem(file.id)).toEqual(file);
        expect(await store.listTrash(alice.id, 0, 100)).toEqual({ total: 0, entries: [] });
      });

      it('purgeTrashed deletes the trashed tree for good and queues its blobs; trashDue finds what is old enough', async () => {
        const alice = await store.ensureUser('alice', T0);
        const top = await folderIn(alice, alice.rootFolderId, 'top');
        const blobKey = newBlobKey();
        const file = await fileIn(alice, top.id, 'a.bin', { blobKey, size: 700 });
        const live = await fileIn(alice, alice.rootFolderId, 'live.bin', { size: 50 });
        outcome(await trash(top, alice.id, true, T0 + HOUR), 'trashed');
        // Trashed bytes count until they are deleted for good.
        expect(await store.storageUsed(alice.id)).toBe(750);
        expect(await store.trashDue(T0 + HOUR - 1, 10)).toEqual([]);
        expect(await store.trashDue(T0 + HOUR, 10)).toEqual([top.id]);
        expect(await store.purgeTrashed(live.id)).toBe(false);
        expect(await store.purgeTrashed(file.id)).toBe(false);
        expect(await store.purgeTrashed(top.id)).toBe(true);
        expect(await store.purgeTrashed(top.id)).toBe(false);
        expect(await store.getItem(top.id)).toBeUndefined();
        expect(await store.getItem(file.id)).toBeUndefined();
        expect(await store.storageUsed(alice.id)).toBe(50);
        expect(await garbageDue(T0)).toEqual([{ kind: 'blob', ref: blobKey }]);
      });
    });

    describe('fileVersions', () => {
      it('lists every version of a file, the newest first', async () => {
        const alice = await store.ensureUser('alice', T0);
        const file = await fileIn(alice, alice.rootFolderId, 'v.bin');
        const next = outcome(await steps.addFileVersion({ fileId: file.id, blobKey: newBlobKey(), size: 5, sha1: sha1('v2'), now: T0 + 1 }), 'created');
        const versions = await store.fileVersions(file.id);
        expect(versions.map((version) => version.id)).toEqual([next.versionId, file.versionId]);
        expect(versions[0]).toMatchObject({ fileId: file.id, size: 5, sha1: sha1('v2'), createdAt: T0 + 1 });
        expect(await store.fileVersions('999999')).toEqual([]);
      });
    });

    describe('copyItem', () => {
      it('copies a folder tree; the copies share their blobs, which stay in use until no version reads them', async () => {
        const alice = await store.ensureUser('alice', T0);
        const top = await folderIn(alice, alice.rootFolderId, 'top');
        const blobKey = newBlobKey();
        const file = await fileIn(alice, top.id, 'a.bin', { blobKey, size: 300, description: 'd' });
        const copy = outcome(await steps.copyItem({
          itemId: top.id, ownerId: alice.id, parentId: alice.rootFolderId, name: 'top 2', nameKey: nameKey('top 2'), now: T0 + 1,
        }), 'copied');
        const [copied] = (await store.listChildren(copy.id, 0, 10)).entries;
        expect(copied).toEqual({ ...file, id: copied!.id, parentId: copy.id, versionId: (copied as FileRecord).versionId, createdAt: T0 + 1, modifiedAt: T0 + 1 });
        expect(await store.storageUsed(alice.id)).toBe(600);
        expect(await steps.copyItem({ itemId: top.id, ownerId: alice.id, parentId: top.id, name: 'x', nameKey: 'x', now: T0 })).toEqual({ cyclical: true });
        expect(await steps.copyItem({ itemId: file.id, ownerId: alice.id, parentId: top.id, name: 'A.bin', nameKey: nameKey('A.bin'), now: T0 }))
          .toEqual({ conflict: file });
        outcome(await steps.trashItem({ itemId: top.id, ownerId: alice.id, recursive: true, now: T0 }), 'trashed');
        expect(await store.purgeTrashed(top.id)).toBe(true);
        expect(await store.blobInUse(blobKey)).toBe(true);
        outcome(await steps.trashItem({ itemId: copy.id, ownerId: alice.id, recursive: true, now: T0 }), 'trashed');
        expect(await store.purgeTrashed(copy.id)).toBe(true);
        expect(await store.blobInUse(blobKey)).toBe(false);
      });
    });

    // ---- versions and deletion -----------------------------------------------------------------

    describe('file versions and deletion', () => {
      it('addFileVersion replaces the content, increments the etag and keeps the name and folder', async () => {
        const alice = await store.ensureUser('alice', T0);
        const file = await fileIn(alice, alice.rootFolderId, 'doc.txt', { description: 'keep me' });
        const blobKey = newBlobKey();
        const v2 = outcome(await steps.addFileVersion({
          fileId: file.id, blobKey, size: 222, sha1: sha1('v2'), now: T0 + 10,
        }), 'created');
        expect(v2).toMatchObject({
          id: file.id, name: 'doc.txt', parentId: file.parentId, etag: 1, size: 222, sha1: sha1('v2'), blobKey,
          description: 'keep me', createdAt: file.createdAt, modifiedAt: T0 + 10,
        });
        expect(v2.versionId).not.toBe(file.versionId);
        expect(await store.getItem(file.id)).toEqual(v2);

        const v3 = outcome(await steps.addFileVersion({
          fileId: file.id, blobKey: newBlobKey(), size: 333, sha1: sha1('v3'), now: T0 + 20,
        }), 'created');
        expect(v3.etag).toBe(2);
        expect(new Set([file.versionId, v2.versionId, v3.versionId]).size).toBe(3);
      });

      it('after addFileVersion the file is still found by its name key and its name stays taken', async () => {
        const alice = await store.ensureUser('alice', T0);
        const file = await fileIn(alice, alice.rootFolderId, 'Report.PDF');
        const v2 = outcome(await steps.addFileVersion({
          fileId: file.id, blobKey: newBlobKey(), size: 2, sha1: sha1('v2'), now: T0 + 1,
        }), 'created');
        expect(v2.name).toBe('Report.PDF');
        expect(await store.findChild(alice.rootFolderId, nameKey('Report.PDF'))).toEqual(v2);
        const clash = await steps.createFile({
          ownerId: alice.id, parentId: alice.rootFolderId, name: 'report.pdf', nameKey: nameKey('report.pdf'), now: T0 + 2,
          blobKey: newBlobKey(), size: 3, sha1: sha1('other'),
        });
        expect(clash).toEqual({ conflict: v2 });
        expect((await store.listChildren(alice.rootFolderId, 0, 10)).total).toBe(1);
      });

      it('addFileVersion with an If-Match of the current etag succeeds, with a stale one fails and changes nothing', async () => {
        const alice = await store.ensureUser('alice', T0);
        const file = await fileIn(alice, alice.rootFolderId, 'doc.txt');
        const v2 = outcome(await steps.addFileVersion({
          fileId: file.id, ifMatch: '0', blobKey: newBlobKey(), size: 2, sha1: sha1('2'), now: T0 + 1,
        }), 'created');
        expect(v2.etag).toBe(1);

        const stale = await steps.addFileVersion({
          fileId: file.id, ifMatch: '0', blobKey: newBlobKey(), size: 3, sha1: sha1('3'), now: T0 + 2,
        });
        expect(stale).toEqual({ preconditionFailed: v2 });
        expect(await store.getItem(file.id)).toEqual(v2);
      });

      it('addFileVersion of a missing file, or of a folder, returns fileMissing', async () => {
        const alice = await store.ensureUser('alice', T0);
        const folder = await folderIn(alice, alice.rootFolderId, 'f');
        for (const fileId of ['987654321', folder.id]) {
          expect(await steps.addFileVersion({ fileId, blobKey: newBlobKey(), size: 1, sha1: sha1('1'), now: T0 }))
            .toEqual({ fileMissing: true });
        }
      });

      it('getFileVersion returns old and current versions, and nothing for another file\'s version', async () => {
        const alice = await store.ensureUser('alice', T0);
        const v1Key = newBlobKey();
        const file = await fileIn(alice, alice.rootFolderId, 'doc.txt', { size: 11, blobKey: v1Key, now: T0 });
        const v2Key = newBlobKey();
        const v2 = outcome(await steps.addFileVersion({
          fileId: file.id, blobKey: v2Key, size: 22, sha1: sha1('v2'), now: T0 + 5,
        }), 'created');

        expect(await store.getFileVersion(file.id, file.versionId)).toEqual({
          id: file.versionId, fileId: file.id, blobKey: v1Key, size: 11, sha1: file.sha1, createdAt: T0,
        });
        expect(await store.getFileVersion(file.id, v2.versionId)).toEqual({
          id: v2.versionId, fileId: file.id, blobKey: v2Key, size: 22, sha1: sha1('v2'), createdAt: T0 + 5,
        });
        const other = await fileIn(alice, alice.rootFolderId, 'other.txt');
        expect(await store.getFileVersion(other.id, file.versionId)).toBeUndefined();
        expect(await store.getFileVersion(file.id, other.versionId)).toBeUndefined();
        expect(await store.getFileVersion(file.id, '987654321')).toBeUndefined();
      });

      it('deleting a file for good removes it and queues the blob of every version as garbage', async () => {
        const alice = await store.ensureUser('alice', T0);
        const keys = [newBlobKey(), newBlobKey(), newBlobKey()];
        const file = await fileIn(alice, alice.rootFolderId, 'doc.txt', { blobKey: keys[0] });
        await steps.addFileVersion({ fileId: file.id, blobKey: keys[1]!, size: 2, sha1: sha1('2'), now: T0 + 1 });
        await steps.addFileVersion({ fileId: file.id, blobKey: keys[2]!, size: 3, sha1: sha1('3'), now: T0 + 2 });
        const keep = await fileIn(alice, alice.rootFolderId, 'keep.txt');

        await deleteForGood(file);
        expect(await store.getItem(file.id)).toBeUndefined();
        expect(await store.findChild(alice.rootFolderId, 'doc.txt')).toBeUndefined();
        expect(await store.getFileVersion(file.id, file.versionId)).toBeUndefined();
        expect(await store.listChildren(alice.rootFolderId, 0, 10)).toEqual({ total: 1, entries: [keep] });
        expect(await garbageDue(T0)).toEqual(keys.map((ref) => ({ kind: 'blob', ref })).sort(byRef));
      });

      it('the name of a file deleted for good can be used again', async () => {
        const alice = await store.ensureUser('alice', T0);
        const file = await fileIn(alice, alice.rootFolderId, 'doc.txt');
        await deleteForGood(file);
        const again = await fileIn(alice, alice.rootFolderId, 'DOC.txt');
        expect(again.id).not.toBe(file.id);
      });
    });

    // ---- storage use and quota -----------------------------------------------------------------

    describe('storage use and quota', () => {
      it('storageUsed counts every version of the user\'s files plus the declared sizes of active sessions', async () => {
        const alice = await store.ensureUser('alice', T0);
        const bob = await store.ensureUser('bob', T0);
        expect(await store.storageUsed(alice.id)).toBe(0);
        const sub = await folderIn(alice, alice.rootFolderId, 'sub');
        const file = await fileIn(alice, alice.rootFolderId, 'a', { size: 1000 });
        await steps.addFileVersion({ fileId: file.id, blobKey: newBlobKey(), size: 300, sha1: sha1('v2'), now: T0 });
        await fileIn(alice, sub.id, 'b', { size: 20 });
        await openSession(alice, { fileSize: 40_000_000 });
        await fileIn(bob, bob.rootFolderId, 'bobs', { size: 5_000 });
        await openSession(bob, { fileSize: 7_000_000 });

        expect(await store.storageUsed(alice.id)).toBe(1000 + 300 + 20 + 40_000_000);
        expect(await store.storageUsed(bob.id)).toBe(5_000 + 7_000_000);
      });

      it('storageUsed stops counting sessions once they end and files once they are deleted', async () => {
        const alice = await store.ensureUser('alice', T0);
        const file = await fileIn(alice, alice.rootFolderId, 'a', { size: 1000 });
        const aborted = await openSession(alice, { fileSize: 30_000_000 });
        const expired = await openSession(alice, { fileSize: 20_000_000, expiresAt: T0 + 1 });
        const committed = await joinedSession(alice, { fileSize: 25_000_000, fileName: 'big.bin' });
        expect(await store.storageUsed(alice.id)).toBe(1000 + 30_000_000 + 20_000_000 + 25_000_000);

        await store.abortSession(aborted.id);
        expect(await store.storageUsed(alice.id)).toBe(1000 + 20_000_000 + 25_000_000);
        expect(await store.expireSessions(T0 + 2, 10)).toBe(1);
        expect(await store.getSession(expired.id)).toMatchObject({ state: 'expired' });
        expect(await store.storageUsed(alice.id)).toBe(1000 + 25_000_000);
        // The committed session's bytes now count once, as the new file's version.
        outcome(await commit(committed.id, 'big.bin'), 'committed');
        expect(await store.storageUsed(alice.id)).toBe(1000 + 25_000_000);
        await deleteForGood(file);
        expect(await store.storageUsed(alice.id)).toBe(25_000_000);
      });

      it('createSession is refused with the storage used when the session would pass the quota', async () => {
        const alice = await store.ensureUser('alice', T0);
        await fileIn(alice, alice.rootFolderId, 'a', { size: 1_000_000 });
        await openSession(alice, { fileSize: 30_000_000 });
        const used = 31_000_000;

        const tooBig = sessionFor(alice, { fileSize: 20_000_001 });
        expect(await steps.createSession(tooBig, { quota: 51_000_000, maxOpenSessions: null })).toEqual({ quotaExceeded: used });
        expect(await store.getSession(tooBig.id)).toBeUndefined();
        expect(await store.storageUsed(alice.id)).toBe(used);

        const fits = sessionFor(alice, { fileSize: 20_000_000 });
        expect(await steps.createSession(fits, { quota: 51_000_000, maxOpenSessions: null })).toEqual({ created: true });
        expect(await store.getSession(fits.id)).toEqual(fits);
        expect(await store.storageUsed(alice.id)).toBe(51_000_000);

        const unlimited = sessionFor(alice, { fileSize: 900_000_000 });
        expect(await steps.createSession(unlimited, NO_LIMITS)).toEqual({ created: true });
      });

      it('createFile and addFileVersion are refused with the storage used when the bytes would pass the quota, racing ones too', async () => {
        const alice = await store.ensureUser('alice', T0);
        const file = await fileIn(alice, alice.rootFolderId, 'a', { size: 1_000 });
        await openSession(alice, { fileSize: 10_000 });
        const used = 11_000;
        const newFile = (fileName: string, size: number) => ({
          ownerId: alice.id, parentId: alice.rootFolderId, name: fileName, nameKey: nameKey(fileName), now: T0,
          blobKey: newBlobKey(), size, sha1: sha1(fileName),
        });
        const newVersion = (size: number) => ({ fileId: file.id, blobKey: newBlobKey(), size, sha1: sha1(`v${size}`), now: T0 });

        expect(await steps.createFile(newFile('big', 9_001), 20_000)).toEqual({ quotaExceeded: used });
        expect(await store.findChild(alice.rootFolderId, nameKey('big'))).toBeUndefined();
        expect(await steps.addFileVersion(newVersion(9_001), { ownerId: alice.id, quota: 20_000 })).toEqual({ quotaExceeded: used });
        expect(await store.getItem(file.id)).toEqual(file);
        expect(await store.storageUsed(alice.id)).toBe(used);

        // Two uploads racing for the last 9,000 bytes: one gets them.
        const racing = await Promise.all([
          steps.createFile(newFile('one', 6_000), 20_000),
          steps.addFileVersion(newVersion(6_000), { ownerId: alice.id, quota: 20_000 }),
          steps.createFile(newFile('two', 6_000), 20_000),
        ]);
        expect(racing.filter((result) => 'created' in result)).toHaveLength(1);
        expect(racing.filter((result) => 'quotaExceeded' in result)).toHaveLength(2);
        expect(await store.storageUsed(alice.id)).toBe(used + 6_000);
        outcome(await steps.createFile(newFile('fits', 3_000), 20_000), 'created');
        outcome(await steps.createFile(newFile('unlimited', 90_000_000)), 'created');
      });

      it('the quota of one user is not used up by another user\'s files', async () => {
        const alice = await store.ensureUser('alice', T0);
        const bob = await store.ensureUser('bob', T0);
        await fileIn(bob, bob.rootFolderId, 'huge', { size: 90_000_000 });
        expect(await steps.createSession(sessionFor(alice, { fileSize: 50_000_000 }), { quota: 50_000_000, maxOpenSessions: null })).toEqual({ created: true });
      });

      it('createSession is refused when the user already has the most open sessions allowed, counting only active ones', async () => {
        const alice = await store.ensureUser('alice', T0);
        const bob = await store.ensureUser('bob', T0);
        const limits = { quota: null, maxOpenSessions: 2 };
        expect(await steps.createSession(sessionFor(alice), limits)).toEqual({ created: true });
        const second = sessionFor(alice);
        expect(await steps.createSession(second, limits)).toEqual({ created: true });
        const third = sessionFor(alice);
        expect(await steps.createSession(third, limits)).toEqual({ tooManySessions: 2 });
        expect(await store.getSession(third.id)).toBeUndefined();
        expect(await steps.createSession(sessionFor(bob), limits)).toEqual({ created: true });
        await store.abortSession(second.id);
        expect(await steps.createSession(third, limits)).toEqual({ created: true });
        const racing = await Promise.all([0, 1, 2].map(() => steps.createSession(sessionFor(bob), limits)));
        expect(racing.filter((result) => 'created' in result)).toHaveLength(1);
      });

      it('concurrent sessions cannot together pass the quota', async () => {
        const alice = await store.ensureUser('alice', T0);
        const results = await Promise.all([0, 1, 2].map(() => steps.createSession(sessionFor(alice, { fileSize: 40_000_000 }), { quota: 100_000_000, maxOpenSessions: null })));
        expect(results.filter((r) => 'created' in r)).toHaveLength(2);
        expect(results.filter((r) => 'quotaExceeded' in r)).toEqual([{ quotaExceeded: 80_000_000 }]);
        expect(await store.storageUsed(alice.id)).toBe(80_000_000);
      });
    });

    // ---- sessions and parts --------------------------------------------------------------------

    describe('upload sessions and parts', () => {
      it('getSession returns a session as it was created, and undefined for an unknown id', async () => {
        const alice = await store.ensureUser('alice', T0);
        const file = await fileIn(alice, alice.rootFolderId, 'doc.bin');
        const forFile = await openSession(alice, { fileId: file.id, folderId: file.parentId, fileName: 'doc.bin' });
        const forFolder = await openSession(alice);
        expect(await store.getSession(forFile.id)).toEqual(forFile);
        expect(await store.getSession(forFolder.id)).toEqual(forFolder);
        expect(await store.getSession(newSessionId())).toBeUndefined();
      });

      it('recordPart: the first writer of an offset wins and later writers get the stored part', async () => {
        const alice = await store.ensureUser('alice', T0);
        const session = await openSession(alice);
        const first = partOf(session, 0);
        expect(await store.recordPart(first)).toEqual({ recorded: first });
        const second = partOf(session, 0, { sha1: sha1('different bytes'), createdAt: T0 + 2000 });
        expect(await store.recordPart(second)).toEqual({ existing: first });
        expect(await store.getPart(session.id, 0)).toEqual(first);
        expect((await store.getSession(session.id))?.partsStored).toBe(1);
      });

      it('recordPart counts the parts stored, and getPart finds each by offset', async () => {
        const alice = await store.ensureUser('alice', T0);
        const session = await openSession(alice);
        const parts = [2, 0, 5, 1].map((i) => partOf(session, i * session.partSize));
        for (const part of parts) expect(await store.recordPart(part)).toEqual({ recorded: part });
        expect((await store.getSession(session.id))?.partsStored).toBe(4);
        for (const part of parts) expect(await store.getPart(session.id, part.offset)).toEqual(part);
        expect(await store.getPart(session.id, 3 * session.partSize)).toBeUndefined();
      });

      it('concurrent recordPart calls for one offset record exactly one part', async () => {
        const alice = await store.ensureUser('alice', T0);
        const session = await openSession(alice);
        const attempts = [0, 1, 2, 3].map(() => partOf(session, session.partSize));
        const results = await Promise.all(attempts.map((part) => store.recordPart(part)));
        const recorded = results.flatMap((r) => ('recorded' in r ? [r.recorded] : []));
        expect(recorded).toHaveLength(1);
        for (const r of results) if ('existing' in r) expect(r.existing).toEqual(recorded[0]);
        expect((await store.getSession(session.id))?.partsStored).toBe(1);
        expect(await store.getPart(session.id, session.partSize)).toEqual(recorded[0]);
      });

      it('recordPart on an aborted, expired, committed or unknown session returns notActive', async () => {
        const alice = await store.ensureUser('alice', T0);
        const aborted = await openSession(alice);
        await store.abortSession(aborted.id);
        const expired = await openSession(alice, { expiresAt: T0 + 1 });
        await store.expireSessions(T0 + 2, 10);
        const committed = await joinedSession(alice);
        outcome(await commit(committed.id), 'committed');

        for (const session of [aborted, expired, committed]) {
          const result = await store.recordPart(partOf(session, 0));
          const notActive = outcome(result, 'notActive');
          expect(notActive).toMatchObject({ id: session.id });
          expect(notActive?.state).not.toBe('active');
          expect(await store.getPart(session.id, 0)).toBeUndefined();
        }
        const unknown = partOf(sessionFor(alice), 0);
        expect(await store.recordPart(unknown)).toEqual({ notActive: undefined });
      });

      it('listParts returns the parts sorted by offset, with the total and paging', async () => {
        const alice = await store.ensureUser('alice', T0);
        const session = await openSession(alice);
        const other = await openSession(alice);
        const order = [4, 1, 5, 0, 3, 2];
        const parts = order.map((i) => partOf(session, i * session.partSize));
        for (const part of parts) await store.recordPart(part);
        const otherPart = partOf(other, 0);
        await store.recordPart(otherPart);
        const sorted = [...parts].sort((a, b) => a.offset - b.offset);

        expect(await store.listParts(session.id, 0, 100)).toEqual({ total: 6, entries: sorted });
        expect(await store.listParts(session.id, 0, 4)).toEqual({ total: 6, entries: sorted.slice(0, 4) });
        expect(await store.listParts(session.id, 4, 4)).toEqual({ total: 6, entries: sorted.slice(4) });
        expect(await store.listParts(session.id, 6, 4)).toEqual({ total: 6, entries: [] });
        expect(await store.listParts(other.id, 0, 100)).toEqual({ total: 1, entries: [otherPart] });
        expect(await store.listParts(newSessionId(), 0, 100)).toEqual({ total: 0, entries: [] });
      });

      it('claimPartWrite starts a write only while no other write holds its slot: one writer per slot, racing claims too', async () => {
        const alice = await store.ensureUser('alice', T0);
        const session = await openSession(alice);
        const other = await openSession(alice);
        const P = session.partSize;
        const write = (writeId: string, sessionId: string, offset: number, expiresAt = T0 + 60_000) => ({ writeId, sessionId, offset, expiresAt });

        const racing = await Promise.all(['a', 'b', 'c'].map((id) => store.claimPartWrite(write(id, session.id, 0), T0)));
        expect(racing.filter(Boolean)).toHaveLength(1);
        expect(await store.claimPartWrite(write('d', session.id, P), T0)).toBe(true);
        expect(await store.claimPartWrite(write('e', other.id, 0), T0)).toBe(true);
        expect(await store.partWritesInFlight(session.id, T0)).toEqual(expect.arrayContaining([0, P]));

        const holder = ['a', 'b', 'c'][racing.indexOf(true)]!;
        await store.endPartWrite(holder);
        expect(await store.claimPartWrite(write('f', session.id, 0, T0 + 1000), T0)).toBe(true);
        // A writer that died with its node holds the slot only until its lease ends.
        expect(await store.claimPartWrite(write('g', session.id, 0), T0 + 999)).toBe(false);
        expect(await store.claimPartWrite(write('h', session.id, 0), T0 + 1000)).toBe(true);
      });

      it('partWritesInFlight lists the offsets of writes claimed and not ended or expired, per session', async () => {
        const alice = await store.ensureUser('alice', T0);
        const session = await openSession(alice);
        const other = await openSession(alice);
        const P = session.partSize;
        const claim = (writeId: string, sessionId: string, offset: number, expiresAt = T0 + 60_000) =>
          store.claimPartWrite({ writeId, sessionId, offset, expiresAt }, T0);
        expect(await claim('w1', session.id, 0)).toBe(true);
        expect(await claim('w2', session.id, 2 * P)).toBe(true);
        expect(await claim('w3', session.id, 3 * P, T0 - 1)).toBe(true);
        expect(await claim('w4', other.id, P)).toBe(true);
        // A second attempt at an offset in flight is not started.
        expect(await claim('w5', session.id, 0)).toBe(false);

        const inFlight = async (id: string, now: Millis) => [...new Set(await store.partWritesInFlight(id, now))].sort((a, b) => a - b);
        expect(await inFlight(session.id, T0)).toEqual([0, 2 * P]);
        expect(await inFlight(other.id, T0)).toEqual([P]);

        await store.endPartWrite('w5');
        expect(await inFlight(session.id, T0)).toEqual([0, 2 * P]);
        await store.endPartWrite('w1');
        expect(await inFlight(session.id, T0)).toEqual([2 * P]);
        expect(await inFlight(session.id, T0 + 60_001)).toEqual([]);
        await store.endPartWrite('w2');
        await store.endPartWrite('w2');
        await store.endPartWrite('never-started');
        expect(await inFlight(session.id, T0)).toEqual([]);
        expect(await inFlight(other.id, T0)).toEqual([P]);
      });
    });

    // ---- commit --------------------------------------------------------------------------------

    describe('setSessionContent and commitSession', () => {
      it('setSessionContent remembers the joined blob of an active session', async () => {
        const alice = await store.ensureUser('alice', T0);
        const session = await openSession(alice);
        expect(await store.setSessionContent(session.id, asBlobKey('blob-key'), sha1('content'))).toBe(true);
        expect(await store.getSession(session.id)).toEqual({ ...session, blobKey: 'blob-key', contentSha1: sha1('content') });
      });

      it('setSessionContent returns false for an aborted, committed or unknown session and changes nothing', async () => {
        const alice = await store.ensureUser('alice', T0);
        const aborted = await openSession(alice);
        await store.abortSession(aborted.id);
        const committed = await joinedSession(alice);
        outcome(await commit(committed.id), 'committed');
        for (const session of [aborted, committed]) {
          const before = await store.getSession(session.id);
          expect(await store.setSessionContent(session.id, newBlobKey(), sha1('other'))).toBe(false);
          expect(await store.getSession(session.id)).toEqual(before);
        }
        expect(await store.setSessionContent(newSessionId(), newBlobKey(), sha1('x'))).toBe(false);
      });

      it('committing a new-file session creates exactly one file with the session\'s content', async () => {
        const alice = await store.ensureUser('alice', T0);
        const folder = await folderIn(alice, alice.rootFolderId, 'uploads');
        const session = await joinedSession(alice, { folderId: folder.id, fileName: 'Big Movie.mkv', fileSize: 60_000_000 });
        const result = await steps.commitSession({
          sessionId: session.id, nameKey: nameKey('Big Movie.mkv'), now: T0 + HOUR, description: 'the movie',
          contentCreatedAt: T0 - 5000, contentModifiedAt: T0 - 4000,
        });
        const file = outcome(result, 'committed');
        expect(file).toMatchObject({
          type: 'file', ownerId: alice.id, parentId: folder.id, name: 'Big Movie.mkv', size: 60_000_000,
          sha1: session.contentSha1, blobKey: session.blobKey, etag: 0, description: 'the movie',
          createdAt: T0 + HOUR, modifiedAt: T0 + HOUR, contentCreatedAt: T0 - 5000, contentModifiedAt: T0 - 4000,
        });
        expect(await store.getItem(file.id)).toEqual(file);
        expect(await store.listChildren(folder.id, 0, 10)).toEqual({ total: 1, entries: [file] });
        expect(await store.getFileVersion(file.id, file.versionId)).toMatchObject({ blobKey: session.blobKey, size: 60_000_000 });
        expect(await store.getSession(session.id)).toEqual({ ...session, state: 'committed', committedFileId: file.id });
      });

      it('committing a committed session again returns alreadyCommitted and creates nothing', async () => {
        const alice = await store.ensureUser('alice', T0);
        const session = await joinedSession(alice);
        const file = outcome(await commit(session.id), 'committed');
        const again = await commit(session.id, 'upload.bin', { now: T0 + 2 * HOUR });
        expect(again).toEqual({ alreadyCommitted: { ...session, state: 'committed', committedFileId: file.id } });
        expect((await store.listChildren(alice.rootFolderId, 0, 10)).total).toBe(1);
        expect(await store.getItem(file.id)).toEqual(file);
      });

      it('concurrent commits of one session produce exactly one file', async () => {
        const alice = await store.ensureUser('alice', T0);
        const session = await joinedSession(alice);
        const results = await Promise.all([commit(session.id), commit(session.id), commit(session.id)]);
        const committed = results.flatMap((r) => ('committed' in r ? [r.committed] : []));
        expect(committed).toHaveLength(1);
        for (const r of results) {
          if (!('committed' in r)) expect(outcome(r, 'alreadyCommitted').committedFileId).toBe(committed[0]!.id);
        }
        expect((await store.listChildren(alice.rootFolderId, 0, 10)).entries).toEqual(committed);
        expect(await store.storageUsed(alice.id)).toBe(session.fileSize);
      });

      it('concurrent commits of two sessions for one name create one file; the other session stays active', async () => {
        const alice = await store.ensureUser('alice', T0);
        const a = await joinedSession(alice, { fileName: 'same.bin' });
        const b = await joinedSession(alice, { fileName: 'SAME.bin' });
        const [ra, rb] = await Promise.all([commit(a.id, 'same.bin'), commit(b.id, 'SAME.bin')]);
        const results = [ra, rb];
        const committed = results.flatMap((r) => ('committed' in r ? [r.committed] : []));
        expect(committed).toHaveLength(1);
        const loser = 'committed' in ra ? rb : ra;
        expect(loser).toEqual({ conflict: committed[0] });
        const loserId = 'committed' in ra ? b.id : a.id;
        expect((await store.getSession(loserId))?.state).toBe('active');
        expect((await store.listChildren(alice.rootFolderId, 0, 10)).total).toBe(1);
      });

      it('a name conflict at commit returns the conflicting item and leaves the session active with its content', async () => {
        const alice = await store.ensureUser('alice', T0);
        const session = await joinedSession(alice, { fileName: 'Report.pdf' });
        const squatter = await fileIn(alice, alice.rootFolderId, 'report.PDF');
        expect(await commit(session.id, 'Report.pdf')).toEqual({ conflict: squatter });
        expect(await store.getSession(session.id)).toEqual(session);

        // Once the name is free again, the same session commits.
        await deleteForGood(squatter);
        const file = outcome(await commit(session.id, 'Report.pdf'), 'committed');
        expect(file).toMatchObject({ name: 'Report.pdf', blobKey: session.blobKey });
      });

      it('committing a new-file session whose folder does not exist returns targetMissing', async () => {
        const alice = await store.ensureUser('alice', T0);
        const session = await joinedSession(alice, { folderId: '987654321' });
        expect(await commit(session.id)).toEqual({ targetMissing: true });
        expect((await store.getSession(session.id))?.state).toBe('active');
      });

      it('committing a version session adds a version to the file and increments its etag', async () => {
        const alice = await store.ensureUser('alice', T0);
        const folder = await folderIn(alice, alice.rootFolderId, 'f');
        const file = await fileIn(alice, folder.id, 'data.bin', { size: 10 });
        const session = await joinedSession(alice, { fileId: file.id, folderId: folder.id, fileName: 'data.bin', fileSize: 30_000_000 });
        const updated = outcome(await commit(session.id, 'data.bin', { ifMatch: '0' }), 'committed');
        expect(updated).toMatchObject({
          id: file.id, parentId: folder.id, name: 'data.bin', etag: 1, size: 30_000_000, sha1: session.contentSha1,
          blobKey: session.blobKey, modifiedAt: T0 + HOUR,
        });
        expect(updated.versionId).not.toBe(file.versionId);
        expect(await store.getFileVersion(file.id, file.versionId)).toMatchObject({ size: 10, blobKey: file.blobKey });
        expect(await store.listChildren(folder.id, 0, 10)).toEqual({ total: 1, entries: [updated] });
        expect(await store.getSession(session.id)).toMatchObject({ state: 'committed', committedFileId: file.id });
        expect(await store.storageUsed(alice.id)).toBe(10 + 30_000_000);
      });

      it('committing a version session with a new file name renames the file', async () => {
        const alice = await store.ensureUser('alice', T0);
        const file = await fileIn(alice, alice.rootFolderId, 'draft.txt');
        const session = await joinedSession(alice, { fileId: file.id, folderId: file.parentId, fileName: 'Final.txt' });
        const updated = outcome(await commit(session.id, 'Final.txt'), 'committed');
        expect(updated).toMatchObject({ id: file.id, name: 'Final.txt', etag: 1 });
        expect(await store.findChild(alice.rootFolderId, 'final.txt')).toEqual(updated);
        expect(await store.findChild(alice.rootFolderId, 'draft.txt')).toBeUndefined();
      });

      it('committing a version session under a name taken by another item returns conflict', async () => {
        const alice = await store.ensureUser('alice', T0);
        const file = await fileIn(alice, alice.rootFolderId, 'draft.txt');
        const taken = await folderIn(alice, alice.rootFolderId, 'final.txt');
        const session = await joinedSession(alice, { fileId: file.id, folderId: file.parentId, fileName: 'Final.txt' });
        expect(await commit(session.id, 'Final.txt')).toEqual({ conflict: taken });
        expect(await store.getItem(file.id)).toEqual(file);
        expect((await store.getSession(session.id))?.state).toBe('active');
      });

      it('committing a version session with a stale If-Match returns preconditionFailed and leaves it active', async () => {
        const alice = await store.ensureUser('alice', T0);
        const file = await fileIn(alice, alice.rootFolderId, 'data.bin');
        const session = await joinedSession(alice, { fileId: file.id, folderId: file.parentId, fileName: 'data.bin' });
        const v2 = outcome(await steps.addFileVersion({
          fileId: file.id, blobKey: newBlobKey(), size: 5, sha1: sha1('v2'), now: T0 + 1,
        }), 'created');
        expect(await commit(session.id, 'data.bin', { ifMatch: '0' })).toEqual({ preconditionFailed: v2 });
        expect(await store.getItem(file.id)).toEqual(v2);
        expect(await store.getSession(session.id)).toEqual(session);
        expect(outcome(await commit(session.id, 'data.bin', { ifMatch: '1' }), 'committed').etag).toBe(2);
      });

      it('committing a version session whose file was deleted returns targetMissing', async () => {
        const alice = await store.ensureUser('alice', T0);
        const file = await fileIn(alice, alice.rootFolderId, 'data.bin');
        const session = await joinedSession(alice, { fileId: file.id, folderId: file.parentId, fileName: 'data.bin' });
        await deleteForGood(file);
        expect(await commit(session.id, 'data.bin')).toEqual({ targetMissing: true });
        expect(await store.getItem(file.id)).toBeUndefined();
        expect((await store.listChildren(alice.rootFolderId, 0, 10)).total).toBe(0);
      });

      it('committing a session without content, or an aborted or expired one, returns notActive', async () => {
        const alice = await store.ensureUser('alice', T0);
        const empty = await openSession(alice, { fileName: 'a.bin' });
        expect(await commit(empty.id, 'a.bin')).toEqual({ notActive: empty });

        const aborted = await joinedSession(alice, { fileName: 'b.bin' });
        await store.abortSession(aborted.id);
        expect(outcome(await commit(aborted.id, 'b.bin'), 'notActive')).toMatchObject({ id: aborted.id, state: 'aborted' });

        const expired = await joinedSession(alice, { fileName: 'c.bin', expiresAt: T0 + 1 });
        await store.expireSessions(T0 + 2, 10);
        expect(outcome(await commit(expired.id, 'c.bin'), 'notActive')).toMatchObject({ id: expired.id, state: 'expired' });

        expect((await store.listChildren(alice.rootFolderId, 0, 10)).total).toBe(0);
      });

      it('committing an unknown session returns notFound', async () => {
        expect(await commit(newSessionId())).toEqual({ notFound: true });
      });
    });

    // ---- abort and expiry ----------------------------------------------------------------------

    describe('abortSession and expireSessions', () => {
      it('abortSession returns the session as it was, marks it aborted and queues its upload once', async () => {
        const alice = await store.ensureUser('alice', T0);
        const session = await joinedSession(alice);
        await store.recordPart(partOf(session, 0));
        expect(await store.abortSession(session.id)).toEqual({ ...session, partsStored: 1 });
        expect((await store.getSession(session.id))?.state).toBe('aborted');
        expect(await garbageDue(T0)).toEqual([{ kind: 'upload', ref: session.uploadRef }]);
      });

      it('aborting an aborted session returns it as aborted and queues nothing more', async () => {
        const alice = await store.ensureUser('alice', T0);
        const session = await openSession(alice);
        await store.abortSession(session.id);
        expect(await store.abortSession(session.id)).toMatchObject({ id: session.id, state: 'aborted' });
        expect(await store.claimGarbage(T0, 1, 100)).toHaveLength(1);
      });

      it('abortSession leaves a committed session committed and its bytes in place', async () => {
        const alice = await store.ensureUser('alice', T0);
        const session = await joinedSession(alice);
        const file = outcome(await commit(session.id), 'committed');
        const before = await store.getSession(session.id);
        expect(await store.abortSession(session.id)).toEqual(before);
        expect(await store.getSession(session.id)).toEqual(before);
        expect(before).toMatchObject({ state: 'committed', committedFileId: file.id });
        expect(await garbageDue(T0)).toEqual([]);
        expect(await store.getItem(file.id)).toEqual(file);
      });

      it('abortSession of an unknown session returns undefined', async () => {
        expect(await store.abortSession(newSessionId())).toBeUndefined();
        expect(await garbageDue(T0)).toEqual([]);
      });

      it('uploadUsage names the parts an active or committed session recorded, and whether a file version reads the upload\'s joined blob', async () => {
        const alice = await store.ensureUser('alice', T0);
        const session = await openSession(alice);
        expect(await store.uploadUsage(session.uploadRef)).toEqual({ recordedPartRefs: [], isFileBlob: false });
        await store.recordPart({ sessionId: session.id, offset: 0, size: session.partSize, sha1: 'a'.repeat(40), partId: 'AAAAAAAA', partRef: asPartRef('ref-one'), createdAt: T0 });
        expect(await store.uploadUsage(session.uploadRef)).toEqual({ recordedPartRefs: ['ref-one'], isFileBlob: false });
        const aborted = await openSession(alice);
        await store.abortSession(aborted.id);
        expect(await store.uploadUsage(aborted.uploadRef)).toEqual({ recordedPartRefs: null, isFileBlob: false });
        const file = await fileIn(alice, alice.rootFolderId, 'simple.bin');
        expect(await store.uploadUsage(newUploadRef(), file.blobKey)).toEqual({ recordedPartRefs: null, isFileBlob: true });
        expect(await store.uploadUsage(newUploadRef(), newBlobKey())).toEqual({ recordedPartRefs: null, isFileBlob: false });
        expect(await store.uploadUsage(asUploadRef('nothing-refers-to-this'))).toEqual({ recordedPartRefs: null, isFileBlob: false });
      });

      it('countOpenSessions counts active sessions not yet past their expiry, of every user', async () => {
        const alice = await store.ensureUser('alice', T0);
        const bob = await store.ensureUser('bob', T0);
        const now = T0 + 10 * HOUR;
        await openSession(alice, { expiresAt: now + HOUR });
        await openSession(bob, { expiresAt: now + HOUR });
        await openSession(alice, { expiresAt: now - 1 });
        const aborted = await openSession(alice, { expiresAt: now + HOUR });
        await store.abortSession(aborted.id);
        const committed = await joinedSession(bob, { expiresAt: now + HOUR, fileName: 'counted.bin' });
        outcome(await commit(committed.id, 'counted.bin'), 'committed');
        expect(await store.countOpenSessions(now)).toBe(2);
      });

      it('expireSessions expires only active sessions past their expiry and queues their uploads', async () => {
        const alice = await store.ensureUser('alice', T0);
        const now = T0 + 10 * HOUR;
        const due1 = await openSession(alice, { expiresAt: T0 + HOUR });
        const due2 = await joinedSession(alice, { expiresAt: now - 1, fileName: 'due2.bin' });
        const future = await openSession(alice, { expiresAt: now + HOUR });
        const committed = await joinedSession(alice, { expiresAt: T0 + HOUR, fileName: 'done.bin' });
        outcome(await commit(committed.id, 'done.bin'), 'committed');
        const aborted = await openSession(alice, { expiresAt: T0 + HOUR });
        await store.abortSession(aborted.id);
        // Only the abort's entry is queued so far; take it out of the way.
        for (const entry of await store.claimGarbage(T0, 1, 100)) await store.deleteGarbage(entry.id);

        expect(await store.expireSessions(now, 100)).toBe(2);
        expect((await store.getSession(due1.id))?.state).toBe('expired');
        expect((await store.getSession(due2.id))?.state).toBe('expired');
        expect((await store.getSession(future.id))?.state).toBe('active');
        expect((await store.getSession(committed.id))?.state).toBe('committed');
        expect((await store.getSession(aborted.id))?.state).toBe('aborted');
        expect(await garbageDue(now)).toEqual(
          [{ kind: 'upload', ref: due1.uploadRef }, { kind: 'upload', ref: due2.uploadRef }].sort(byRef));

        expect(await store.expireSessions(now, 100)).toBe(0);
        expect(await store.claimGarbage(now + 10, 1, 100)).toHaveLength(2);
      });

      it('expireSessions handles at most `limit` sessions per call', async () => {
        const alice = await store.ensureUser('alice', T0);
        const sessions = [];
        for (let i = 0; i < 5; i++) sessions.push(await openSession(alice, { expiresAt: T0 + i }));
        const now = T0 + HOUR;
        expect(await store.expireSessions(now, 2)).toBe(2);
        expect(await store.expireSessions(now, 2)).toBe(2);
        expect(await store.expireSessions(now, 2)).toBe(1);
        expect(await store.expireSessions(now, 2)).toBe(0);
        for (const session of sessions) expect((await store.getSession(session.id))?.state).toBe('expired');
        expect((await garbageDue(now)).map((g) => g.ref)).toEqual(sessions.map((s) => s.uploadRef).sort());
      });
    });

    // ---- garbage -------------------------------------------------------------------------------

    describe('garbage', () => {
      it('claimGarbage leases each entry: a second claim within the lease gets nothing, one after it gets it again', async () => {
        const alice = await store.ensureUser('alice', T0);
        const session = await openSession(alice);
        await store.abortSession(session.id);
        const file = await fileIn(alice, alice.rootFolderId, 'a');
        await deleteForGood(file);

        const lease = 60_000;
        const claimed = await store.claimGarbage(T0, lease, 100);
        expect(claimed.map(({ kind, ref }) => ({ kind, ref })).sort(byRef)).toEqual(
          [{ kind: 'upload', ref: session.uploadRef }, { kind: 'blob', ref: file.blobKey }].sort(byRef));
        expect(new Set(claimed.map((g) => g.id)).size).toBe(2);
        for (const entry of claimed) expect(typeof entry.id).toBe('string');

        expect(await store.claimGarbage(T0 + 1, lease, 100)).toEqual([]);
        expect(await store.claimGarbage(T0 + lease - 1, lease, 100)).toEqual([]);
        const again = await store.claimGarbage(T0 + lease + 1, lease, 100);
        expect(again.sort(byRef)).toEqual([...claimed].sort(byRef));
        // The new lease runs from the second claim.
        expect(await store.claimGarbage(T0 + lease + 2, lease, 100)).toEqual([]);
      });

      it('deleteGarbage removes an entry for good', async () => {
        const alice = await store.ensureUser('alice', T0);
        const a = await openSession(alice);
        const b = await openSession(alice);
        await store.abortSession(a.id);
        await store.abortSession(b.id);
        const claimed = await store.claimGarbage(T0, 1000, 100);
        const gone = claimed.find((g) => g.ref === a.uploadRef)!;
        await store.deleteGarbage(gone.id);
        await store.deleteGarbage(gone.id);
        expect(await store.claimGarbage(T0 + 10_000, 1000, 100)).toEqual([{ id: expect.any(String), kind: 'upload', ref: b.uploadRef }]);
      });

      it('claimGarbage hands out at most `limit` entries, and successive claims get different ones', async () => {
        const alice = await store.ensureUser('alice', T0);
        const refs = [];
        for (let i = 0; i < 5; i++) {
          const session = await openSession(alice);
          await store.abortSession(session.id);
          refs.push(session.uploadRef);
        }
        const first = await store.claimGarbage(T0, 60_000, 2);
        const second = await store.claimGarbage(T0, 60_000, 2);
        const third = await store.claimGarbage(T0, 60_000, 2);
        expect([first.length, second.length, third.length]).toEqual([2, 2, 1]);
        expect([...first, ...second, ...third].map((g) => g.ref).sort()).toEqual(refs.sort());
        expect(await store.claimGarbage(T0, 60_000, 2)).toEqual([]);
      });

      it('concurrent claims never hand out the same entry twice', async () => {
        const alice = await store.ensureUser('alice', T0);
        for (let i = 0; i < 6; i++) {
          const session = await openSession(alice);
          await store.abortSession(session.id);
        }
        const claims = await Promise.all([0, 1, 2, 3].map(() => store.claimGarbage(T0, 60_000, 3)));
        const ids = claims.flat().map((g) => g.id);
        expect(ids).toHaveLength(6);
        expect(new Set(ids).size).toBe(6);
      });

      it('a fresh store has no garbage', async () => {
        expect(await store.claimGarbage(T0, 1000, 100)).toEqual([]);
      });
    });

    // ---- secrets and health --------------------------------------------------------------------

    describe('secrets and health', () => {
      it('getOrCreateSecret returns the first generated value forever, separately per name', async () => {
        expect(await store.getOrCreateSecret('download-links', () => 'first')).toBe('first');
        expect(await store.getOrCreateSecret('download-links', () => 'second')).toBe('first');
        expect(await store.getOrCreateSecret('other', () => 'other-value')).toBe('other-value');
        expect(await store.getOrCreateSecret('download-links', () => 'third')).toBe('first');
      });

      it('concurrent getOrCreateSecret calls all get the same value', async () => {
        const values = await Promise.all([0, 1, 2, 3].map((i) => store.getOrCreateSecret('s', () => `value-${i}`)));
        expect(new Set(values).size).toBe(1);
        expect(await store.getOrCreateSecret('s', () => 'late')).toBe(values[0]);
      });

      it('ping resolves while the store is open', async () => {
        await expect(store.ping()).resolves.toBeUndefined();
      });
    });

    describeEventStore(() => store);
  });
}

/**
 * The value of a result union's member `key` (e.g. `created` of `{ created } | { conflict }`); fails the
 * test, showing what came back instead, when the result is another member.
 */
export function outcome<T extends object, K extends T extends unknown ? keyof T : never>(
  result: T, key: K,
): T extends Record<K, infer V> ? V : never {
  if (!(key in result)) expect.fail(`expected { ${String(key)} } but got ${JSON.stringify(result)}`);
  return (result as Record<K, unknown>)[key] as never;
}
