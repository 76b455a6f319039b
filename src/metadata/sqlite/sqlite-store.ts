import Database from 'better-sqlite3';
import type { MetadataStore } from '../store.js';
import {
  asPartRef, type BlobKey, type CommitInput, type CommitResult, type CreateItemResult, type CreateSessionResult, type CreateVersionResult, type FileRecord, type FileVersionRecord, type FolderRecord, type GarbageRecord, type ItemRecord, type Millis, type NewFile, type NewFolder, type NewVersion, type Page, type PartRecord, type PartWrite, type RecordPartResult, type SessionLimits, type TokenRecord, type UploadRef, type UploadSessionRecord, type UploadUsage, type UserRecord,
} from '../../core/model.js';
import { StorageFullError } from '../../core/store-errors.js';
import { fromSession, toGarbage, toItem, toPart, toSession, toToken, toUser, toVersion, type Row } from '../rows.js';
import { SQLITE_MIGRATIONS } from './migrations.js';
import { WalSync } from './wal-sync.js';

const ITEM_COLUMNS = `items.*, file_versions.blob_key AS blob_key`;
const ITEM_FROM = `items LEFT JOIN file_versions ON file_versions.id = items.version_id`;

/**
 * Metadata in one SQLite file, in WAL mode. Every write resolves only once its commit is on disk (so a
 * recorded part survives power loss), fsynced off the event loop by WalSync. better-sqlite3 is
 * synchronous, so each method runs as one transaction without interleaving. One server process owns
 * the file; short-lived CLI commands may open it beside the server.
 */
export class SqliteMetadataStore implements MetadataStore {
  readonly #db: Database.Database;
  readonly #sql: ReturnType<typeof prepare>;
  readonly #partWrites = new Map<string, PartWrite>();
  readonly #wal: WalSync;

  constructor(path: string) {
    this.#db = new Database(path);
    this.#db.pragma('busy_timeout = 5000');
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.pragma('foreign_keys = ON');
    migrate(this.#db);
    // From here on commits only write the WAL; #write waits for WalSync to fsync it.
    this.#db.pragma('synchronous = NORMAL');
    this.#wal = new WalSync(`${path}-wal`);
    this.#sql = prepare(this.#db);
  }

  async ensureUser(name: string, now: Millis): Promise<UserRecord> {
    return this.#write(() => this.#db.transaction(() => {
      const existing = this.#sql.userByName.get(name) as Row | undefined;
      if (existing) return toUser(existing);
      const userId = Number(this.#sql.insertUser.run(name, now).lastInsertRowid);
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
    const row = this.#sql.userById.get(id) as Row | undefined;
    return row && toUser(row);
  }

  async getUserByName(name: string): Promise<UserRecord | undefined> {
    const row = this.#sql.userByName.get(name) as Row | undefined;
    return row && toUser(row);
  }

  async addToken(token: TokenRecord): Promise<void> {
    await this.#write(() => this.#sql.insertToken.run(token.id, token.userId, token.secretHash, token.createdAt, token.revokedAt));
  }

  async getToken(id: string): Promise<TokenRecord | undefined> {
    const row = this.#sql.tokenById.get(id) as Row | undefined;
    return row && toToken(row);
  }

  async listTokens(userId?: string): Promise<TokenRecord[]> {
    const rows = (userId === undefined ? this.#sql.allTokens.all() : this.#sql.tokensOfUser.all(userId)) as Row[];
    return rows.map(toToken);
  }

  async revokeToken(id: string, now: Millis): Promise<boolean> {
    return this.#write(() => this.#sql.revokeToken.run(now, id).changes === 1);
  }

  async getItem(id: string): Promise<ItemRecord | undefined> {
    const row = this.#sql.itemById.get(id) as Row | undefined;
    return row && toItem(row);
  }

  async findChild(parentId: string, nameKey: string): Promise<ItemRecord | undefined> {
    const row = this.#sql.childByName.get(parentId, nameKey) as Row | undefined;
    return row && toItem(row);
  }

  async listChildren(parentId: string, offset: number, limit: number): Promise<Page<ItemRecord>> {
    const total = (this.#sql.countChildren.get(parentId) as { n: number }).n;
    const rows = this.#sql.children.all(parentId, limit, offset) as Row[];
    return { total, entries: rows.map(toItem) };
  }

  async ancestors(itemId: string): Promise<FolderRecord[]> {
    return (this.#sql.ancestors.all(itemId) as Row[]).map((row) => toItem(row) as FolderRecord);
  }

  async createFolder(folder: NewFolder): Promise<CreateItemResult<FolderRecord>> {
    return this.#write(() => this.#db.transaction((): CreateItemResult<FolderRecord> => {
      const parent = this.#itemRow(folder.parentId);
      if (!parent || parent.type !== 'folder') return { parentMissing: true };
      const conflict = this.#sql.childByName.get(folder.parentId, folder.nameKey) as Row | undefined;
      if (conflict) return { conflict: toItem(conflict) };
      const id = this.#sql.insertItem.run({
        type: 'folder', owner_id: folder.ownerId, parent_id: folder.parentId, name: folder.name,
        name_key: folder.nameKey, description: '', created_at: folder.now, modified_at: folder.now,
        content_created_at: null, content_modified_at: null, size: 0, sha1: null, version_id: null, etag: 0,
      }).lastInsertRowid;
      return { created: toItem(this.#itemRow(String(id))!) as FolderRecord };
    }).immediate());
  }

  async createFile(file: NewFile): Promise<CreateItemResult<FileRecord>> {
    return this.#write(() => this.#db.transaction(() => this.#insertFile(file)).immediate());
  }

  async addFileVersion(version: NewVersion): Promise<CreateVersionResult> {
    return this.#write(() => this.#db.transaction((): CreateVersionResult => {
      const row = this.#itemRow(version.fileId);
      if (!row || row.type !== 'file') return { fileMissing: true };
      const current = toItem(row) as FileRecord;
      if (version.ifMatch !== undefined && version.ifMatch !== String(current.etag)) {
        return { preconditionFailed: current };
      }
      return { created: this.#insertVersion(current, current.name, String(row.name_key), version) };
    }).immediate());
  }

