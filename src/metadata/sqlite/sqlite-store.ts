import type { FileHandle } from 'node:fs/promises';
import Database from 'better-sqlite3';
import {
  asPartRef, type BlobKey, type ChildrenQuery, type FileVersionRecord, type FolderRecord, type GarbageRecord, type ItemRecord, type Millis, type Page,
  type PartRecord, type PartWrite, type RecordPartResult, type TokenRecord, type ApplicationRecord, type ApplicationKeyRecord, type UploadRef, type UploadSessionRecord, type UploadUsage,
  type UserRecord,
} from '../../core/model.js';
import { MetadataUnavailableError, StorageFullError } from '../../core/store-errors.js';
import { toApplication, toApplicationKey, toGarbage, toItem, toPart, toSession, toToken, toUser, toVersion, type Row } from '../rows.js';
import type { MetadataStore, MetadataTransaction } from '../store.js';
import { childOrderSql } from '../child-order.js';
import { SQLITE_MIGRATIONS } from './migrations.js';
import { ITEM_COLUMNS, ITEM_FROM, prepareStatements, type Statements } from './statements.js';
import { SqliteTransaction } from './transaction.js';
import { prepareEventStatements, type EventStatements } from './event-statements.js';
import { settlementColumns, toDelivery, toWebhook } from '../event-rows.js';
import type { DeliveryBacklog, DeliveryRecord, DeliverySettlement, WebhookRecord } from '../../core/event-model.js';
import { WalSync } from './wal-sync.js';

/**
 * Metadata in one SQLite file, in WAL mode. Every write resolves only once its commit is on disk (so a
 * recorded part survives power loss), fsynced off the event loop by WalSync. better-sqlite3 is
 * synchronous, so each one-statement step runs as one transaction without interleaving; a `transact`
 * transaction awaits between its statements, so while it is open every other statement waits. One
 * server process owns the file; short-lived CLI commands may open it beside the server.
 */
export class SqliteMetadataStore implements MetadataStore {
  readonly #db: Database.Database;
  readonly #sql: Statements;
  readonly #events: EventStatements;
  readonly #tx: SqliteTransaction;
  readonly #partWrites = new Map<string, PartWrite>();
  readonly #wal: WalSync;
  /**
   * Set while a `transact` transaction is open. Its work awaits between statements, so every other
   * statement of the process waits for its end: none may see its uncommitted rows or run inside it.
   */
  #open: Promise<void> | undefined;
  /** listChildrenOrdered's statements, one per order (and with or without a position). */
  readonly #orderedChildren = new Map<string, Database.Statement>();

