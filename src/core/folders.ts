import type { Readable } from 'node:stream';
import type { BlobStore, ByteRange } from '../blobs/store.js';
import type { MetadataStore } from '../metadata/store.js';
import type { ChildOrder, FileRecord, FileVersionRecord, FolderRecord, ItemRecord, NewFileContent, Page, UploadRef, UserRecord } from './model.js';
import { AtomicSteps } from './atomic-steps.js';
import type { EventOutbox } from './event-outbox.js';
import { BoxError, ItemConflictError, rethrowStorageFull, type BoxErrorCode } from './errors.js';
import { PartMeter } from './hashing.js';
import { isItemId, newAttemptId } from './ids.js';
import { markerAfter, positionOf } from './item-markers.js';
import { checkItemName, nameKey } from './names.js';
import { gateError, OPEN_GATE, publicFolderId, type GateVerdict, type UploadDescription, type UploadGate } from './upload-gate.js';

export interface Downloadable {
  name: string;
  size: number;
  sha1: string;
  open(range?: ByteRange): Promise<Readable>;
}

/** The id every user's root folder has on the wire. */
export const ROOT_FOLDER_ID = '0';

/** A page of a folder's items: by `offset`, or with `marker` paging (`marker` undefined for the first page). */
export interface ItemsQuery {
  order: ChildOrder;
  limit: number;
  offset?: number | undefined;
  useMarker?: boolean | undefined;
  marker?: string | undefined;
}

export interface ItemsPage extends Page<ItemRecord> {
  /** With marker paging, where the next page starts; null after the last page. */
  nextMarker: string | null;
}

/** Box's `PUT /files/{id}` and `PUT /folders/{id}`: what to change; an absent field stays. */
export interface ItemUpdate {
  name?: string | undefined;
  /** The folder to move the item into; "0" is the root. */
  parentId?: string | undefined;
  description?: string | undefined;
  contentModifiedAt?: number | undefined;
  ifMatch?: string | undefined;
}

export interface SimpleUpload {
  name: string;
  /** The most bytes the content may have (its length is not known before it has arrived). */
  maxSize: number;
  /** When the client sent one, the SHA-1 (hex) the content must have. */
  sha1?: string | undefined;
  contentCreatedAt?: number | undefined;
  contentModifiedAt?: number | undefined;
  /** Where this server's links are reached, for the pre-commit hook's link to the stored bytes. */
  linkBase?: string | undefined;
}

/**
 * Folders and files as one user sees them. Anything owned by someone else is "not found", so no
 * answer tells a user that another user's item exists.
 */
export class Folders {
  readonly #metadata: MetadataStore;
  readonly #steps: AtomicSteps;
  readonly #blobs: BlobStore;
  readonly #now: () => number;
  readonly #onGarbage: () => void;
  /** Bytes each user may store, sessions in progress included; null: no limit. */
  readonly #storageQuota: number | null;
  /** The operator's say before a simple upload is read and before it becomes a file. */
  readonly #gate: UploadGate;

  constructor(deps: {
    metadata: MetadataStore; blobs: BlobStore; now?: () => number; onGarbage?: () => void; storageQuota?: number | null; gate?: UploadGate;
    events?: EventOutbox;
  }) {
    this.#gate = deps.gate ?? OPEN_GATE;
    this.#metadata = deps.metadata;
    this.#steps = new AtomicSteps(deps.metadata, deps.events);
    this.#blobs = deps.blobs;
    this.#now = deps.now ?? Date.now;
    this.#onGarbage = deps.onGarbage ?? (() => {});
    this.#storageQuota = deps.storageQuota ?? null;
  }

  async folder(user: UserRecord, publicId: string): Promise<FolderRecord> {
    const item = await this.#item(user, publicId === ROOT_FOLDER_ID ? user.rootFolderId : publicId);
    if (item?.type !== 'folder') throw new BoxError('not_found', `Could not find the folder ${publicId}`);
    if (item.trashedAt !== undefined) throw new BoxError('trashed', `The folder ${publicId} is in the trash`);
    return item;
  }

