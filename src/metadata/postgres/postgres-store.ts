import pg from 'pg';
import { MetadataUnavailableError } from '../../core/store-errors.js';
import { childOrderSql } from '../child-order.js';
import { toApplication, toApplicationKey, toGarbage, toItem, toPart, toSession, toToken, toUser, toVersion, type Row } from '../rows.js';
import type { MetadataStore, MetadataTransaction } from '../store.js';
import {
  asPartRef, type BlobKey, type ChildrenQuery, type FileVersionRecord, type FolderRecord, type GarbageRecord, type ItemRecord, type Millis, type Page,
  type PartRecord, type PartWrite, type RecordPartResult, type TokenRecord, type ApplicationRecord, type ApplicationKeyRecord, type UploadRef, type UploadSessionRecord, type UploadUsage,
  type UserRecord,
} from '../../core/model.js';
import { POSTGRES_MIGRATIONS } from './migrations.js';
import { settlementColumns, toDelivery, toWebhook } from '../event-rows.js';
import type { DeliveryBacklog, DeliveryRecord, DeliverySettlement, WebhookRecord } from '../../core/event-model.js';
import { ITEM_SELECT, PostgresTransaction } from './transaction.js';

type Client = pg.PoolClient;

/** Any constant works; it only has to be the same on every node. */
const MIGRATION_LOCK = 7_164_113_337;

/** SQLSTATEs and errno codes that mean "the database is not there right now", not "the request is wrong". */
const UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006']);
const RETRYABLE = new Set(['40001', '40P01']);

/**
 * Metadata in PostgreSQL, for any number of stateless nodes. Each method is one transaction; races
 * between nodes are settled by row locks (`FOR UPDATE` on the session, the parent folder or the user) and unique
 * constraints, never by locks of our own. Sweeping uses `FOR UPDATE SKIP LOCKED`, so nodes share it.
 */
export class PostgresMetadataStore implements MetadataStore {
  readonly #pool: pg.Pool;

