import type { MetadataStore, MetadataTransaction } from '../metadata/store.js';
import type {
  CommitInput, CommitResult, CopyRequest, CopyResult, CreateItemResult, CreateSessionResult, CreateVersionResult, FileRecord, FolderRecord, ItemChanges, ItemRecord,
  NewFile, NewFolder, NewVersion, RestoreRequest, RestoreResult, SessionLimits, TrashRequest, TrashResult, UpdateItemResult,
  UploadSessionRecord,
} from './model.js';
import type { EventOutbox, ItemChange } from './event-outbox.js';
import type { ItemEventFacts, WebhookRecord } from './event-model.js';

/**
 * The steps where racing requests (or nodes) meet Box's rules: a name taken twice, a stale If-Match,
 * a quota or an open-session limit squeezed by two sessions at once, a commit racing an abort. Each
 * is decided here, once, inside one metadata transaction whose row locks make the check and the
 * write atomic on every backend; the outcome is reported as data, for the caller to answer.
 */
export class AtomicSteps {
  readonly #metadata: MetadataStore;
  /** Where each change's events go, in the change's own transaction; none: no events (a bare core in tests). */
  readonly #events: EventOutbox | undefined;

  constructor(metadata: MetadataStore, events?: EventOutbox) {
    this.#metadata = metadata;
    this.#events = events;
  }