  async file(user: UserRecord, id: string): Promise<FileRecord> {
    const item = await this.#item(user, id);
    if (item?.type !== 'file') throw new BoxError('not_found', `Could not find the file ${id}`);
    if (item.trashedAt !== undefined) throw new BoxError('trashed', `The file ${id} is in the trash`);
    return item;
  }

  /** An item the user deleted (not one that went to the trash with a folder above it). */
  async trashed(user: UserRecord, type: ItemRecord['type'], id: string): Promise<ItemRecord> {
    const item = await this.#item(user, id);
    if (item?.type !== type || item.trashedAt === undefined || item.trashedWith !== undefined) {
      throw new BoxError('not_found', `Could not find the trashed ${type} ${id}`);
    }
    return item;
  }

  async listTrash(user: UserRecord, offset: number, limit: number): Promise<Page<ItemRecord>> {
    return this.#metadata.listTrash(user.id, offset, limit);
  }

  /** Box's DELETE on an item: to the trash; a folder with items only when `recursive`. */
  async trash(user: UserRecord, type: ItemRecord['type'], id: string, options: { recursive: boolean; ifMatch?: string | undefined }): Promise<void> {
    const item = type === 'file' ? await this.file(user, id) : await this.folder(user, id);
    if (item.parentId === null) throw new BoxError('access_denied_insufficient_permissions', 'The root folder cannot be deleted');
    const result = await this.#steps.trashItem({ itemId: item.id, ownerId: user.id, recursive: options.recursive, ifMatch: options.ifMatch, now: this.#now() });
    if ('preconditionFailed' in result) throw new BoxError('precondition_failed');
    if ('notEmpty' in result) throw new BoxError('folder_not_empty', `The folder ${id} has items; delete it with recursive=true`);
    if ('notFound' in result) throw new BoxError('not_found', `Could not find the ${type} ${id}`);
  }

  /** Takes an item out of the trash: into the folder it was deleted from, or `parentId`, under its name or `name`. */
  async restore(user: UserRecord, type: ItemRecord['type'], id: string, to: { name?: string | undefined; parentId?: string | undefined }): Promise<ItemRecord> {
    const item = await this.trashed(user, type, id);
    const name = to.name ?? item.name;
    if (to.name !== undefined) checkItemName(to.name);
    const parentId = to.parentId === ROOT_FOLDER_ID ? user.rootFolderId : to.parentId;
    if (parentId !== undefined && !isItemId(parentId)) throw new BoxError('not_found', `Could not find the folder ${to.parentId}`);
    const result = await this.#steps.restoreItem({ itemId: item.id, ownerId: user.id, parentId, name, nameKey: nameKey(name), now: this.#now() });
    if ('restored' in result) return result.restored;
    if ('conflict' in result) throw new ItemConflictError(result.conflict);
    // Box's answer when the folder the item was deleted from is gone too: name another with `parent.id`.
    if ('parentMissing' in result) throw new BoxError('not_found', `Could not find the folder to restore into; give another as parent.id`);
    throw new BoxError('not_found', `Could not find the trashed ${type} ${id}`);
  }

