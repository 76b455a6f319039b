import type pg from 'pg';
import type { DeliveryRecord, NewWebhook, WebhookRecord } from '../../core/event-model.js';
import type { FileRecord, FolderRecord, ItemFields, ItemRecord, Millis, NewFile, NewFolder, NewVersion, UploadSessionRecord, UserRecord } from '../../core/model.js';
import { toWebhook } from '../event-rows.js';
import { fromSession, toItem, toSession, toUser } from '../rows.js';
import type { MetadataTransaction } from '../store.js';

export const ITEM_SELECT = `SELECT items.*, file_versions.blob_key AS blob_key
  FROM items LEFT JOIN file_versions ON file_versions.id = items.version_id`;

/** The queries of one transaction on one pooled client; locks are `FOR UPDATE` and last until it ends. */
export class PostgresTransaction implements MetadataTransaction {
  readonly #client: pg.PoolClient;

  constructor(client: pg.PoolClient) {
    this.#client = client;
  }

  async lockSession(sessionId: string): Promise<UploadSessionRecord | undefined> {
    const row = (await this.#client.query('SELECT * FROM upload_sessions WHERE id = $1 FOR UPDATE', [sessionId])).rows[0];
    return row && toSession(row);
  }

  async lockItem(itemId: string): Promise<{ item: ItemRecord; nameKey: string } | undefined> {
    // Locks the item's row only, not its version's (the nullable side of the join).
    const row = (await this.#client.query(`${ITEM_SELECT} WHERE items.id = $1 FOR UPDATE OF items`, [itemId])).rows[0];
    return row && { item: toItem(row), nameKey: String(row.name_key) };
  }

  async lockUser(userId: string): Promise<void> {
    await this.#client.query('SELECT id FROM users WHERE id = $1 FOR UPDATE', [userId]);
  }

  async findChild(parentId: string, nameKey: string): Promise<ItemRecord | undefined> {
    const row = (await this.#client.query(`${ITEM_SELECT} WHERE items.parent_id = $1 AND items.name_key = $2`, [parentId, nameKey])).rows[0];
    return row && toItem(row);
  }

  async openSessionCount(ownerId: string): Promise<number> {
    const [open] = (await this.#client.query(`SELECT count(*) AS n FROM upload_sessions WHERE owner_id = $1 AND state = 'active'`, [ownerId])).rows;
    return Number(open.n);
  }

  async storageUsed(ownerId: string): Promise<number> {
    const files = await this.#client.query(`SELECT coalesce(sum(file_versions.size), 0) AS n FROM file_versions
      JOIN items ON items.id = file_versions.file_id WHERE items.owner_id = $1`, [ownerId]);
    const sessions = await this.#client.query(`SELECT coalesce(sum(file_size), 0) AS n FROM upload_sessions WHERE owner_id = $1 AND state = 'active'`, [ownerId]);
    return Number(files.rows[0].n) + Number(sessions.rows[0].n);
  }

  async insertSession(session: UploadSessionRecord): Promise<void> {
    const row = fromSession(session);
    const columns = Object.keys(row);
    await this.#client.query(`INSERT INTO upload_sessions (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
      Object.values(row));
  }

  async insertFolder(folder: NewFolder): Promise<FolderRecord> {
    const inserted = await this.#client.query(`INSERT INTO items (type, owner_id, parent_id, name, name_key, created_at, modified_at)
      VALUES ('folder', $1, $2, $3, $4, $5, $5) RETURNING id`, [folder.ownerId, folder.parentId, folder.name, folder.nameKey, folder.now]);
    return (await this.#itemById(inserted.rows[0].id)) as FolderRecord;
  }

  async insertFile(file: NewFile): Promise<FileRecord> {
    const inserted = await this.#client.query(`INSERT INTO items (type, owner_id, parent_id, name, name_key, description, created_at,
        modified_at, content_created_at, content_modified_at, size, sha1, etag)
      VALUES ('file', $1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10, 0) RETURNING id`,
    [file.ownerId, file.parentId, file.name, file.nameKey, file.description ?? '', file.now,
      file.contentCreatedAt ?? file.now, file.contentModifiedAt ?? file.now, file.size, file.sha1]);
    const fileId = inserted.rows[0].id;
    const version = await this.#client.query(
      'INSERT INTO file_versions (file_id, blob_key, size, sha1, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id',
      [fileId, file.blobKey, file.size, file.sha1, file.now]);
    await this.#client.query('UPDATE items SET version_id = $1 WHERE id = $2', [version.rows[0].id, fileId]);
    return (await this.#itemById(fileId)) as FileRecord;
  }

  async insertVersion(current: FileRecord, name: string, nameKey: string, version: NewVersion): Promise<FileRecord> {
    const inserted = await this.#client.query(
      'INSERT INTO file_versions (file_id, blob_key, size, sha1, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id',
      [current.id, version.blobKey, version.size, version.sha1, version.now]);
    await this.#client.query(`UPDATE items SET version_id = $1, size = $2, sha1 = $3, etag = $4, name = $5, name_key = $6, modified_at = $7,
        content_modified_at = $8, content_created_at = $9, description = $10 WHERE id = $11`,
    [inserted.rows[0].id, version.size, version.sha1, current.etag + 1, name, nameKey, version.now,
      version.contentModifiedAt ?? version.now, version.contentCreatedAt ?? current.contentCreatedAt,
      version.description ?? current.description, current.id]);
    return (await this.#itemById(current.id)) as FileRecord;
  }

  async markCommitted(sessionId: string, fileId: string): Promise<void> {
    await this.#client.query(`UPDATE upload_sessions SET state = 'committed', committed_file_id = $1 WHERE id = $2`, [fileId, sessionId]);
  }

  async childrenOf(folderId: string): Promise<Array<{ item: ItemRecord; nameKey: string }>> {
    const rows = (await this.#client.query(`${ITEM_SELECT} WHERE items.parent_id = $1 ORDER BY items.id`, [folderId])).rows;
    return rows.map((row) => ({ item: toItem(row), nameKey: String(row.name_key) }));
  }

  async hasChildren(folderId: string): Promise<boolean> {
    return (await this.#client.query('SELECT id FROM items WHERE parent_id = $1 LIMIT 1', [folderId])).rows.length > 0;
  }

  async trashItem(itemId: string, now: Millis): Promise<ItemRecord> {
    await this.#client.query(`WITH RECURSIVE tree(id) AS (
        SELECT $1::bigint UNION ALL SELECT items.id FROM items JOIN tree ON items.parent_id = tree.id)
      UPDATE items SET trashed_at = $2, trash_root_id = $1 WHERE id IN (SELECT id FROM tree)`, [itemId, now]);
    await this.#client.query('UPDATE items SET trashed_parent_id = parent_id, parent_id = NULL WHERE id = $1', [itemId]);
    return (await this.#itemById(itemId))!;
  }

  async restoreItem(itemId: string, parentId: string, name: string, nameKey: string, now: Millis): Promise<ItemRecord> {
    await this.#client.query('UPDATE items SET trashed_at = NULL, trash_root_id = NULL WHERE trash_root_id = $1', [itemId]);
    await this.#client.query(`UPDATE items SET parent_id = $1, trashed_parent_id = NULL, name = $2, name_key = $3, modified_at = $4
      WHERE id = $5`, [parentId, name, nameKey, now, itemId]);
    return (await this.#itemById(itemId))!;
  }

  async updateItem(itemId: string, fields: ItemFields): Promise<ItemRecord> {
    await this.#client.query(`UPDATE items SET parent_id = $1, name = $2, name_key = $3, description = $4, content_modified_at = $5,
        modified_at = $6, etag = $7 WHERE id = $8`,
    [fields.parentId, fields.name, fields.nameKey, fields.description, fields.contentModifiedAt, fields.modifiedAt, fields.etag, itemId]);
    return (await this.#itemById(itemId))!;
  }

  async purgeTrashed(itemId: string): Promise<boolean> {
    const root = await this.#client.query('SELECT id FROM items WHERE id = $1 AND trash_root_id = id FOR UPDATE', [itemId]);
    if (root.rows.length === 0) return false;
    await this.#client.query(`INSERT INTO garbage (kind, ref) SELECT 'blob', file_versions.blob_key FROM file_versions
      JOIN items ON items.id = file_versions.file_id WHERE items.trash_root_id = $1`, [itemId]);
    await this.#client.query('DELETE FROM file_versions WHERE file_id IN (SELECT id FROM items WHERE trash_root_id = $1)', [itemId]);
    await this.#client.query('DELETE FROM items WHERE trash_root_id = $1', [itemId]);
    return true;
  }

  async ancestors(itemId: string): Promise<FolderRecord[]> {
    // Follows the folder a trashed item was deleted from, so a deleted item still has the path it had.
    const rows = (await this.#client.query(`WITH RECURSIVE chain(id, depth) AS (
        SELECT coalesce(parent_id, trashed_parent_id), 1 FROM items WHERE id = $1
        UNION ALL
        SELECT coalesce(items.parent_id, items.trashed_parent_id), chain.depth + 1 FROM items JOIN chain ON items.id = chain.id
        WHERE coalesce(items.parent_id, items.trashed_parent_id) IS NOT NULL)
      SELECT items.*, NULL AS blob_key FROM chain JOIN items ON items.id = chain.id ORDER BY chain.depth DESC`, [itemId])).rows;
    return rows.map((row) => toItem(row) as FolderRecord);
  }

  async userById(userId: string): Promise<UserRecord | undefined> {
    const row = (await this.#client.query('SELECT * FROM users WHERE id = $1', [userId])).rows[0];
    return row && toUser(row);
  }

  async webhooksOn(targetIds: readonly string[]): Promise<WebhookRecord[]> {
    const rows = (await this.#client.query('SELECT * FROM webhooks WHERE target_id = ANY($1::bigint[]) ORDER BY id', [targetIds])).rows;
    return rows.map(toWebhook);
  }

  async webhooksInTrashOf(trashRootId: string): Promise<WebhookRecord[]> {
    const rows = (await this.#client.query(`SELECT * FROM webhooks WHERE target_id IN (SELECT id FROM items WHERE trash_root_id = $1)
      ORDER BY id FOR UPDATE`, [trashRootId])).rows;
    return rows.map(toWebhook);
  }

  async lockWebhook(id: string): Promise<WebhookRecord | undefined> {
    const row = (await this.#client.query('SELECT * FROM webhooks WHERE id = $1 FOR UPDATE', [id])).rows[0];
    return row && toWebhook(row);
  }

  async findWebhook(targetId: string, address: string): Promise<WebhookRecord | undefined> {
    const row = (await this.#client.query('SELECT * FROM webhooks WHERE target_id = $1 AND address = $2', [targetId, address])).rows[0];
    return row && toWebhook(row);
  }

  async insertWebhook(webhook: NewWebhook): Promise<WebhookRecord> {
    const row = (await this.#client.query(`INSERT INTO webhooks (owner_id, target_type, target_id, address, triggers, created_at)
      VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
    [webhook.ownerId, webhook.targetType, webhook.targetId, webhook.address, webhook.triggers.join(','), webhook.createdAt])).rows[0];
    return toWebhook(row);
  }

  async updateWebhook(webhook: WebhookRecord): Promise<WebhookRecord> {
    const row = (await this.#client.query(`UPDATE webhooks SET target_type = $1, target_id = $2, address = $3, triggers = $4
      WHERE id = $5 RETURNING *`, [webhook.targetType, webhook.targetId, webhook.address, webhook.triggers.join(','), webhook.id])).rows[0];
    return toWebhook(row);
  }

  async deleteWebhook(id: string): Promise<void> {
    await this.#client.query('DELETE FROM webhooks WHERE id = $1', [id]);
  }

  async insertDelivery(delivery: Omit<DeliveryRecord, 'attempts'>): Promise<void> {
    await this.#client.query(`INSERT INTO event_deliveries (id, event_id, kind, webhook_id, address, trigger_name, facts, created_at, state, due_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $8)`,
    [delivery.id, delivery.eventId, delivery.kind, delivery.webhookId, delivery.address, delivery.trigger, delivery.facts, delivery.createdAt]);
  }

  async #itemById(itemId: unknown): Promise<ItemRecord | undefined> {
    const row = (await this.#client.query(`${ITEM_SELECT} WHERE items.id = $1`, [itemId])).rows[0];
    return row && toItem(row);
  }
}
