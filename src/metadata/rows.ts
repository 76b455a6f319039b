import {
  asBlobKey, asPartRef, asUploadRef, type FileVersionRecord, type GarbageRecord, type ItemRecord, type PartRecord, type TokenRecord, type ApplicationRecord, type ApplicationKeyRecord, type UploadSessionRecord, type UserRecord,
} from '../core/model.js';

/** Rows as both SQL stores return them (same column names); numbers may arrive as strings (BIGINT in pg). */
export type Row = Record<string, unknown>;

export const id = (value: unknown): string => String(value);
const optionalId = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));

export function toUser(row: Row): UserRecord {
  return {
    id: id(row.id), name: String(row.name), ...(row.display_name == null ? {} : { displayName: String(row.display_name) }),
    rootFolderId: id(row.root_folder_id), createdAt: Number(row.created_at),
  };
}

export function toToken(row: Row): TokenRecord {
  return {
    id: String(row.id), userId: id(row.user_id), secretHash: String(row.secret_hash),
    createdAt: Number(row.created_at), revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
    ...(row.expires_at != null && { expiresAt: Number(row.expires_at) }),
    ...(row.application_id != null && { applicationId: String(row.application_id) }),
  };
}

export function toApplication(row: Row): ApplicationRecord {
  return {
    id: String(row.id), userId: id(row.user_id), secretHash: String(row.secret_hash),
    createdAt: Number(row.created_at), revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
  };
}

export function toApplicationKey(row: Row): ApplicationKeyRecord {
  return {
    applicationId: String(row.application_id), id: String(row.id), publicKeyPem: String(row.public_key_pem), createdAt: Number(row.created_at),
  };
}

export function toItem(row: Row): ItemRecord {
  const common = {
    id: id(row.id), ownerId: id(row.owner_id), name: String(row.name),
    createdAt: Number(row.created_at), modifiedAt: Number(row.modified_at),
    ...(row.trashed_at !== null && row.trashed_at !== undefined && { trashedAt: Number(row.trashed_at) }),
    ...(row.trash_root_id !== null && row.trash_root_id !== undefined && String(row.trash_root_id) !== String(row.id)
      && { trashedWith: id(row.trash_root_id) }),
  };
  // An item deleted to the trash has left its folder; it still names the folder it came from.
  const parentId = optionalId(row.parent_id ?? row.trashed_parent_id);
  if (row.type === 'folder') return { type: 'folder', ...common, parentId };
  return {
    type: 'file', ...common, parentId: id(parentId), description: String(row.description),
    size: Number(row.size), sha1: String(row.sha1), versionId: id(row.version_id), etag: Number(row.etag),
    blobKey: asBlobKey(String(row.blob_key)), contentCreatedAt: Number(row.content_created_at),
    contentModifiedAt: Number(row.content_modified_at),
  };
}

export function toSession(row: Row): UploadSessionRecord {
  return {
    id: String(row.id), ownerId: id(row.owner_id), folderId: id(row.folder_id), fileId: optionalId(row.file_id),
    fileName: String(row.file_name), fileSize: Number(row.file_size), partSize: Number(row.part_size),
    totalParts: Number(row.total_parts), uploadRef: asUploadRef(String(row.upload_ref)), state: row.state as UploadSessionRecord['state'],
    createdAt: Number(row.created_at), expiresAt: Number(row.expires_at),
    blobKey: row.blob_key === null ? null : asBlobKey(String(row.blob_key)),
    contentSha1: row.content_sha1 === null ? null : String(row.content_sha1),
    committedFileId: optionalId(row.committed_file_id), partsStored: Number(row.parts_stored),
  };
}

export function fromSession(session: UploadSessionRecord): Row {
  return {
    id: session.id, owner_id: session.ownerId, folder_id: session.folderId, file_id: session.fileId,
    file_name: session.fileName, file_size: session.fileSize, part_size: session.partSize,
    total_parts: session.totalParts, upload_ref: session.uploadRef, state: session.state,
    created_at: session.createdAt, expires_at: session.expiresAt, blob_key: session.blobKey,
    content_sha1: session.contentSha1, committed_file_id: session.committedFileId, parts_stored: session.partsStored,
  };
}

export function toPart(row: Row): PartRecord {
  return {
    sessionId: String(row.session_id), offset: Number(row.byte_offset), size: Number(row.size), sha1: String(row.sha1),
    partId: String(row.part_id), partRef: asPartRef(String(row.part_ref)), createdAt: Number(row.created_at),
  };
}

export function toVersion(row: Row): FileVersionRecord {
  return {
    id: id(row.id), fileId: id(row.file_id), blobKey: asBlobKey(String(row.blob_key)), size: Number(row.size),
    sha1: String(row.sha1), createdAt: Number(row.created_at),
  };
}

export function toGarbage(row: Row): GarbageRecord {
  const garbageId = String(row.id);
  return row.kind === 'upload'
    ? { id: garbageId, kind: 'upload', ref: asUploadRef(String(row.ref)) }
    : { id: garbageId, kind: 'blob', ref: asBlobKey(String(row.ref)) };
}