  /** Box's `GET /files/{id}/versions`: the file's previous versions, newest first (not the current one). */
  async previousVersions(user: UserRecord, id: string): Promise<FileVersionRecord[]> {
    const file = await this.file(user, id);
    return (await this.#metadata.fileVersions(file.id)).filter((version) => version.id !== file.versionId);
  }

  /** Box's copy: into `parentId` ("0" the root), under the item's own name or `name`. */
  async copy(user: UserRecord, type: ItemRecord['type'], id: string, to: { parentId: string; name?: string | undefined }): Promise<ItemRecord> {
    const item = type === 'file' ? await this.file(user, id) : await this.folder(user, id);
    if (item.parentId === null) throw new BoxError('access_denied_insufficient_permissions', 'The root folder cannot be copied');
    if (to.name !== undefined) checkItemName(to.name);
    const name = to.name ?? item.name;
    const parentId = to.parentId === ROOT_FOLDER_ID ? user.rootFolderId : to.parentId;
    if (!isItemId(parentId)) throw new BoxError('not_found', `Could not find the folder ${to.parentId}`);
    const result = await this.#steps.copyItem({ itemId: item.id, ownerId: user.id, parentId, name, nameKey: nameKey(name), now: this.#now() });
    if ('copied' in result) return result.copied;
    if ('conflict' in result) throw new ItemConflictError(result.conflict);
    if ('cyclical' in result) throw new BoxError('cyclical_folder_structure', 'A folder cannot be copied into itself or a folder below it');
    if ('parentMissing' in result) throw new BoxError('not_found', `Could not find the folder ${to.parentId}`);
    throw new BoxError('not_found', `Could not find the ${type} ${id}`);
  }

  /** Deletes a trashed item for good; its bytes (and those of what went with it) become garbage. */
  async deleteForGood(user: UserRecord, type: ItemRecord['type'], id: string): Promise<void> {
    const item = await this.trashed(user, type, id);
    if (!(await this.#steps.purgeTrashed(item.id, this.#now()))) throw new BoxError('not_found', `Could not find the trashed ${type} ${id}`);
    this.#onGarbage();
  }

  /** Deletes for good what stayed in the trash past its lifetime (the janitor's call); false if it is gone already. */
  async purgeExpired(itemId: string): Promise<boolean> {
    return this.#steps.purgeTrashed(itemId, this.#now());
  }

  /** The folders above an item, root first. */
  async pathOf(item: ItemRecord): Promise<FolderRecord[]> {
    return this.#metadata.ancestors(item.id);
  }

  async createFolder(user: UserRecord, parentId: string, name: string): Promise<FolderRecord> {
    checkItemName(name);
    const parent = await this.folder(user, parentId);
    const result = await this.#steps.createFolder({ ownerId: user.id, parentId: parent.id, name, nameKey: nameKey(name), now: this.#now() });
    if ('conflict' in result) throw new ItemConflictError(result.conflict);
    if ('parentMissing' in result) throw new BoxError('not_found', `Could not find the folder ${parentId}`);
    return result.created;
  }

  async listItems(user: UserRecord, folderId: string, query: ItemsQuery): Promise<ItemsPage> {
    const folder = await this.folder(user, folderId);
    if (!query.useMarker) {
      const page = await this.#metadata.listChildrenOrdered(folder.id, { order: query.order, offset: query.offset ?? 0, limit: query.limit });
      return { ...page, nextMarker: null };
    }
    const after = query.marker === undefined ? undefined : positionOf(query.marker, query.order);
    // One more than asked tells whether another page follows, so the last page says so.
    const page = await this.#metadata.listChildrenOrdered(folder.id, { order: query.order, after, limit: query.limit + 1 });
    const entries = page.entries.slice(0, query.limit);
    const more = page.entries.length > query.limit;
    return { total: page.total, entries, nextMarker: more ? markerAfter(entries.at(-1)!, query.order) : null };
  }

  async updateFile(user: UserRecord, id: string, update: ItemUpdate): Promise<FileRecord> {
    const file = await this.file(user, id);
    return await this.#update(user, file, update) as FileRecord;
  }

  async updateFolder(user: UserRecord, publicId: string, update: ItemUpdate): Promise<FolderRecord> {
    const folder = await this.folder(user, publicId);
    if (folder.parentId === null) throw new BoxError('access_denied_insufficient_permissions', 'The root folder cannot be renamed or moved');
    return await this.#update(user, folder, update) as FolderRecord;
  }

  async #update(user: UserRecord, item: ItemRecord, update: ItemUpdate): Promise<ItemRecord> {
    if (update.name !== undefined) checkItemName(update.name);
    const wanted = update.parentId;
    const parentId = wanted === undefined ? undefined : wanted === ROOT_FOLDER_ID ? user.rootFolderId : wanted;
    if (parentId !== undefined && !isItemId(parentId)) throw new BoxError('not_found', `Could not find the folder ${wanted}`);
    const result = await this.#steps.updateItem({
      itemId: item.id, ownerId: user.id, parentId, description: update.description, contentModifiedAt: update.contentModifiedAt,
      rename: update.name === undefined ? undefined : { name: update.name, nameKey: nameKey(update.name) },
      ifMatch: update.ifMatch, now: this.#now(),
    });
    if ('updated' in result) return result.updated;
    if ('preconditionFailed' in result) throw new BoxError('precondition_failed');
    if ('conflict' in result) throw new ItemConflictError(result.conflict);
    if ('cyclical' in result) throw new BoxError('cyclical_folder_structure');
    if ('parentMissing' in result) throw new BoxError('not_found', `Could not find the folder ${wanted}`);
    throw new BoxError('not_found', `Could not find the ${item.type} ${item.id}`);
  }