  /**
   * One transaction whose changes may queue events (`record`), written in it; the sender is nudged
   * once it committed. (`work` may run again after a deadlock: the count starts over with it.)
   */
  async #transact<T>(work: (tx: MetadataTransaction, record: (change: ItemChange) => Promise<void>,
    webhookGone: (webhook: WebhookRecord, now: number) => Promise<void>) => Promise<T>): Promise<T> {
    let queued = 0;
    const result = await this.#metadata.transact((tx) => {
      queued = 0;
      return work(tx, async (change) => {
        if (this.#events) queued += await this.#events.record(tx, change);
      }, async (webhook, now) => {
        if (this.#events) queued += await this.#events.recordWebhookDeleted(tx, webhook, now);
      });
    });
    if (queued > 0) this.#events?.committed();
    return result;
  }

  createFolder(folder: NewFolder): Promise<CreateItemResult<FolderRecord>> {
    return this.#transact(async (tx, record): Promise<CreateItemResult<FolderRecord>> => {
      const name = await takeName(tx, folder.parentId, folder.nameKey);
      if (name !== 'free') return name;
      const created = await tx.insertFolder(folder);
      await record({ trigger: 'FOLDER.CREATED', item: created, path: await tx.ancestors(created.id), now: folder.now });
      return { created };
    });
  }

  /**
   * A new file, unless its owner's storage use plus its size would pass `quota` (null: no limit):
   * the quota is counted in the same transaction, under the user's lock, so two uploads racing for
   * the last bytes of a quota cannot both pass.
   */
  createFile(file: NewFile, quota: number | null = null): Promise<CreateItemResult<FileRecord> | QuotaExceeded> {
    return this.#transact(async (tx, record) => {
      const refused = await exceedsQuota(tx, file.ownerId, file.size, quota);
      if (refused) return refused;
      const created = await createFile(tx, file);
      if ('created' in created) await record(uploaded(created.created, await tx.ancestors(created.created.id), file.now, null));
      return created;
    });
  }

  /**
   * A new version under the file's own name; `ifMatch`, when given, must be the file's current etag.
   * With `limits`, refused when the owner's storage use plus its size would pass the quota (old versions count).
   */
  addFileVersion(version: NewVersion, limits?: { ownerId: string; quota: number | null }): Promise<CreateVersionResult | QuotaExceeded> {
    return this.#transact(async (tx, record) => {
      const refused = limits && await exceedsQuota(tx, limits.ownerId, version.size, limits.quota);
      if (refused) return refused;
      const created = await addVersion(tx, version, undefined);
      if ('created' in created) await record(uploaded(created.created, await tx.ancestors(created.created.id), version.now, null));
      return created;
    });
  }

  /**
   * Renames, moves or re-describes an item. The item's lock orders racing updates of it; the target
   * folder's lock orders the names taken in it; and a folder's move locks every folder above its new
   * parent, so two moves that would each put one folder inside the other cannot both pass the check
   * (on PostgreSQL one waits or is a deadlock's victim, and runs again seeing the other's outcome).
   */
  updateItem(changes: ItemChanges): Promise<UpdateItemResult> {
    return this.#transact(async (tx, record): Promise<UpdateItemResult> => {
      const locked = await tx.lockItem(changes.itemId);
      // A user's root folder has no parent to move it from, nor a name of its own to change.
      if (!locked || !isOwnLive(locked.item, changes.ownerId) || locked.item.parentId === null) return { notFound: true };
      const item = locked.item;
      const currentParentId = locked.item.parentId;
      const etag = item.type === 'file' ? item.etag : 0;
      if (changes.ifMatch !== undefined && changes.ifMatch !== String(etag)) return { preconditionFailed: item };
      const parentId = changes.parentId ?? currentParentId;
      const nameKey = changes.rename?.nameKey ?? locked.nameKey;
      if (parentId !== currentParentId) {
        const parent = await tx.lockItem(parentId);
        if (parent?.item.type !== 'folder' || !isOwnLive(parent.item, changes.ownerId)) return { parentMissing: true };
        if (item.type === 'folder' && await isWithin(tx, parentId, item.id)) return { cyclical: true };
      }
      if (parentId !== currentParentId || nameKey !== locked.nameKey) {
        const name = await takeName(tx, parentId, nameKey);
        // The item's own name in another case is no clash with itself.
        if (name !== 'free' && 'conflict' in name && name.conflict.id !== item.id) return { conflict: name.conflict };
        if (name !== 'free' && 'parentMissing' in name) return { parentMissing: true };
      }
      const updated = await tx.updateItem(item.id, {
        parentId, name: changes.rename?.name ?? item.name, nameKey,
        description: changes.description ?? (item.type === 'file' ? item.description : ''),
        contentModifiedAt: changes.contentModifiedAt ?? (item.type === 'file' ? item.contentModifiedAt : null),
        // Box gives an item a new etag with each change; a folder's stays "0" here.
        modifiedAt: changes.now, etag: item.type === 'file' ? item.etag + 1 : 0,
      });
      const kind = item.type === 'file' ? 'FILE' : 'FOLDER';
      const moved = parentId !== currentParentId;
      if (moved || updated.name !== item.name) {
        const path = await tx.ancestors(updated.id);
        // A move is told to the webhooks of the folders it left too.
        const left = moved ? (await tx.ancestors(currentParentId)).map((folder) => folder.id).concat(currentParentId) : [];
        if (updated.name !== item.name) await record({ trigger: `${kind}.RENAMED`, item: updated, path, alsoBelow: left, now: changes.now });
        if (moved) await record({ trigger: `${kind}.MOVED`, item: updated, path, alsoBelow: left, now: changes.now });
      }
      return { updated };
    });
  }

  /** Copies a file (its current version, sharing the blob) or a folder with everything in it into another folder. */
  copyItem(request: CopyRequest): Promise<CopyResult> {
    return this.#transact(async (tx, record): Promise<CopyResult> => {
      const locked = await tx.lockItem(request.itemId);
      if (!locked || !isOwnLive(locked.item, request.ownerId) || locked.item.parentId === null) return { notFound: true };
      const parent = await tx.lockItem(request.parentId);
      if (parent?.item.type !== 'folder' || !isOwnLive(parent.item, request.ownerId)) return { parentMissing: true };
      if (locked.item.type === 'folder' && await isWithin(tx, request.parentId, locked.item.id)) return { cyclical: true };
      const name = await takeName(tx, request.parentId, request.nameKey);
      if (name !== 'free') return name;
      const copied = await copyTree(tx, locked.item, { parentId: request.parentId, name: request.name, nameKey: request.nameKey }, request);
      // Told where the copy is, and to the webhooks of the item copied and its folders.
      const from = [locked.item.id, ...(await tx.ancestors(locked.item.id)).map((folder) => folder.id)];
      await record({
        trigger: copied.type === 'file' ? 'FILE.COPIED' : 'FOLDER.COPIED', item: copied, path: await tx.ancestors(copied.id), alsoBelow: from, now: request.now,
      });
      return { copied };
    });
  }

  /** Moves an item to the trash, a folder with everything in it (only when `recursive`, if it has items). */
  trashItem(request: TrashRequest): Promise<TrashResult> {
    return this.#transact(async (tx, record): Promise<TrashResult> => {
      const locked = await tx.lockItem(request.itemId);
      if (!locked || !isOwnLive(locked.item, request.ownerId) || locked.item.parentId === null) return { notFound: true };
      const item = locked.item;
      if (request.ifMatch !== undefined && request.ifMatch !== String(item.type === 'file' ? item.etag : 0)) return { preconditionFailed: item };
      // The folder's lock keeps a new item from arriving between this check and the move.
      if (item.type === 'folder' && !request.recursive && await tx.hasChildren(item.id)) return { notEmpty: true };
      const trashed = await tx.trashItem(item.id, request.now);
      await record({ trigger: item.type === 'file' ? 'FILE.TRASHED' : 'FOLDER.TRASHED', item: trashed, path: await tx.ancestors(item.id), now: request.now });
      return { trashed };
    });
  }

  /** Takes an item the user deleted out of the trash, into its folder or `parentId`, if the name is free there. */
  restoreItem(request: RestoreRequest): Promise<RestoreResult> {
    return this.#transact(async (tx, record): Promise<RestoreResult> => {
      const locked = await tx.lockItem(request.itemId);
      const item = locked?.item;
      // Only an item deleted itself can be restored; what went with a folder comes back with it.
      if (!item || item.ownerId !== request.ownerId || item.trashedAt === undefined || item.trashedWith !== undefined) return { notFound: true };
      const parentId = request.parentId ?? item.parentId;
      if (parentId === null) return { notFound: true };
      const parent = await tx.lockItem(parentId);
      if (parent?.item.type !== 'folder' || !isOwnLive(parent.item, request.ownerId)) return { parentMissing: true };
      const conflict = await tx.findChild(parentId, request.nameKey);
      if (conflict) return { conflict };
      const restored = await tx.restoreItem(item.id, parentId, request.name, request.nameKey, request.now);
      await record({
        trigger: restored.type === 'file' ? 'FILE.RESTORED' : 'FOLDER.RESTORED', item: restored, path: await tx.ancestors(restored.id), now: request.now,
      });
      return { restored };
    });
  }

  /**
   * Deletes for good a trashed item that was deleted itself (by its owner, or by the janitor when its
   * time in the trash ran out), with everything that went with it and the webhooks on them; false if
   * it is no such item.
   */
  purgeTrashed(itemId: string, now: number): Promise<boolean> {
    return this.#transact(async (tx, record, webhookGone) => {
      const locked = await tx.lockItem(itemId);
      if (!locked || locked.item.trashedAt === undefined || locked.item.trashedWith !== undefined) return false;
      const path = await tx.ancestors(itemId);
      // As on Box, a webhook goes with its target, and says so (WEBHOOK.DELETED) if it asked to.
      for (const webhook of await tx.webhooksInTrashOf(itemId)) {
        await tx.deleteWebhook(webhook.id);
        await webhookGone(webhook, now);
      }
      if (!(await tx.purgeTrashed(itemId))) return false;
      await record({ trigger: locked.item.type === 'file' ? 'FILE.DELETED' : 'FOLDER.DELETED', item: locked.item, path, now });
      return true;
    });
  }

  /**
   * Inserts the session unless the owner's storage use plus its size would pass `limits.quota`, or
   * the owner already has `limits.maxOpenSessions` active sessions (null: no limit).
   */
  createSession(session: UploadSessionRecord, limits: SessionLimits): Promise<CreateSessionResult> {
    return this.#metadata.transact(async (tx): Promise<CreateSessionResult> => {
      // Serialises one user's session creations, so two cannot both squeeze under a limit.
      if (limits.quota !== null || limits.maxOpenSessions !== null) await tx.lockUser(session.ownerId);
      if (limits.maxOpenSessions !== null) {
        const open = await tx.openSessionCount(session.ownerId);
        if (open >= limits.maxOpenSessions) return { tooManySessions: open };
      }
      if (limits.quota !== null) {
        const used = await tx.storageUsed(session.ownerId);
        if (used + session.fileSize > limits.quota) return { quotaExceeded: used };
      }
      await tx.insertSession(session);
      return { created: true };
    });
  }

  /**
   * Turns an active session whose parts were joined into a file or a new version, exactly once: the
   * session's row lock makes a racing commit or abort wait, and see the outcome of this one.
   */
  commitSession(input: CommitInput): Promise<CommitResult> {
    return this.#transact(async (tx, record): Promise<CommitResult> => {
      const session = await tx.lockSession(input.sessionId);
      if (!session) return { notFound: true };
      if (session.state === 'committed') return { alreadyCommitted: session };
      if (session.state !== 'active' || session.blobKey === null || session.contentSha1 === null) return { notActive: session };
      const content = {
        blobKey: session.blobKey, size: session.fileSize, sha1: session.contentSha1, contentCreatedAt: input.contentCreatedAt,
        contentModifiedAt: input.contentModifiedAt, description: input.description, now: input.now,
      };
      const created = session.fileId !== null
        ? await addVersion(tx, { ...content, fileId: session.fileId, ifMatch: input.ifMatch },
          { name: session.fileName, nameKey: input.nameKey })
        : await createFile(tx, {
          ...content, ownerId: session.ownerId, parentId: session.folderId, name: session.fileName, nameKey: input.nameKey,
        });
      if ('parentMissing' in created || 'fileMissing' in created) return { targetMissing: true };
      if (!('created' in created)) return created;
      await tx.markCommitted(session.id, created.created.id);
      await record(uploaded(created.created, await tx.ancestors(created.created.id), input.now, session.id));
      return { committed: created.created };
    });
  }
}

