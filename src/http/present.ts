import type { ChildOrder, FileRecord, FileVersionRecord, FolderRecord, ItemRecord, PartRecord, UploadSessionRecord, UserRecord } from '../core/model.js';
import { ROOT_FOLDER_ID } from '../core/folders.js';

/** Box's JSON shapes (../shared/spec/BOX-API.md §2). Strings stay strings and numbers numbers: the SDKs type-check them. */

export function boxDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function presentSession(session: UploadSessionRecord, uploadBase: string) {
  const url = `${uploadBase}/files/upload_sessions/${session.id}`;
  return {
    id: session.id,
    type: 'upload_session',
    session_expires_at: boxDate(session.expiresAt),
    part_size: session.partSize,
    total_parts: session.totalParts,
    num_parts_processed: session.partsStored,
    session_endpoints: {
      upload_part: url,
      commit: `${url}/commit`,
      abort: url,
      list_parts: `${url}/parts`,
      status: url,
      log_event: `${url}/log`,
    },
  };
}

export function presentPart(part: PartRecord) {
  return { part_id: part.partId, offset: part.offset, size: part.size, sha1: part.sha1 };
}

export function presentUser(user: UserRecord) {
  return { type: 'user', id: user.id, name: user.displayName ?? user.name, login: user.name };
}

export function presentFolderMini(folder: FolderRecord) {
  if (folder.parentId === null) {
    return { type: 'folder', id: ROOT_FOLDER_ID, sequence_id: null, etag: null, name: 'All Files' };
  }
  return { type: 'folder', id: folder.id, sequence_id: '0', etag: '0', name: folder.name };
}

export function presentFileMini(file: FileRecord) {
  return {
    type: 'file',
    id: file.id,
    sequence_id: String(file.etag),
    etag: String(file.etag),
    sha1: file.sha1,
    name: file.name,
    file_version: { type: 'file_version', id: file.versionId, sha1: file.sha1 },
    size: file.size,
    modified_at: boxDate(file.modifiedAt),
  };
}

export function presentItemMini(item: ItemRecord) {
  return item.type === 'file' ? presentFileMini(item) : { ...presentFolderMini(item), modified_at: boxDate(item.modifiedAt) };
}

function pathCollection(path: readonly FolderRecord[]) {
  return { total_count: path.length, entries: path.map(presentFolderMini) };
}

/** Box's standard File (the fields SDKs read after a commit or `GET /files/{id}`). */
export function presentFile(file: FileRecord, path: readonly FolderRecord[], owner: UserRecord) {
  const user = presentUser(owner);
  const parent = path[path.length - 1];
  return {
    ...presentFileMini(file),
    description: file.description,
    path_collection: pathCollection(path),
    created_at: boxDate(file.createdAt),
    modified_at: boxDate(file.modifiedAt),
    content_created_at: boxDate(file.contentCreatedAt),
    content_modified_at: boxDate(file.contentModifiedAt),
    trashed_at: file.trashedAt === undefined ? null : boxDate(file.trashedAt),
    purged_at: null,
    created_by: user,
    modified_by: user,
    owned_by: user,
    shared_link: null,
    parent: parent ? presentFolderMini(parent) : null,
    item_status: itemStatus(file),
  };
}

/** Box's `item_status`: an item in the trash is "trashed". */
function itemStatus(item: ItemRecord): 'active' | 'trashed' {
  return item.trashedAt === undefined ? 'active' : 'trashed';
}

/** Box's standard Folder, without its items. */
export function presentFolderOnly(folder: FolderRecord, path: readonly FolderRecord[], owner: UserRecord) {
  const user = presentUser(owner);
  const parent = path[path.length - 1];
  return {
    ...presentFolderMini(folder),
    created_at: boxDate(folder.createdAt),
    modified_at: boxDate(folder.modifiedAt),
    // A folder has no content of its own; Box reports its own times here too.
    content_created_at: boxDate(folder.createdAt),
    content_modified_at: boxDate(folder.modifiedAt),
    description: '',
    path_collection: pathCollection(path),
    created_by: user,
    modified_by: user,
    owned_by: user,
    shared_link: null,
    parent: parent ? presentFolderMini(parent) : null,
    item_status: itemStatus(folder),
  };
}

export function presentFolder(folder: FolderRecord, path: readonly FolderRecord[], owner: UserRecord, items: ItemsAnswer) {
  return { ...presentFolderOnly(folder, path, owner), item_collection: presentItems(items) };
}

/** An item in its standard shape (what `fields` picks from); `path` is the folders above it. */
export function presentItemFull(item: ItemRecord, path: readonly FolderRecord[], owner: UserRecord) {
  return item.type === 'file' ? presentFile(item, path, owner) : presentFolderOnly(item, path, owner);
}

export interface ItemsAnswer {
  total: number;
  entries: ItemRecord[];
  offset: number;
  limit: number;
  order?: ChildOrder | undefined;
  /** Present with marker paging: then Box sends `next_marker` instead of `total_count` and `offset`. */
  nextMarker?: string | null | undefined;
  /** Each entry's shape; the mini shape when absent. */
  present?: ((item: ItemRecord) => Record<string, unknown>) | undefined;
}

export function presentItems(items: ItemsAnswer) {
  const order = items.order ?? { by: 'name', direction: 'ASC' };
  const entries = items.entries.map(items.present ?? presentItemMini);
  const sorted = [{ by: 'type', direction: 'ASC' }, { by: order.by, direction: order.direction }];
  if (items.nextMarker !== undefined) return { entries, limit: items.limit, next_marker: items.nextMarker, order: sorted };
  return { total_count: items.total, entries, offset: items.offset, limit: items.limit, order: sorted };
}

/** Box's FileVersion; a version keeps no name of its own here, so it carries the file's. */
export function presentFileVersion(version: FileVersionRecord, file: FileRecord, owner: UserRecord) {
  return {
    type: 'file_version', id: version.id, sha1: version.sha1, name: file.name, size: version.size,
    created_at: boxDate(version.createdAt), modified_at: boxDate(version.createdAt), modified_by: presentUser(owner),
    trashed_at: null, purged_at: null,
  };
}