  /** A version of a file, by the ids a signed download link carries (the link itself is the permission). */
  async downloadable(fileId: string, versionId: string): Promise<Downloadable | undefined> {
    const file = await this.#metadata.getItem(fileId);
    if (file?.type !== 'file' || file.trashedAt !== undefined) return undefined;
    const version = await this.#metadata.getFileVersion(fileId, versionId);
    if (!version) return undefined;
    return {
      name: file.name, size: version.size, sha1: version.sha1,
      open: (range?: ByteRange) => this.#blobs.read(version.blobKey, range),
    };
  }

  /** Box's simple upload: one request, the bytes streamed into a one-part upload and hashed on the way. */
  async uploadFile(user: UserRecord, parentId: string, upload: SimpleUpload, body: AsyncIterable<Uint8Array>): Promise<FileRecord> {
    checkItemName(upload.name);
    const parent = await this.folder(user, parentId);
    const key = nameKey(upload.name);
    const conflict = await this.#metadata.findChild(parent.id, key);
    if (conflict) throw new ItemConflictError(conflict);
    const target = { folderId: publicFolderId(user, parent.id), fileId: null, name: upload.name };
    await this.#ask(this.#gate.preCreate(user, simpleUpload(target, null)));
    const { uploadRef, content } = await this.#store(user, upload, body);
    await this.#askBeforeCommit(user, simpleUpload(target, content.size), content, uploadRef, upload.linkBase);
    const result = await this.#steps.createFile(
      { ...content, ownerId: user.id, parentId: parent.id, name: upload.name, nameKey: key, now: this.#now() }, this.#storageQuota);
    if ('created' in result) return result.created;
    // Discarding the upload discards the blob joined from it too.
    await this.#blobs.abortUpload(uploadRef);
    if ('quotaExceeded' in result) throw this.#quotaError(result.quotaExceeded);
    if ('conflict' in result) throw new ItemConflictError(result.conflict);
    throw new BoxError('not_found', `Could not find the folder ${parentId}`);
  }

  /** A new version of a file by simple upload. */
  async uploadVersion(user: UserRecord, fileId: string, upload: Omit<SimpleUpload, 'name'> & { ifMatch?: string | undefined },
    body: AsyncIterable<Uint8Array>): Promise<FileRecord> {
    const file = await this.file(user, fileId);
    const target = { folderId: publicFolderId(user, file.parentId!), fileId: file.id, name: file.name };
    await this.#ask(this.#gate.preCreate(user, simpleUpload(target, null)));
    const { uploadRef, content } = await this.#store(user, upload, body);
    await this.#askBeforeCommit(user, simpleUpload(target, content.size), content, uploadRef, upload.linkBase);
    const result = await this.#steps.addFileVersion({ ...content, fileId: file.id, ifMatch: upload.ifMatch, now: this.#now() },
      { ownerId: user.id, quota: this.#storageQuota });
    if ('created' in result) return result.created;
    await this.#blobs.abortUpload(uploadRef);
    if ('quotaExceeded' in result) throw this.#quotaError(result.quotaExceeded);
    if ('preconditionFailed' in result) throw new BoxError('precondition_failed');
    if ('conflict' in result) throw new ItemConflictError(result.conflict);
    throw new BoxError('not_found', `Could not find the file ${fileId}`);
  }

  async #item(user: UserRecord, id: string): Promise<ItemRecord | undefined> {
    if (!isItemId(id)) return undefined;
    const item = await this.#metadata.getItem(id);
    return item?.ownerId === user.id ? item : undefined;
  }

  async #ask(verdict: Promise<GateVerdict>): Promise<void> {
    const refusal = gateError(await verdict);
    if (refusal) throw refusal;
  }

