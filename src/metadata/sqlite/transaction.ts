import type { DeliveryRecord, NewWebhook, WebhookRecord } from '../../core/event-model.js';
import type { FileRecord, FolderRecord, ItemFields, ItemRecord, Millis, NewFile, NewFolder, NewVersion, UploadSessionRecord, UserRecord } from '../../core/model.js';
import { toWebhook } from '../event-rows.js';
import { fromSession, toItem, toSession, toUser, type Row } from '../rows.js';
import type { MetadataTransaction } from '../store.js';
import type { EventStatements } from './event-statements.js';
import type { Statements } from './statements.js';

/**
 * The queries of the SQLite store's transactions. A write transaction (BEGIN IMMEDIATE) holds the
 * whole database, so the locks are plain reads. The store runs one such transaction at a time and
 * keeps every other statement of the process out until it ends.
 */
export class SqliteTransaction implements MetadataTransaction {
  readonly #sql: Statements;
  readonly #events: EventStatements;

  constructor(statements: Statements, events: EventStatements) {
    this.#sql = statements;
    this.#events = events;
  }

  async lockSession(sessionId: string): Promise<UploadSessionRecord | undefined> {
    const row = this.#sql.sessionById.get(sessionId) as Row | undefined;
    return row && toSession(row);
  }

  async lockItem(itemId: string): Promise<{ item: ItemRecord; nameKey: string } | undefined> {
    const row = this.itemRow(itemId);
    return row && { item: toItem(row), nameKey: String(row.name_key) };
  }

  async lockUser(): Promise<void> {}

  async findChild(parentId: string, nameKey: string): Promise<ItemRecord | undefined> {
    const row = this.#sql.childByName.get(parentId, nameKey) as Row | undefined;
    return row && toItem(row);
  }