  /** `walFsync`, for tests: fsyncs the WAL file in place of `file.datasync()` (to slow or fail the real one). */
  constructor(path: string, options: { walFsync?: (file: FileHandle) => Promise<void> } = {}) {
    this.#db = new Database(path);
    this.#db.pragma('busy_timeout = 5000');
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.pragma('foreign_keys = ON');
    migrate(this.#db);
    // From here on commits only write the WAL; #write waits for WalSync to fsync it.
    this.#db.pragma('synchronous = NORMAL');
    this.#wal = new WalSync(`${path}-wal`, undefined, options.walFsync);
    this.#sql = prepareStatements(this.#db);
    this.#events = prepareEventStatements(this.#db);
    this.#tx = new SqliteTransaction(this.#sql, this.#events);
  }

  async transact<T>(work: (tx: MetadataTransaction) => Promise<T>): Promise<T> {
    return this.#guarded(async () => {
      // The check and the opening share one tick: nothing can open a transaction between them.
      while (this.#open) await this.#open;
      let end!: () => void;
      this.#open = new Promise<void>((resolve) => {
        end = resolve;
      });
      let result: T;
      let durable: Promise<void>;
      try {
        this.#db.exec('BEGIN IMMEDIATE');
        try {
          result = await work(this.#tx);
          this.#db.exec('COMMIT');
          // In the commit's tick, so no read can see its rows before their fsync is owed (see #read).
          durable = this.#wal.sync();
        } catch (error) {
          if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
          throw error;
        }
      } finally {
        this.#open = undefined;
        end();
      }
      await this.#durable(durable);
      return result;
    });
  }

  async ensureUser(name: string, now: Millis, displayName?: string): Promise<UserRecord> {
    return this.#write(() => this.#db.transaction(() => {
      const existing = this.#sql.userByName.get(name) as Row | undefined;
      if (existing) return toUser(existing);
      const userId = Number(this.#sql.insertUser.run(name, displayName ?? null, now).lastInsertRowid);
      const rootId = Number(this.#sql.insertItem.run({
        type: 'folder', owner_id: userId, parent_id: null, name: 'All Files', name_key: '', description: '',
        created_at: now, modified_at: now, content_created_at: null, content_modified_at: null,
        size: 0, sha1: null, version_id: null, etag: 0,
      }).lastInsertRowid);
      this.#sql.setRootFolder.run(rootId, userId);
      return toUser(this.#sql.userById.get(userId) as Row);
    }).immediate());
  }

  async getUser(id: string): Promise<UserRecord | undefined> {
    return this.#read(() => {
      const row = this.#sql.userById.get(id) as Row | undefined;
      return row && toUser(row);
    });
  }

  async getUserByName(name: string): Promise<UserRecord | undefined> {
    return this.#read(() => {
      const row = this.#sql.userByName.get(name) as Row | undefined;
      return row && toUser(row);
    });
  }

  async addToken(token: TokenRecord): Promise<void> {
    await this.#write(() => this.#sql.insertToken.run(token.id, token.userId, token.secretHash, token.createdAt, token.revokedAt, token.expiresAt ?? null, token.applicationId ?? null));
  }

  async getToken(id: string): Promise<TokenRecord | undefined> {
    return this.#read(() => {
      const row = this.#sql.tokenById.get(id) as Row | undefined;
      return row && toToken(row);
    });
  }

  async listTokens(userId?: string): Promise<TokenRecord[]> {
    return this.#read(() => {
      const rows = (userId === undefined ? this.#sql.allTokens.all() : this.#sql.tokensOfUser.all(userId)) as Row[];
      return rows.map(toToken);
    });
  }

  async revokeToken(id: string, now: Millis): Promise<boolean> {
    return this.#write(() => this.#sql.revokeToken.run(now, id).changes === 1);
  }

  async addApplication(application: ApplicationRecord): Promise<void> {
    await this.#write(() => this.#sql.insertApplication.run(
      application.id, application.userId, application.secretHash, application.createdAt, application.revokedAt));
  }

  async getApplication(id: string): Promise<ApplicationRecord | undefined> {
    return this.#read(() => {
      const row = this.#sql.applicationById.get(id) as Row | undefined;
      return row && toApplication(row);
    });
  }

  async listApplications(): Promise<ApplicationRecord[]> {
    return this.#read(() => (this.#sql.allApplications.all() as Row[]).map(toApplication));
  }

  async revokeApplication(id: string, now: Millis): Promise<boolean> {
    return this.#write(() => this.#db.transaction(() => {
      if (this.#sql.revokeApplication.run(now, id).changes !== 1) return false;
      this.#sql.revokeTokensOfApplication.run(now, id);
      return true;
    }).immediate());
  }

  async addApplicationKey(key: ApplicationKeyRecord): Promise<boolean> {
    return this.#write(() => this.#sql.insertApplicationKey.run(key.applicationId, key.id, key.publicKeyPem, key.createdAt).changes === 1);
  }

  async listApplicationKeys(applicationId: string): Promise<ApplicationKeyRecord[]> {
    return this.#read(() => (this.#sql.applicationKeys.all(applicationId) as Row[]).map(toApplicationKey));
  }

  async removeApplicationKey(applicationId: string, keyId: string): Promise<boolean> {
    return this.#write(() => this.#sql.deleteApplicationKey.run(applicationId, keyId).changes === 1);
  }

  async useAssertionId(applicationId: string, jti: string, expiresAt: Millis): Promise<boolean> {
    return this.#write(() => this.#sql.insertUsedAssertion.run(applicationId, jti, expiresAt).changes === 1);
  }

  async purgeExpiredCredentials(before: Millis, limit: number): Promise<number> {
    return this.#write(() => this.#db.transaction(() => {
      const tokens = this.#sql.purgeExpiredTokens.run(before, limit).changes;
      return tokens + this.#sql.purgeUsedAssertions.run(before, limit - tokens).changes;
    }).immediate());
  }

  async getItem(id: string): Promise<ItemRecord | undefined> {
    return this.#read(() => {
      const row = this.#sql.itemById.get(id) as Row | undefined;
      return row && toItem(row);
    });
  }

  async findChild(parentId: string, nameKey: string): Promise<ItemRecord | undefined> {
    return this.#read(() => {
      const row = this.#sql.childByName.get(parentId, nameKey) as Row | undefined;
      return row && toItem(row);
    });
  }

  async listChildren(parentId: string, offset: number, limit: number): Promise<Page<ItemRecord>> {
    return this.#read(() => {
      const total = (this.#sql.countChildren.get(parentId) as { n: number }).n;
      const rows = this.#sql.children.all(parentId, limit, offset) as Row[];
      return { total, entries: rows.map(toItem) };
    });
  }

  async listChildrenOrdered(parentId: string, query: ChildrenQuery): Promise<Page<ItemRecord>> {
    const params: unknown[] = [parentId];
    const { where, orderBy } = childOrderSql(query, (value) => (params.push(value), '?'));
    params.push(query.limit, query.after ? 0 : query.offset ?? 0);
    const sql = `SELECT ${ITEM_COLUMNS} FROM ${ITEM_FROM} WHERE items.parent_id = ?${where} ORDER BY ${orderBy} LIMIT ? OFFSET ?`;
    let statement = this.#orderedChildren.get(sql);
    if (!statement) this.#orderedChildren.set(sql, statement = this.#db.prepare(sql));
    const prepared = statement;
    return this.#read(() => {
      const total = (this.#sql.countChildren.get(parentId) as { n: number }).n;
      return { total, entries: (prepared.all(...params) as Row[]).map(toItem) };
    });
  }

  async ancestors(itemId: string): Promise<FolderRecord[]> {
    return this.#read(() => {
      return (this.#sql.ancestors.all(itemId) as Row[]).map((row) => toItem(row) as FolderRecord);
    });
  }

  async getFileVersion(fileId: string, versionId: string): Promise<FileVersionRecord | undefined> {
    return this.#read(() => {
      const row = this.#sql.version.get(versionId, fileId) as Row | undefined;
      return row && toVersion(row);
    });
  }

  async listTrash(ownerId: string, offset: number, limit: number): Promise<Page<ItemRecord>> {
    return this.#read(() => ({
      total: (this.#sql.countTrash.get(ownerId) as { n: number }).n,
      entries: (this.#sql.trash.all(ownerId, limit, offset) as Row[]).map(toItem),
    }));
  }

  async purgeTrashed(itemId: string): Promise<boolean> {
    return this.transact((tx) => tx.purgeTrashed(itemId));
  }

  async fileVersions(fileId: string): Promise<FileVersionRecord[]> {
    return this.#read(() => (this.#sql.versionsNewestFirst.all(fileId) as Row[]).map(toVersion));
  }

  async blobInUse(blobKey: BlobKey): Promise<boolean> {
    return this.#read(() => this.#sql.versionByBlob.get(blobKey) !== undefined);
  }

  async trashDue(before: Millis, limit: number): Promise<string[]> {
    return this.#read(() => (this.#sql.trashDue.all(before, limit) as Row[]).map((row) => String(row.id)));
  }

  async storageUsed(ownerId: string): Promise<number> {
    return this.#read(() => this.#tx.bytesUsed(ownerId));
  }

  async getSession(id: string): Promise<UploadSessionRecord | undefined> {
    return this.#read(() => {
      const row = this.#sql.sessionById.get(id) as Row | undefined;
      return row && toSession(row);
    });
  }

  async recordPart(part: PartRecord): Promise<RecordPartResult> {
    return this.#write(() => this.#db.transaction((): RecordPartResult => {
      const session = this.#sql.sessionById.get(part.sessionId) as Row | undefined;
      if (!session || session.state !== 'active') return { notActive: session && toSession(session) };
      const existing = this.#sql.partAt.get(part.sessionId, part.offset) as Row | undefined;
      if (existing) return { existing: toPart(existing) };
      this.#sql.insertPart.run(part.sessionId, part.offset, part.size, part.sha1, part.partId, part.partRef, part.createdAt);
      this.#sql.countPart.run(part.sessionId);
      return { recorded: part };
    }).immediate());
  }

  async getPart(sessionId: string, offset: number): Promise<PartRecord | undefined> {
    return this.#read(() => {
      const row = this.#sql.partAt.get(sessionId, offset) as Row | undefined;
      return row && toPart(row);
    });
  }

  async listParts(sessionId: string, offset: number, limit: number): Promise<Page<PartRecord>> {
    return this.#read(() => {
      const total = (this.#sql.countParts.get(sessionId) as { n: number }).n;
      const rows = this.#sql.parts.all(sessionId, limit, offset) as Row[];
      return { total, entries: rows.map(toPart) };
    });
  }

  // Part writes in flight live in memory: one process owns the file, a restart forgets them as it
  // must, and it spares every part two fsync'd transactions.
  async claimPartWrite(write: PartWrite, now: Millis): Promise<boolean> {
    for (const other of this.#partWrites.values()) {
      if (other.sessionId === write.sessionId && other.offset === write.offset && other.expiresAt > now) return false;
    }
    this.#partWrites.set(write.writeId, write);
    return true;
  }

  async endPartWrite(writeId: string): Promise<void> {
    this.#partWrites.delete(writeId);
  }

  async partWritesInFlight(sessionId: string, now: Millis): Promise<number[]> {
    return [...this.#partWrites.values()]
      .filter((write) => write.sessionId === sessionId && write.expiresAt > now)
      .map((write) => write.offset);
  }

  async setSessionContent(sessionId: string, blobKey: BlobKey, contentSha1: string): Promise<boolean> {
    return this.#write(() => this.#sql.setContent.run(blobKey, contentSha1, sessionId).changes === 1);
  }

  async abortSession(id: string): Promise<UploadSessionRecord | undefined> {
    return this.#write(() => this.#db.transaction(() => {
      const row = this.#sql.sessionById.get(id) as Row | undefined;
      if (!row) return undefined;
      const session = toSession(row);
      if (session.state === 'active') this.#endSession(session, 'aborted');
      return session;
    }).immediate());
  }

  async countOpenSessions(now: Millis): Promise<number> {
    return this.#read(() => {
      return (this.#sql.openSessions.get(now) as { n: number }).n;
    });
  }

  async expireSessions(now: Millis, limit: number): Promise<number> {
    return this.#write(() => this.#db.transaction(() => {
      const rows = this.#sql.expiredSessions.all(now, limit) as Row[];
      for (const row of rows) this.#endSession(toSession(row), 'expired');
      return rows.length;
    }).immediate());
  }

  async uploadUsage(uploadRef: UploadRef, joinedBlobKey?: BlobKey): Promise<UploadUsage> {
    return this.#read(() => {
      const session = this.#sql.liveSessionByRef.get(uploadRef) as { id: string } | undefined;
      const recordedPartRefs = session
        ? (this.#sql.partRefsOf.all(session.id) as Array<{ part_ref: string }>).map((row) => asPartRef(row.part_ref)) : null;
      return { recordedPartRefs, isFileBlob: joinedBlobKey !== undefined && this.#sql.versionByBlob.get(joinedBlobKey) !== undefined };
    });
  }

  async claimGarbage(now: Millis, leaseMs: number, limit: number): Promise<GarbageRecord[]> {
    return this.#write(() => this.#db.transaction(() => {
      const rows = this.#sql.garbageDue.all(now, limit) as Row[];
      for (const row of rows) this.#sql.leaseGarbage.run(now + leaseMs, row.id);
      return rows.map(toGarbage);
    }).immediate());
  }

  async deleteGarbage(id: string): Promise<void> {
    await this.#write(() => this.#sql.deleteGarbage.run(id));
  }

  async getOrCreateSecret(name: string, generate: () => string): Promise<string> {
    await this.#write(() => this.#sql.insertSetting.run(name, generate()));
    return this.#read(() => (this.#sql.setting.get(name) as { value: string }).value);
  }

  async setSecret(name: string, value: string): Promise<void> {
    await this.#write(() => this.#events.setSecret.run(name, value));
  }

  async getWebhook(id: string): Promise<WebhookRecord | undefined> {
    return this.#read(() => {
      const row = this.#events.webhookById.get(id) as Row | undefined;
      return row && toWebhook(row);
    });
  }

  async listWebhooks(ownerId: string, afterId: string | undefined, limit: number): Promise<WebhookRecord[]> {
    return this.#read(() => (this.#events.webhooksOf.all(ownerId, Number(afterId ?? 0), limit) as Row[]).map(toWebhook));
  }

  async claimDeliveries(now: Millis, leaseMs: number, limit: number): Promise<DeliveryRecord[]> {
    // Each node polls every second: while nothing is due that is a read, not a write and its fsync.
    if (!(await this.#read(() => this.#events.deliveriesDue.get(now, now, 1) !== undefined))) return [];
    return this.#write(() => this.#db.transaction(() => {
      const rows = this.#events.deliveriesDue.all(now, now, limit) as Row[];
      for (const row of rows) this.#events.leaseDelivery.run(now + leaseMs, row.id);
      return rows.map(toDelivery);
    }).immediate());
  }

  async settleDelivery(id: string, settlement: DeliverySettlement): Promise<void> {
    const columns = settlementColumns(settlement);
    await this.#write(() => this.#events.settleDelivery.run({
      id, state: columns.state, due_at: columns.dueAt, settled_at: columns.settledAt, error: columns.error,
    }));
  }

  async deliveryBacklog(): Promise<DeliveryBacklog> {
    return this.#read(() => {
      const row = this.#events.backlog.get() as { n: number; oldest: number | null };
      return { pending: row.n, oldestCreatedAt: row.oldest };
    });
  }

  async ping(): Promise<void> {
    this.#usable();
    this.#db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    while (this.#open) await this.#open;
    await this.#wal.close();
    if (this.#db.open) this.#db.close();
  }

  /**
   * Runs a write once no `transact` transaction is open and resolves once it is durable. `work` is
   * synchronous (one better-sqlite3 transaction), so its fsync is owed in the tick it commits.
   */
  async #write<T>(work: () => T): Promise<T> {
    return this.#guarded(async () => {
      while (this.#open) await this.#open;
      const result = work();
      await this.#durable(this.#wal.sync());
      return result;
    });
  }

  /** A full disk becomes StorageFullError (a 507 for the client, not a 500); a failed store refuses everything. */
  async #guarded<T>(step: () => Promise<T>): Promise<T> {
    this.#usable();
    try {
      return await step();
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT') throw new StorageFullError({ cause: error });
      throw error;
    }
  }

  /**
   * Waits for an fsync of the WAL. If it fails, commits the process has seen (and may have answered
   * from) may not be on disk, and a later fsync cannot tell: the store fails for good, like
   * PostgreSQL's PANIC on a failed fsync; every later call is MetadataUnavailableError (a 503, and
   * readiness fails) until the process is restarted and SQLite recovers from what is on disk.
   */
  async #durable(sync: Promise<void>): Promise<void> {
    try {
      await sync;
    } catch (error) {
      throw new MetadataUnavailableError({ cause: error });
    }
  }

  #usable(): void {
    const failure = this.#wal.failure;
    if (failure) throw new MetadataUnavailableError({ cause: failure.error });
  }

  /**
   * Runs a read at once, or after the open `transact` transaction (whose rows it must not see). What
   * it read is returned only once durable: while a WAL fsync is running or owed, the rows may be of a
   * commit not yet on disk, and a client must not be answered from them (a replayed commit, a
   * retried part). With no fsync pending, as most of the time, the read costs nothing more.
   */
  #read<T>(work: () => T): T | Promise<T> {
    this.#usable();
    if (this.#open) return this.#readLater(work);
    const result = work();
    const syncing = this.#wal.pending();
    return syncing ? this.#durable(syncing).then(() => result) : result;
  }

  async #readLater<T>(work: () => T): Promise<T> {
    while (this.#open) await this.#open;
    return this.#read(work);
  }

  #endSession(session: UploadSessionRecord, state: 'aborted' | 'expired'): void {
    this.#sql.setState.run(state, session.id);
    this.#sql.deleteParts.run(session.id);
    // Discarding the upload also discards any blob completed from it (BlobStore.abortUpload).
    this.#sql.insertGarbage.run('upload', session.uploadRef);
  }
}

function migrate(db: Database.Database): void {
  // One IMMEDIATE transaction that reads the version inside it: processes opening a new file at the
  // same moment (a server and `partway token create`) apply each migration once.
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    for (let next = version; next < SQLITE_MIGRATIONS.length; next++) db.exec(SQLITE_MIGRATIONS[next]!);
    if (version < SQLITE_MIGRATIONS.length) db.pragma(`user_version = ${SQLITE_MIGRATIONS.length}`);
  }).immediate();
}