/** FILE.UPLOADED (and the hook's post-commit) for a file or version made by a session or a simple upload. */
function uploaded(file: FileRecord, path: FolderRecord[], now: number, sessionId: string | null): ItemChange {
  const upload: ItemEventFacts['upload'] = sessionId === null ? { kind: 'simple', sessionId: null } : { kind: 'session', sessionId };
  return { trigger: 'FILE.UPLOADED', item: file, path, upload, now };
}

/** The storage the owner already uses, when `size` more bytes would pass its quota. */
export type QuotaExceeded = { quotaExceeded: number };

/** Locks the user (as a session creation does) and checks its quota; undefined when the bytes fit. */
async function exceedsQuota(tx: MetadataTransaction, ownerId: string, size: number, quota: number | null): Promise<QuotaExceeded | undefined> {
  if (quota === null) return undefined;
  await tx.lockUser(ownerId);
  const used = await tx.storageUsed(ownerId);
  return used + size > quota ? { quotaExceeded: used } : undefined;
}

type NameOutcome = 'free' | { conflict: ItemRecord } | { parentMissing: true };

/** Locks the folder and looks for the name in it; while the lock lasts, no one else can take the name. */
async function takeName(tx: MetadataTransaction, parentId: string, nameKey: string): Promise<NameOutcome> {
  const parent = await tx.lockItem(parentId);
  // A folder in the trash takes no new items.
  if (parent?.item.type !== 'folder' || parent.item.trashedAt !== undefined) return { parentMissing: true };
  const conflict = await tx.findChild(parentId, nameKey);
  return conflict ? { conflict } : 'free';
}