  async openSessionCount(ownerId: string): Promise<number> {
    return (this.#sql.openSessionsOf.get(ownerId) as { n: number }).n;
  }

  async storageUsed(ownerId: string): Promise<number> {
    return this.bytesUsed(ownerId);
  }

  async insertSession(session: UploadSessionRecord): Promise<void> {
    this.#sql.insertSession.run(fromSession(session));
  }

  async insertFolder(folder: NewFolder): Promise<FolderRecord> {
    const id = this.#sql.insertItem.run({
      type: 'folder', owner_id: folder.ownerId, parent_id: folder.parentId, name: folder.name,
      name_key: folder.nameKey, description: '', created_at: folder.now, modified_at: folder.now,
      content_created_at: null, content_modified_at: null, size: 0, sha1: null, version_id: null, etag: 0,
    }).lastInsertRowid;
    return toItem(this.itemRow(String(id))!) as FolderRecord;
  }

  async insertFile(file: NewFile): Promise<FileRecord> {
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
    return toItem(this.itemRow(String(id))!) as FileRecord;
  }

  async insertVersion(current: FileRecord, name: string, nameKey: string, version: NewVersion): Promise<FileRecord> {
    const versionId = this.#sql.insertVersion.run(current.id, version.blobKey, version.size, version.sha1, version.now).lastInsertRowid;
    this.#sql.setFileVersion.run({
      id: current.id, version_id: versionId, size: version.size, sha1: version.sha1, etag: current.etag + 1,
      name, name_key: nameKey, modified_at: version.now,
      content_modified_at: version.contentModifiedAt ?? version.now,
      content_created_at: version.contentCreatedAt ?? current.contentCreatedAt,
      description: version.description ?? current.description,
    });
    return toItem(this.itemRow(current.id)!) as FileRecord;
  }

  async markCommitted(sessionId: string, fileId: string): Promise<void> {
    this.#sql.markCommitted.run(fileId, sessionId);
  }

  async childrenOf(folderId: string): Promise<Array<{ item: ItemRecord; nameKey: string }>> {
    return (this.#sql.allChildren.all(folderId) as Row[]).map((row) => ({ item: toItem(row), nameKey: String(row.name_key) }));
  }

  async hasChildren(folderId: string): Promise<boolean> {
    return this.#sql.firstChild.get(folderId) !== undefined;
  }

  async trashItem(itemId: string, now: Millis): Promise<ItemRecord> {
    this.#sql.trashTree.run(itemId, now, itemId);
    this.#sql.leaveFolder.run(itemId);
    return toItem(this.itemRow(itemId)!);
  }

  async restoreItem(itemId: string, parentId: string, name: string, nameKey: string, now: Millis): Promise<ItemRecord> {
    this.#sql.untrash.run(itemId);
    this.#sql.restoreInto.run(parentId, name, nameKey, now, itemId);
    return toItem(this.itemRow(itemId)!);
  }

  async updateItem(itemId: string, fields: ItemFields): Promise<ItemRecord> {
    this.#sql.updateItem.run({
      id: itemId, parent_id: fields.parentId, name: fields.name, name_key: fields.nameKey, description: fields.description,
      content_modified_at: fields.contentModifiedAt, modified_at: fields.modifiedAt, etag: fields.etag,
    });
    return toItem(this.itemRow(itemId)!);
  }

  async purgeTrashed(itemId: string): Promise<boolean> {
    if (this.#sql.trashRoot.get(itemId) === undefined) return false;
    this.#sql.trashedBlobs.run(itemId);
    this.#sql.trashedVersions.run(itemId);
    this.#sql.trashedItems.run(itemId);
    return true;
  }

  async ancestors(itemId: string): Promise<FolderRecord[]> {
    return (this.#events.ancestorsAny.all(itemId) as Row[]).map((row) => toItem(row) as FolderRecord);
  }

  async userById(userId: string): Promise<UserRecord | undefined> {
    const row = this.#sql.userById.get(userId) as Row | undefined;
    return row && toUser(row);
  }

  async webhooksOn(targetIds: readonly string[]): Promise<WebhookRecord[]> {
    return (this.#events.webhooksOn.all(JSON.stringify(targetIds.map(Number))) as Row[]).map(toWebhook);
  }

  async webhooksInTrashOf(trashRootId: string): Promise<WebhookRecord[]> {
    return (this.#events.webhooksInTrash.all(trashRootId) as Row[]).map(toWebhook);
  }

  async lockWebhook(id: string): Promise<WebhookRecord | undefined> {
    const row = this.#events.webhookById.get(id) as Row | undefined;
    return row && toWebhook(row);
  }

  async findWebhook(targetId: string, address: string): Promise<WebhookRecord | undefined> {
    const row = this.#events.webhookByTarget.get(targetId, address) as Row | undefined;
    return row && toWebhook(row);
  }

  async insertWebhook(webhook: NewWebhook): Promise<WebhookRecord> {
    const id = this.#events.insertWebhook.run(webhookColumns(webhook)).lastInsertRowid;
    return toWebhook(this.#events.webhookById.get(id) as Row);
  }

  async updateWebhook(webhook: WebhookRecord): Promise<WebhookRecord> {
    this.#events.updateWebhook.run({ ...webhookColumns(webhook), id: webhook.id });
    return toWebhook(this.#events.webhookById.get(webhook.id) as Row);
  }

  async deleteWebhook(id: string): Promise<void> {
    this.#events.deleteWebhook.run(id);
  }

  async insertDelivery(delivery: Omit<DeliveryRecord, 'attempts'>): Promise<void> {
    this.#events.insertDelivery.run({
      id: delivery.id, event_id: delivery.eventId, kind: delivery.kind, webhook_id: delivery.webhookId, address: delivery.address,
      trigger_name: delivery.trigger, facts: delivery.facts, created_at: delivery.createdAt,
    });
  }

  /** Synchronous reads the store's own one-statement steps share. */
  itemRow(itemId: string): Row | undefined {
    return this.#sql.itemById.get(itemId) as Row | undefined;
  }

  bytesUsed(ownerId: string): number {
    const files = (this.#sql.bytesInVersions.get(ownerId) as { n: number }).n;
    const sessions = (this.#sql.bytesInSessions.get(ownerId) as { n: number }).n;
    return files + sessions;
  }
}

export function webhookColumns(webhook: NewWebhook) {
  return {
    owner_id: webhook.ownerId, target_type: webhook.targetType, target_id: webhook.targetId, address: webhook.address,
    triggers: webhook.triggers.join(','), created_at: webhook.createdAt,
  };
}