  async getFileVersion(fileId: string, versionId: string): Promise<FileVersionRecord | undefined> {
    const row = this.#sql.version.get(versionId, fileId) as Row | undefined;
    return row && toVersion(row);
  }

  async deleteFile(id: string): Promise<boolean> {
    return this.#write(() => this.#db.transaction(() => {
      const row = this.#itemRow(id);
      if (!row || row.type !== 'file') return false;
      for (const version of this.#sql.versionsOfFile.all(id) as Row[]) {
        this.#sql.insertGarbage.run('blob', version.blob_key);
      }
      this.#sql.clearVersion.run(id);
      this.#sql.deleteVersions.run(id);
      this.#sql.deleteItem.run(id);
      return true;
    }).immediate());
  }

  async storageUsed(ownerId: string): Promise<number> {
    return this.#storageUsed(ownerId);
  }

  async createSession(session: UploadSessionRecord, limits: SessionLimits): Promise<CreateSessionResult> {
    return this.#write(() => this.#db.transaction((): CreateSessionResult => {
      if (limits.maxOpenSessions !== null) {
        const open = (this.#sql.openSessionsOf.get(session.ownerId) as { n: number }).n;
        if (open >= limits.maxOpenSessions) return { tooManySessions: open };
      }
      if (limits.quota !== null) {
        const used = this.#storageUsed(session.ownerId);
        if (used + session.fileSize > limits.quota) return { quotaExceeded: used };
      }
      this.#sql.insertSession.run(fromSession(session));
      return { created: true };
    }).immediate());
  }

  async getSession(id: string): Promise<UploadSessionRecord | undefined> {
    const row = this.#sql.sessionById.get(id) as Row | undefined;
    return row && toSession(row);
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
    const row = this.#sql.partAt.get(sessionId, offset) as Row | undefined;
    return row && toPart(row);
  }

  async listParts(sessionId: string, offset: number, limit: number): Promise<Page<PartRecord>> {
    const total = (this.#sql.countParts.get(sessionId) as { n: number }).n;
    const rows = this.#sql.parts.all(sessionId, limit, offset) as Row[];
    return { total, entries: rows.map(toPart) };
  }

  // Part writes in flight live in memory: one process owns the file, a restart forgets them as it
  // must, and it spares every part two fsync'd transactions.
  async startPartWrite(write: PartWrite): Promise<void> {
    this.#partWrites.set(write.writeId, write);
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

  async commitSession(input: CommitInput): Promise<CommitResult> {
    return this.#write(() => this.#db.transaction((): CommitResult => {
      const row = this.#sql.sessionById.get(input.sessionId) as Row | undefined;
      if (!row) return { notFound: true };
      const session = toSession(row);
      if (session.state === 'committed') return { alreadyCommitted: session };
      if (session.state !== 'active' || session.blobKey === null || session.contentSha1 === null) {
        return { notActive: session };
      }
      const content = {
        blobKey: session.blobKey, size: session.fileSize, sha1: session.contentSha1,
        contentCreatedAt: input.contentCreatedAt, contentModifiedAt: input.contentModifiedAt,
        description: input.description, now: input.now,
      };
      let file: FileRecord;
      if (session.fileId !== null) {
        const target = this.#itemRow(session.fileId);
        if (!target || target.type !== 'file') return { targetMissing: true };
        const current = toItem(target) as FileRecord;
        if (input.ifMatch !== undefined && input.ifMatch !== String(current.etag)) return { preconditionFailed: current };
        if (input.nameKey !== target.name_key) {
          const conflict = this.#sql.childByName.get(current.parentId, input.nameKey) as Row | undefined;
          if (conflict) return { conflict: toItem(conflict) };
        }
        file = this.#insertVersion(current, session.fileName, input.nameKey, { ...content, fileId: current.id });
      } else {
        const created = this.#insertFile({
          ...content, ownerId: session.ownerId, parentId: session.folderId, name: session.fileName, nameKey: input.nameKey,
        });
        if ('conflict' in created) return created;
        if ('parentMissing' in created) return { targetMissing: true };
        file = created.created;
      }
      this.#sql.markCommitted.run(file.id, session.id);
      return { committed: file };
    }).immediate());
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
    return (this.#sql.openSessions.get(now) as { n: number }).n;
  }

  async expireSessions(now: Millis, limit: number): Promise<number> {
    return this.#write(() => this.#db.transaction(() => {
      const rows = this.#sql.expiredSessions.all(now, limit) as Row[];
      for (const row of rows) this.#endSession(toSession(row), 'expired');
      return rows.length;
    }).immediate());
  }

  async uploadUsage(uploadRef: UploadRef, joinedBlobKey?: BlobKey): Promise<UploadUsage> {
    const session = this.#sql.liveSessionByRef.get(uploadRef) as { id: string } | undefined;
    const recordedPartRefs = session
      ? (this.#sql.partRefsOf.all(session.id) as Array<{ part_ref: string }>).map((row) => asPartRef(row.part_ref)) : null;
    return { recordedPartRefs, isFileBlob: joinedBlobKey !== undefined && this.#sql.versionByBlob.get(joinedBlobKey) !== undefined };
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
    return (this.#sql.setting.get(name) as { value: string }).value;
  }

  async ping(): Promise<void> {
    this.#db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    await this.#wal.close();
    if (this.#db.open) this.#db.close();
  }

  /**
   * Runs a write and resolves once it is durable; a full disk becomes StorageFullError (a 507 for the
   * client, not a 500).
   */
  async #write<T>(work: () => T): Promise<T> {
    try {
      const result = work();
      await this.#wal.sync();
      return result;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT') throw new StorageFullError({ cause: error });
      throw error;
    }
  }

  #itemRow(id: string): Row | undefined {
    return this.#sql.itemById.get(id) as Row | undefined;
  }

  #storageUsed(ownerId: string): number {
    const files = (this.#sql.bytesInVersions.get(ownerId) as { n: number }).n;
    const sessions = (this.#sql.bytesInSessions.get(ownerId) as { n: number }).n;
    return files + sessions;
  }

  #insertFile(file: NewFile): CreateItemResult<FileRecord> {
    const parent = this.#itemRow(file.parentId);
    if (!parent || parent.type !== 'folder') return { parentMissing: true };
    const conflict = this.#sql.childByName.get(file.parentId, file.nameKey) as Row | undefined;
    if (conflict) return { conflict: toItem(conflict) };
    const id = Number(this.#sql.insertItem.run({
      type: 'file', owner_id: file.ownerId, parent_id: file.parentId, name: file.name, name_key: file.nameKey,
      description: file.description ?? '', created_at: file.now, modified_at: file.now,
      content_created_at: file.contentCreatedAt ?? file.now, content_modified_at: file.contentModifiedAt ?? file.now,
      size: file.size, sha1: file.sha1, version_id: null, etag: 0,
    }).lastInsertRowid);
    const versionId = this.#sql.insertVersion.run(id, file.blobKey, file.size, file.sha1, file.now).lastInsertRowid;
    this.#sql.setFileVersion.run({
      id, version_id: versionId, size: file.size, sha1: file.sha1, etag: 0, name: file.name, name_key: file.nameKey,
      modified_at: file.now, content_modified_at: file.contentModifiedAt ?? file.now,
      content_created_at: file.contentCreatedAt ?? file.now, description: file.description ?? '',
    });
    return { created: toItem(this.#itemRow(String(id))!) as FileRecord };
  }

  #insertVersion(current: FileRecord, name: string, nameKey: string, version: NewVersion): FileRecord {
    const versionId = this.#sql.insertVersion.run(current.id, version.blobKey, version.size, version.sha1, version.now).lastInsertRowid;
    this.#sql.setFileVersion.run({
      id: current.id, version_id: versionId, size: version.size, sha1: version.sha1, etag: current.etag + 1,
      name, name_key: nameKey, modified_at: version.now,
      content_modified_at: version.contentModifiedAt ?? version.now,
      content_created_at: version.contentCreatedAt ?? current.contentCreatedAt,
      description: version.description ?? current.description,
    });
    return toItem(this.#itemRow(current.id)!) as FileRecord;
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

function prepare(db: Database.Database) {
  const s = (sql: string) => db.prepare(sql);
  return {
    userById: s('SELECT * FROM users WHERE id = ?'),
    userByName: s('SELECT * FROM users WHERE name = ?'),
    insertUser: s('INSERT INTO users (name, created_at) VALUES (?, ?)'),
    setRootFolder: s('UPDATE users SET root_folder_id = ? WHERE id = ?'),
    insertToken: s('INSERT INTO tokens (id, user_id, secret_hash, created_at, revoked_at) VALUES (?, ?, ?, ?, ?)'),
    tokenById: s('SELECT * FROM tokens WHERE id = ?'),
    allTokens: s('SELECT * FROM tokens ORDER BY created_at, id'),
    tokensOfUser: s('SELECT * FROM tokens WHERE user_id = ? ORDER BY created_at, id'),
    revokeToken: s('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    itemById: s(`SELECT ${ITEM_COLUMNS} FROM ${ITEM_FROM} WHERE items.id = ?`),
    childByName: s(`SELECT ${ITEM_COLUMNS} FROM ${ITEM_FROM} WHERE items.parent_id = ? AND items.name_key = ?`),
    countChildren: s('SELECT count(*) AS n FROM items WHERE parent_id = ?'),
    children: s(`SELECT ${ITEM_COLUMNS} FROM ${ITEM_FROM} WHERE items.parent_id = ?
                 ORDER BY items.type DESC, items.name_key, items.id LIMIT ? OFFSET ?`),
    ancestors: s(`WITH RECURSIVE chain(id, depth) AS (
                    SELECT parent_id, 1 FROM items WHERE id = ?
                    UNION ALL
                    SELECT items.parent_id, chain.depth + 1 FROM items JOIN chain ON items.id = chain.id
                    WHERE items.parent_id IS NOT NULL)
                  SELECT ${ITEM_COLUMNS} FROM chain JOIN items ON items.id = chain.id
                  LEFT JOIN file_versions ON file_versions.id = items.version_id ORDER BY chain.depth DESC`),
    insertItem: s(`INSERT INTO items (type, owner_id, parent_id, name, name_key, description, created_at, modified_at,
                     content_created_at, content_modified_at, size, sha1, version_id, etag)
                   VALUES (@type, @owner_id, @parent_id, @name, @name_key, @description, @created_at, @modified_at,
                     @content_created_at, @content_modified_at, @size, @sha1, @version_id, @etag)`),
    setFileVersion: s(`UPDATE items SET version_id = @version_id, size = @size, sha1 = @sha1, etag = @etag,
                         name = @name, name_key = @name_key, modified_at = @modified_at,
                         content_modified_at = @content_modified_at, content_created_at = @content_created_at,
                         description = @description
                       WHERE id = @id`),
    insertVersion: s('INSERT INTO file_versions (file_id, blob_key, size, sha1, created_at) VALUES (?, ?, ?, ?, ?)'),
    version: s('SELECT * FROM file_versions WHERE id = ? AND file_id = ?'),
    versionsOfFile: s('SELECT * FROM file_versions WHERE file_id = ?'),
    clearVersion: s('UPDATE items SET version_id = NULL WHERE id = ?'),
    deleteVersions: s('DELETE FROM file_versions WHERE file_id = ?'),
    deleteItem: s('DELETE FROM items WHERE id = ?'),
    bytesInVersions: s(`SELECT coalesce(sum(file_versions.size), 0) AS n FROM file_versions
                        JOIN items ON items.id = file_versions.file_id WHERE items.owner_id = ?`),
    bytesInSessions: s(`SELECT coalesce(sum(file_size), 0) AS n FROM upload_sessions WHERE owner_id = ? AND state = 'active'`),
    insertSession: s(`INSERT INTO upload_sessions (id, owner_id, folder_id, file_id, file_name, file_size, part_size,
                        total_parts, upload_ref, state, created_at, expires_at, blob_key, content_sha1, committed_file_id,
                        parts_stored)
                      VALUES (@id, @owner_id, @folder_id, @file_id, @file_name, @file_size, @part_size, @total_parts,
                        @upload_ref, @state, @created_at, @expires_at, @blob_key, @content_sha1, @committed_file_id,
                        @parts_stored)`),
    sessionById: s('SELECT * FROM upload_sessions WHERE id = ?'),
    setState: s('UPDATE upload_sessions SET state = ? WHERE id = ?'),
    setContent: s(`UPDATE upload_sessions SET blob_key = ?, content_sha1 = ? WHERE id = ? AND state = 'active'`),
    markCommitted: s(`UPDATE upload_sessions SET state = 'committed', committed_file_id = ? WHERE id = ?`),
    openSessionsOf: s(`SELECT count(*) AS n FROM upload_sessions WHERE owner_id = ? AND state = 'active'`),
    openSessions: s(`SELECT count(*) AS n FROM upload_sessions WHERE state = 'active' AND expires_at > ?`),
    expiredSessions: s(`SELECT * FROM upload_sessions WHERE state = 'active' AND expires_at <= ? LIMIT ?`),
    partAt: s('SELECT * FROM parts WHERE session_id = ? AND byte_offset = ?'),
    insertPart: s(`INSERT INTO parts (session_id, byte_offset, size, sha1, part_id, part_ref, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?)`),
    countPart: s('UPDATE upload_sessions SET parts_stored = parts_stored + 1 WHERE id = ?'),
    countParts: s('SELECT count(*) AS n FROM parts WHERE session_id = ?'),
    parts: s('SELECT * FROM parts WHERE session_id = ? ORDER BY byte_offset LIMIT ? OFFSET ?'),
    deleteParts: s('DELETE FROM parts WHERE session_id = ?'),
    liveSessionByRef: s(`SELECT id FROM upload_sessions WHERE upload_ref = ? AND state IN ('active', 'committed')`),
    partRefsOf: s('SELECT part_ref FROM parts WHERE session_id = ?'),
    versionByBlob: s('SELECT id FROM file_versions WHERE blob_key = ? LIMIT 1'),
    insertGarbage: s('INSERT INTO garbage (kind, ref) VALUES (?, ?)'),
    garbageDue: s('SELECT * FROM garbage WHERE lease_until <= ? ORDER BY id LIMIT ?'),
    leaseGarbage: s('UPDATE garbage SET lease_until = ? WHERE id = ?'),
    deleteGarbage: s('DELETE FROM garbage WHERE id = ?'),
    insertSetting: s('INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING'),
    setting: s('SELECT value FROM settings WHERE name = ?'),
  };
}