/** Inserts a copy of `item` under `where`, and of everything below a folder under the same names. */
async function copyTree(tx: MetadataTransaction, item: ItemRecord, where: { parentId: string; name: string; nameKey: string },
  request: CopyRequest): Promise<ItemRecord> {
  const common = { ownerId: request.ownerId, ...where, now: request.now };
  if (item.type === 'file') {
    return tx.insertFile({
      ...common, blobKey: item.blobKey, size: item.size, sha1: item.sha1, description: item.description,
      contentCreatedAt: item.contentCreatedAt, contentModifiedAt: item.contentModifiedAt,
    });
  }
  const copy = await tx.insertFolder(common);
  for (const child of await tx.childrenOf(item.id)) {
    await copyTree(tx, child.item, { parentId: copy.id, name: child.item.name, nameKey: child.nameKey }, request);
  }
  return copy;
}

/** The user's own item, not in the trash. */
function isOwnLive(item: ItemRecord, ownerId: string): boolean {
  return item.ownerId === ownerId && item.trashedAt === undefined;
}

/** Whether `folderId` is `ancestorId` or lies below it; locks each folder on the way up. */
async function isWithin(tx: MetadataTransaction, folderId: string, ancestorId: string): Promise<boolean> {
  for (let id: string | null = folderId; id !== null;) {
    if (id === ancestorId) return true;
    const locked = await tx.lockItem(id);
    id = locked?.item.parentId ?? null;
  }
  return false;
}

async function createFile(tx: MetadataTransaction, file: NewFile): Promise<CreateItemResult<FileRecord>> {
  const name = await takeName(tx, file.parentId, file.nameKey);
  if (name !== 'free') return name;
  return { created: await tx.insertFile(file) };
}

/** A new version, renaming the file when `rename` gives another name (a version session's file name). */
async function addVersion(tx: MetadataTransaction, version: NewVersion,
  rename: { name: string; nameKey: string } | undefined): Promise<CreateVersionResult> {
  const locked = await tx.lockItem(version.fileId);
  if (locked?.item.type !== 'file' || locked.item.trashedAt !== undefined) return { fileMissing: true };
  const current = locked.item;
  if (version.ifMatch !== undefined && version.ifMatch !== String(current.etag)) return { preconditionFailed: current };
  if (rename && rename.nameKey !== locked.nameKey) {
    // A folder gone meanwhile leaves nothing to clash with: the file is removed with it.
    const name = await takeName(tx, current.parentId, rename.nameKey);
    if (name !== 'free' && 'conflict' in name) return { conflict: name.conflict };
  }
  return { created: await tx.insertVersion(current, rename?.name ?? current.name, rename?.nameKey ?? locked.nameKey, version) };
}