  /** The pre-commit hook on stored, hashed bytes; refused bytes are discarded (no session keeps them). */
  async #askBeforeCommit(user: UserRecord, upload: UploadDescription, content: NewFileContent, uploadRef: UploadRef,
    linkBase: string | undefined): Promise<void> {
    const grant = { blobKey: content.blobKey, size: content.size, sha1: content.sha1, sessionId: null };
    const refusal = gateError(await this.#gate.preCommit(user, upload, { sha1: content.sha1, grant, linkBase: linkBase ?? '' })
      .catch(async (error: unknown) => {
        await this.#blobs.abortUpload(uploadRef);
        throw error;
      }));
    if (!refusal) return;
    await this.#blobs.abortUpload(uploadRef);
    throw refusal;
  }

  #quotaError(used: number): BoxError {
    return new BoxError('storage_limit_exceeded', `Account storage limit reached: ${used} of ${this.#storageQuota} bytes used`);
  }

  /**
   * The most bytes a simple upload may bring, and the error for one byte more: the largest file, or
   * what is left of the owner's quota now (the bytes are then bounded as they stream, also where a
   * store spools them; the final say is the transaction that creates the file).
   */
  async #bound(user: UserRecord, maxSize: number): Promise<{ limit: number; tooLong: BoxErrorCode; tooLongMessage: string }> {
    const largest = {
      limit: maxSize, tooLong: 'file_size_limit_exceeded', tooLongMessage: `The file is larger than the maximum of ${maxSize} bytes`,
    } as const;
    if (this.#storageQuota === null) return largest;
    const used = await this.#metadata.storageUsed(user.id);
    const left = this.#storageQuota - used;
    if (left < 0) throw this.#quotaError(used);
    if (left >= maxSize) return largest;
    return { limit: left, tooLong: 'storage_limit_exceeded', tooLongMessage: `${this.#quotaError(used).message}; the file is larger than the ${left} bytes left` };
  }

  /** Stores the bytes as a one-part upload joined into a blob; the upload is what to discard if no file takes them. */
  async #store(user: UserRecord, upload: Omit<SimpleUpload, 'name'>, body: AsyncIterable<Uint8Array>): Promise<{ uploadRef: UploadRef; content: NewFileContent }> {
    const bound = await this.#bound(user, upload.maxSize);
    const uploadRef = await this.#blobs.createUpload().catch(rethrowStorageFull);
    try {
      const meter = new PartMeter(bound.limit, bound);
      const partRef = await this.#blobs.writePart(uploadRef, { partNumber: 1, attemptId: newAttemptId() }, meter.pass(body))
        .catch(rethrowStorageFull);
      const sha1 = meter.sha1();
      if (upload.sha1 !== undefined && upload.sha1 !== sha1) {
        throw new BoxError('digest_mismatch', `The content's SHA-1 is ${sha1}, not ${upload.sha1}`);
      }
      const size = meter.received;
      const blobKey = await this.#blobs.completeUpload(uploadRef, [{ partNumber: 1, partRef, size }]).catch(rethrowStorageFull);
      return { uploadRef, content: { blobKey, size, sha1, contentCreatedAt: upload.contentCreatedAt, contentModifiedAt: upload.contentModifiedAt } };
    } catch (error) {
      await this.#blobs.abortUpload(uploadRef);
      throw error;
    }
  }
}

function simpleUpload(target: Pick<UploadDescription, 'folderId' | 'fileId' | 'name'>, size: number | null): UploadDescription {
  return { kind: 'simple', sessionId: null, ...target, size };
}