  private constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** Connects and brings the schema up to date (safe when several nodes start at once). */
  static async open(connectionString: string, options: { maxConnections?: number } = {}): Promise<PostgresMetadataStore> {
    const pool = new pg.Pool({ connectionString, max: options.maxConnections ?? 20, connectionTimeoutMillis: 5000 });
    // An idle client's connection dying (the server restarted) must not crash the process.
    pool.on('error', () => {});
    const store = new PostgresMetadataStore(pool);
    await store.#tx(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
      const applied = new Set((await client.query('SELECT version FROM schema_migrations')).rows.map((row) => Number(row.version)));
      for (const [index, sql] of POSTGRES_MIGRATIONS.entries()) {
        if (applied.has(index + 1)) continue;
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [index + 1, Date.now()]);
      }
    });
    return store;
  }

  async transact<T>(work: (tx: MetadataTransaction) => Promise<T>): Promise<T> {
    return this.#tx((client) => work(new PostgresTransaction(client)));
  }

  async ensureUser(name: string, now: Millis, displayName?: string): Promise<UserRecord> {
    return this.#tx(async (client) => {
      const inserted = await client.query('INSERT INTO users (name, display_name, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING id', [name, displayName ?? null, now]);
      if (inserted.rowCount === 1) {
        const userId = inserted.rows[0].id;
        const root = await client.query(`INSERT INTO items (type, owner_id, parent_id, name, name_key, created_at, modified_at)
          VALUES ('folder', $1, NULL, 'All Files', '', $2, $2) RETURNING id`, [userId, now]);
        await client.query('UPDATE users SET root_folder_id = $1 WHERE id = $2', [root.rows[0].id, userId]);
      }
      return toUser((await client.query('SELECT * FROM users WHERE name = $1', [name])).rows[0]);
    });
  }

  async getUser(userId: string): Promise<UserRecord | undefined> {
    const row = await this.#one('SELECT * FROM users WHERE id = $1', [userId]);
    return row && toUser(row);
  }

  async getUserByName(name: string): Promise<UserRecord | undefined> {
    const row = await this.#one('SELECT * FROM users WHERE name = $1', [name]);
    return row && toUser(row);
  }

  async addToken(token: TokenRecord): Promise<void> {
    await this.#query('INSERT INTO tokens (id, user_id, secret_hash, created_at, revoked_at, expires_at, application_id) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [token.id, token.userId, token.secretHash, token.createdAt, token.revokedAt, token.expiresAt ?? null, token.applicationId ?? null]);
  }

  async getToken(tokenId: string): Promise<TokenRecord | undefined> {
    const row = await this.#one('SELECT * FROM tokens WHERE id = $1', [tokenId]);
    return row && toToken(row);
  }

  async listTokens(userId?: string): Promise<TokenRecord[]> {
    const rows = userId === undefined
      ? await this.#query('SELECT * FROM tokens ORDER BY created_at, id', [])
      : await this.#query('SELECT * FROM tokens WHERE user_id = $1 ORDER BY created_at, id', [userId]);
    return rows.map(toToken);
  }

  async revokeToken(tokenId: string, now: Millis): Promise<boolean> {
    const rows = await this.#query('UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING id', [now, tokenId]);
    return rows.length === 1;
  }

  async addApplication(application: ApplicationRecord): Promise<void> {
    await this.#query('INSERT INTO applications (id, user_id, secret_hash, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5)',
      [application.id, application.userId, application.secretHash, application.createdAt, application.revokedAt]);
  }

  async getApplication(applicationId: string): Promise<ApplicationRecord | undefined> {
    const row = await this.#one('SELECT * FROM applications WHERE id = $1', [applicationId]);
    return row && toApplication(row);
  }

  async listApplications(): Promise<ApplicationRecord[]> {
    return (await this.#query('SELECT * FROM applications ORDER BY created_at, id', [])).map(toApplication);
  }

  async revokeApplication(applicationId: string, now: Millis): Promise<boolean> {
    return this.#tx(async (client) => {
      const revoked = await client.query('UPDATE applications SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING id', [now, applicationId]);
      if (revoked.rowCount !== 1) return false;
      await client.query('UPDATE tokens SET revoked_at = $1 WHERE application_id = $2 AND revoked_at IS NULL', [now, applicationId]);
      return true;
    });
  }

  async addApplicationKey(key: ApplicationKeyRecord): Promise<boolean> {
    const rows = await this.#query(`INSERT INTO application_keys (application_id, id, public_key_pem, created_at) VALUES ($1, $2, $3, $4)
      ON CONFLICT DO NOTHING RETURNING id`, [key.applicationId, key.id, key.publicKeyPem, key.createdAt]);
    return rows.length === 1;
  }

  async listApplicationKeys(applicationId: string): Promise<ApplicationKeyRecord[]> {
    return (await this.#query('SELECT * FROM application_keys WHERE application_id = $1 ORDER BY created_at, id', [applicationId])).map(toApplicationKey);
  }

  async removeApplicationKey(applicationId: string, keyId: string): Promise<boolean> {
    return (await this.#query('DELETE FROM application_keys WHERE application_id = $1 AND id = $2 RETURNING id', [applicationId, keyId])).length === 1;
  }

  async useAssertionId(applicationId: string, jti: string, expiresAt: Millis): Promise<boolean> {
    const rows = await this.#query(`INSERT INTO used_assertions (application_id, jti, expires_at) VALUES ($1, $2, $3)
      ON CONFLICT DO NOTHING RETURNING jti`, [applicationId, jti, expiresAt]);
    return rows.length === 1;
  }

  async purgeExpiredCredentials(before: Millis, limit: number): Promise<number> {
    return this.#tx(async (client) => {
      const tokens = (await client.query(`DELETE FROM tokens WHERE id IN
        (SELECT id FROM tokens WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, [before, limit])).rowCount ?? 0;
      const assertions = (await client.query(`DELETE FROM used_assertions WHERE (application_id, jti) IN
        (SELECT application_id, jti FROM used_assertions WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, [before, limit - tokens])).rowCount ?? 0;
      return tokens + assertions;
    });
  }

  async getItem(itemId: string): Promise<ItemRecord | undefined> {
    const row = await this.#one(`${ITEM_SELECT} WHERE items.id = $1`, [itemId]);
    return row && toItem(row);
  }

  async findChild(parentId: string, nameKey: string): Promise<ItemRecord | undefined> {
    const row = await this.#one(`${ITEM_SELECT} WHERE items.parent_id = $1 AND items.name_key = $2`, [parentId, nameKey]);
    return row && toItem(row);
  }

  async listChildren(parentId: string, offset: number, limit: number): Promise<Page<ItemRecord>> {
    const [count] = await this.#query('SELECT count(*) AS n FROM items WHERE parent_id = $1', [parentId]);
    const rows = await this.#query(`${ITEM_SELECT} WHERE items.parent_id = $1
      ORDER BY items.type DESC, items.name_key COLLATE "C", items.id LIMIT $2 OFFSET $3`, [parentId, limit, offset]);
    return { total: Number(count!.n), entries: rows.map(toItem) };
  }

  async listChildrenOrdered(parentId: string, query: ChildrenQuery): Promise<Page<ItemRecord>> {
    const params: unknown[] = [parentId];
    const { where, orderBy } = childOrderSql(query, (value) => `$${params.push(value)}`, ' COLLATE "C"');
    const limit = `$${params.push(query.limit)}`;
    const offset = `$${params.push(query.after ? 0 : query.offset ?? 0)}`;
    const [count] = await this.#query('SELECT count(*) AS n FROM items WHERE parent_id = $1', [parentId]);
    const rows = await this.#query(`${ITEM_SELECT} WHERE items.parent_id = $1${where} ORDER BY ${orderBy} LIMIT ${limit} OFFSET ${offset}`, params);
    return { total: Number(count!.n), entries: rows.map(toItem) };
  }

  async ancestors(itemId: string): Promise<FolderRecord[]> {
    const rows = await this.#query(`WITH RECURSIVE chain(id, depth) AS (
        SELECT parent_id, 1 FROM items WHERE id = $1
        UNION ALL
        SELECT items.parent_id, chain.depth + 1 FROM items JOIN chain ON items.id = chain.id WHERE items.parent_id IS NOT NULL)
      SELECT items.*, NULL AS blob_key FROM chain JOIN items ON items.id = chain.id ORDER BY chain.depth DESC`, [itemId]);
    return rows.map((row) => toItem(row) as FolderRecord);
  }

  async getFileVersion(fileId: string, versionId: string): Promise<FileVersionRecord | undefined> {
    const row = await this.#one('SELECT * FROM file_versions WHERE id = $1 AND file_id = $2', [versionId, fileId]);
    return row && toVersion(row);
  }

  async listTrash(ownerId: string, offset: number, limit: number): Promise<Page<ItemRecord>> {
    const [count] = await this.#query('SELECT count(*) AS n FROM items WHERE owner_id = $1 AND trash_root_id = id', [ownerId]);
    const rows = await this.#query(`${ITEM_SELECT} WHERE items.owner_id = $1 AND items.trash_root_id = items.id
      ORDER BY items.type DESC, items.name_key COLLATE "C", items.id LIMIT $2 OFFSET $3`, [ownerId, limit, offset]);
    return { total: Number(count?.n ?? 0), entries: rows.map(toItem) };
  }

  async purgeTrashed(itemId: string): Promise<boolean> {
    return this.transact((tx) => tx.purgeTrashed(itemId));
  }

  async fileVersions(fileId: string): Promise<FileVersionRecord[]> {
    return (await this.#query('SELECT * FROM file_versions WHERE file_id = $1 ORDER BY id DESC', [fileId])).map(toVersion);
  }

  async blobInUse(blobKey: BlobKey): Promise<boolean> {
    return (await this.#query('SELECT id FROM file_versions WHERE blob_key = $1 LIMIT 1', [blobKey])).length > 0;
  }

  async trashDue(before: Millis, limit: number): Promise<string[]> {
    const rows = await this.#query('SELECT id FROM items WHERE trash_root_id = id AND trashed_at <= $1 ORDER BY trashed_at LIMIT $2', [before, limit]);
    return rows.map((row) => String(row.id));
  }

  async storageUsed(ownerId: string): Promise<number> {
    return this.#tx((client) => new PostgresTransaction(client).storageUsed(ownerId));
  }

  async getSession(sessionId: string): Promise<UploadSessionRecord | undefined> {
    const row = await this.#one('SELECT * FROM upload_sessions WHERE id = $1', [sessionId]);
    return row && toSession(row);
  }

  async recordPart(part: PartRecord): Promise<RecordPartResult> {
    return this.#tx(async (client) => {
      const session = (await client.query('SELECT * FROM upload_sessions WHERE id = $1 FOR UPDATE', [part.sessionId])).rows[0];
      if (!session || session.state !== 'active') return { notActive: session && toSession(session) };
      const inserted = await client.query(`INSERT INTO parts (session_id, byte_offset, size, sha1, part_id, part_ref, created_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
      [part.sessionId, part.offset, part.size, part.sha1, part.partId, part.partRef, part.createdAt]);
      if (inserted.rowCount === 0) {
        const existing = await client.query('SELECT * FROM parts WHERE session_id = $1 AND byte_offset = $2', [part.sessionId, part.offset]);
        return { existing: toPart(existing.rows[0]) };
      }
      await client.query('UPDATE upload_sessions SET parts_stored = parts_stored + 1 WHERE id = $1', [part.sessionId]);
      return { recorded: part };
    });
  }

  async getPart(sessionId: string, offset: number): Promise<PartRecord | undefined> {
    const row = await this.#one('SELECT * FROM parts WHERE session_id = $1 AND byte_offset = $2', [sessionId, offset]);
    return row && toPart(row);
  }

  async listParts(sessionId: string, offset: number, limit: number): Promise<Page<PartRecord>> {
    const [count] = await this.#query('SELECT count(*) AS n FROM parts WHERE session_id = $1', [sessionId]);
    const rows = await this.#query('SELECT * FROM parts WHERE session_id = $1 ORDER BY byte_offset LIMIT $2 OFFSET $3', [sessionId, limit, offset]);
    return { total: Number(count!.n), entries: rows.map(toPart) };
  }

  async claimPartWrite(write: PartWrite, now: Millis): Promise<boolean> {
    return this.#tx(async (client) => {
      // The session's row lock serialises the claims of its slots across nodes.
      const session = await client.query('SELECT id FROM upload_sessions WHERE id = $1 FOR UPDATE', [write.sessionId]);
      if (session.rows.length === 0) return false;
      const busy = await client.query('SELECT 1 FROM part_writes WHERE session_id = $1 AND byte_offset = $2 AND expires_at > $3 LIMIT 1',
        [write.sessionId, write.offset, now]);
      if (busy.rows.length > 0) return false;
      await client.query('INSERT INTO part_writes (write_id, session_id, byte_offset, expires_at) VALUES ($1, $2, $3, $4)',
        [write.writeId, write.sessionId, write.offset, write.expiresAt]);
      return true;
    });
  }

  async endPartWrite(writeId: string): Promise<void> {
    await this.#query('DELETE FROM part_writes WHERE write_id = $1', [writeId]);
  }

  async partWritesInFlight(sessionId: string, now: Millis): Promise<number[]> {
    const rows = await this.#query('SELECT byte_offset FROM part_writes WHERE session_id = $1 AND expires_at > $2', [sessionId, now]);
    return rows.map((row) => Number(row.byte_offset));
  }

  async setSessionContent(sessionId: string, blobKey: BlobKey, contentSha1: string): Promise<boolean> {
    const rows = await this.#query(`UPDATE upload_sessions SET blob_key = $1, content_sha1 = $2 WHERE id = $3 AND state = 'active' RETURNING id`,
      [blobKey, contentSha1, sessionId]);
    return rows.length === 1;
  }

  async abortSession(sessionId: string): Promise<UploadSessionRecord | undefined> {
    return this.#tx(async (client) => {
      const row = (await client.query('SELECT * FROM upload_sessions WHERE id = $1 FOR UPDATE', [sessionId])).rows[0];
      if (!row) return undefined;
      const session = toSession(row);
      if (session.state === 'active') await endSession(client, session, 'aborted');
      return session;
    });
  }

  async countOpenSessions(now: Millis): Promise<number> {
    const [row] = await this.#query(`SELECT count(*) AS n FROM upload_sessions WHERE state = 'active' AND expires_at > $1`, [now]);
    return Number(row!.n);
  }

  async expireSessions(now: Millis, limit: number): Promise<number> {
    return this.#tx(async (client) => {
      const rows = (await client.query(`SELECT * FROM upload_sessions WHERE state = 'active' AND expires_at <= $1
        LIMIT $2 FOR UPDATE SKIP LOCKED`, [now, limit])).rows;
      for (const row of rows) await endSession(client, toSession(row), 'expired');
      return rows.length;
    });
  }

  async uploadUsage(uploadRef: UploadRef, joinedBlobKey?: BlobKey): Promise<UploadUsage> {
    const session = await this.#one(`SELECT id FROM upload_sessions WHERE upload_ref = $1 AND state IN ('active', 'committed')`, [uploadRef]);
    const recordedPartRefs = session
      ? (await this.#query('SELECT part_ref FROM parts WHERE session_id = $1', [session.id])).map((row) => asPartRef(String(row.part_ref))) : null;
    const version = joinedBlobKey === undefined
      ? undefined : await this.#one('SELECT id FROM file_versions WHERE blob_key = $1 LIMIT 1', [joinedBlobKey]);
    return { recordedPartRefs, isFileBlob: version !== undefined };
  }

  async claimGarbage(now: Millis, leaseMs: number, limit: number): Promise<GarbageRecord[]> {
    const rows = await this.#query(`UPDATE garbage SET lease_until = $1 WHERE id IN (
        SELECT id FROM garbage WHERE lease_until <= $2 ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
      RETURNING id, kind, ref`, [now + leaseMs, now, limit]);
    return rows.map(toGarbage).sort((a, b) => Number(a.id) - Number(b.id));
  }

  async deleteGarbage(garbageId: string): Promise<void> {
    await this.#query('DELETE FROM garbage WHERE id = $1', [garbageId]);
  }

  async getOrCreateSecret(name: string, generate: () => string): Promise<string> {
    await this.#query('INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, generate()]);
    return String((await this.#one('SELECT value FROM settings WHERE name = $1', [name]))!.value);
  }

  async setSecret(name: string, value: string): Promise<void> {
    await this.#query('INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value', [name, value]);
  }

  async getWebhook(webhookId: string): Promise<WebhookRecord | undefined> {
    const row = await this.#one('SELECT * FROM webhooks WHERE id = $1', [webhookId]);
    return row && toWebhook(row);
  }

  async listWebhooks(ownerId: string, afterId: string | undefined, limit: number): Promise<WebhookRecord[]> {
    return (await this.#query('SELECT * FROM webhooks WHERE owner_id = $1 AND id > $2 ORDER BY id LIMIT $3', [ownerId, afterId ?? 0, limit])).map(toWebhook);
  }

  async claimDeliveries(now: Millis, leaseMs: number, limit: number): Promise<DeliveryRecord[]> {
    // SKIP LOCKED: nodes claiming at once each take other rows instead of waiting for one another.
    const rows = await this.#query(`UPDATE event_deliveries SET lease_until = $1 WHERE id IN (
        SELECT id FROM event_deliveries WHERE state = 'pending' AND due_at <= $2 AND lease_until <= $2
        ORDER BY due_at, created_at LIMIT $3 FOR UPDATE SKIP LOCKED)
      RETURNING *`, [now + leaseMs, now, limit]);
    return rows.sort((a, b) => Number(a.due_at) - Number(b.due_at) || Number(a.created_at) - Number(b.created_at)).map(toDelivery);
  }

  async settleDelivery(deliveryId: string, settlement: DeliverySettlement): Promise<void> {
    const columns = settlementColumns(settlement);
    await this.#query(`UPDATE event_deliveries SET state = $1, attempts = attempts + 1, due_at = coalesce($2, due_at), settled_at = $3,
      last_error = $4, lease_until = 0 WHERE id = $5 AND state = 'pending'`, [columns.state, columns.dueAt, columns.settledAt, columns.error, deliveryId]);
  }

  async deliveryBacklog(): Promise<DeliveryBacklog> {
    const [row] = await this.#query(`SELECT count(*) AS n, min(created_at) AS oldest FROM event_deliveries WHERE state = 'pending'`, []);
    return { pending: Number(row!.n), oldestCreatedAt: row!.oldest === null ? null : Number(row!.oldest) };
  }

  async ping(): Promise<void> {
    await this.#query('SELECT 1', []);
  }

  async close(): Promise<void> {
    if (!this.#pool.ended) await this.#pool.end();
  }

  async #query(sql: string, params: unknown[]): Promise<Row[]> {
    try {
      return (await this.#pool.query(sql, params)).rows;
    } catch (error) {
      throw translate(error);
    }
  }

  async #one(sql: string, params: unknown[]): Promise<Row | undefined> {
    return (await this.#query(sql, params))[0];
  }

  /** Runs `work` in a transaction, again if PostgreSQL chose it as a deadlock or serialization victim. */
  async #tx<T>(work: (client: Client) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let client: Client;
      try {
        client = await this.#pool.connect();
      } catch (error) {
        throw translate(error);
      }
      let broken = false;
      try {
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        const code = (error as { code?: string }).code;
        if (code !== undefined && RETRYABLE.has(code) && attempt < 5) continue;
        throw translate(error);
      } finally {
        client.release(broken);
      }
    }
  }
}

function translate(error: unknown): unknown {
  const code = (error as { code?: string }).code;
  const message = (error as Error | undefined)?.message ?? '';
  if ((code !== undefined && UNAVAILABLE.has(code)) || /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/.test(message)) {
    return new MetadataUnavailableError({ cause: error });
  }
  return error;
}

async function endSession(client: Client, session: UploadSessionRecord, state: 'aborted' | 'expired'): Promise<void> {
  await client.query('UPDATE upload_sessions SET state = $1 WHERE id = $2', [state, session.id]);
  await client.query('DELETE FROM parts WHERE session_id = $1', [session.id]);
  // Discarding the upload also discards any blob completed from it (BlobStore.abortUpload).
  await client.query(`INSERT INTO garbage (kind, ref) VALUES ('upload', $1)`, [session.uploadRef]);
}
