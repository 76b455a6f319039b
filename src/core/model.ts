/**
 * The core's model: the records it reasons about and the outcomes the metadata store reports. The
 * stores implement interfaces over these types; they are defined here, not in a store, because the
 * rules that give them meaning live in the core.
 * Times are epoch milliseconds; ids are decimal strings except session ids.
 */

declare const brand: unique symbol;
/** A string that only its own kind of value may be passed as (the compiler tells them apart). */
type Branded<Kind extends string> = string & { readonly [brand]: Kind };

/**
 * The blob store's reference to an upload (its staging area for parts). Not a blob key: on S3 it is
 * `<key>:<uploadId>`, so only BlobStore methods that take an upload may be given one.
 */
export type UploadRef = Branded<'UploadRef'>;
/** The blob store's key of a joined blob, what a file version reads. */
export type BlobKey = Branded<'BlobKey'>;
/** The blob store's reference to one written part attempt (a file name on disk, an ETag on S3). */
export type PartRef = Branded<'PartRef'>;

/** Only the stores mint these, from what they created or stored. */
export const asUploadRef = (text: string): UploadRef => text as UploadRef;
export const asBlobKey = (text: string): BlobKey => text as BlobKey;
export const asPartRef = (text: string): PartRef => text as PartRef;

export type Millis = number;

export interface UserRecord {
  id: string;
  name: string;
  /** The name people see, when it differs from `name` (an identity provider's `name` claim); absent otherwise. */
  displayName?: string;
  rootFolderId: string;
  createdAt: Millis;
}

export interface TokenRecord {
  id: string;
  userId: string;
  /** SHA-256 (hex) of the token's secret half; the secret itself is never stored. */
  secretHash: string;
  createdAt: Millis;
  revokedAt: Millis | null;
  /** When the token stops working (tokens issued by `/oauth2/token`); absent for tokens that never expire. */
  expiresAt?: Millis;
  /** The application it was granted to (revoking the application revokes it); absent for `partway token create`'s. */
  applicationId?: string;
}

/** An OAuth 2.0 client (client credentials grant) that acts as one user. */
export interface ApplicationRecord {
  /** The client id, shown to whoever has the application. */
  id: string;
  userId: string;
  /** SHA-256 (hex) of the client secret; the secret itself is never stored. */
  secretHash: string;
  createdAt: Millis;
  revokedAt: Millis | null;
}

/** A public key that checks an application's JWT assertions (Box's JWT grant); an application may have several. */
export interface ApplicationKeyRecord {
  applicationId: string;
  /** The key's id, as a JWT header's `kid` names it (Box's "public key id"). */
  id: string;
  /** The RSA public key, PEM (SPKI). */
  publicKeyPem: string;
  createdAt: Millis;
}

export interface FolderRecord {
  type: 'folder';
  id: string;
  ownerId: string;
  /** null for a user's root folder ("All Files", id "0" on the wire). */
  parentId: string | null;
  name: string;
  createdAt: Millis;
  modifiedAt: Millis;
  /** Set only for an item in the trash (itself deleted, or below a deleted folder). */
  trashedAt?: Millis;
  /** For an item in the trash because a folder above it was deleted: that folder. */
  trashedWith?: string;
}

export interface FileRecord {
  type: 'file';
  id: string;
  ownerId: string;
  parentId: string;
  name: string;
  description: string;
  size: number;
  sha1: string;
  versionId: string;
  /** Increments with each new version; Box's `etag`. */
  etag: number;
  blobKey: BlobKey;
  createdAt: Millis;
  modifiedAt: Millis;
  contentCreatedAt: Millis;
  contentModifiedAt: Millis;
  /** Set only for an item in the trash (itself deleted, or below a deleted folder). */
  trashedAt?: Millis;
  /** For an item in the trash because a folder above it was deleted: that folder. */
  trashedWith?: string;
}

export type ItemRecord = FolderRecord | FileRecord;

export interface FileVersionRecord {
  id: string;
  fileId: string;
  blobKey: BlobKey;
  size: number;
  sha1: string;
  createdAt: Millis;
}

export type SessionState = 'active' | 'committed' | 'aborted' | 'expired';

export interface UploadSessionRecord {
  id: string;
  ownerId: string;
  /** The folder the new file goes to (for a version session, the file's folder at creation). */
  folderId: string;
  /** Set for a session that uploads a new version of this file. */
  fileId: string | null;
  fileName: string;
  fileSize: number;
  partSize: number;
  totalParts: number;
  /** The blob store's reference for this upload's parts. */
  uploadRef: UploadRef;
  state: SessionState;
  createdAt: Millis;
  expiresAt: Millis;
  /** Set once the parts were joined into a blob; `contentSha1` is that blob's SHA-1 (hex). */
  blobKey: BlobKey | null;
  contentSha1: string | null;
  committedFileId: string | null;
  /** Number of parts recorded so far (Box's `num_parts_processed`). */
  partsStored: number;
}

export interface PartRecord {
  sessionId: string;
  offset: number;
  size: number;
  sha1: string;
  partId: string;
  /** The blob store's reference for this part's bytes. */
  partRef: PartRef;
  createdAt: Millis;
}

export interface NewFolder {
  ownerId: string;
  parentId: string;
  name: string;
  nameKey: string;
  now: Millis;
}

export interface NewFileContent {
  blobKey: BlobKey;
  size: number;
  sha1: string;
  contentCreatedAt?: Millis | undefined;
  contentModifiedAt?: Millis | undefined;
  description?: string | undefined;
}

export interface NewFile extends NewFileContent {
  ownerId: string;
  parentId: string;
  name: string;
  nameKey: string;
  now: Millis;
}

export interface NewVersion extends NewFileContent {
  fileId: string;
  /** When given, the file's current etag must equal it (Box's `If-Match`). */
  ifMatch?: string | undefined;
  now: Millis;
}

export interface CommitInput {
  sessionId: string;
  nameKey: string;
  ifMatch?: string | undefined;
  contentCreatedAt?: Millis | undefined;
  contentModifiedAt?: Millis | undefined;
  description?: string | undefined;
  now: Millis;
}

/** What `PUT /files/{id}` or `PUT /folders/{id}` changes; an absent field stays as it is. */
export interface ItemChanges {
  itemId: string;
  ownerId: string;
  /** A new name with its key (the core checked it against Box's name rules). */
  rename?: { name: string; nameKey: string } | undefined;
  /** Moves the item into this folder. */
  parentId?: string | undefined;
  description?: string | undefined;
  contentModifiedAt?: Millis | undefined;
  /** When given, the item's current etag must equal it (Box's `If-Match`). */
  ifMatch?: string | undefined;
  now: Millis;
}

/** The columns an update writes, all of them (the store knows nothing of which ones changed). */
export interface ItemFields {
  parentId: string;
  name: string;
  nameKey: string;
  description: string;
  contentModifiedAt: Millis | null;
  modifiedAt: Millis;
  etag: number;
}

export type UpdateItemResult =
  | { updated: ItemRecord }
  | { notFound: true }
  | { preconditionFailed: ItemRecord }
  | { conflict: ItemRecord }
  | { parentMissing: true }
  /** The move would put a folder inside itself or its own subtree. */
  | { cyclical: true };

export interface TrashRequest {
  itemId: string;
  ownerId: string;
  /** A folder with items goes to the trash only when asked to take them along. */
  recursive: boolean;
  ifMatch?: string | undefined;
  now: Millis;
}

export type TrashResult = { trashed: ItemRecord } | { notFound: true } | { preconditionFailed: ItemRecord } | { notEmpty: true };

export interface RestoreRequest {
  itemId: string;
  ownerId: string;
  /** Where to restore to instead of the folder the item was deleted from. */
  parentId?: string | undefined;
  /** The name to restore under (the core's key of it), by default the item's own. */
  name: string;
  nameKey: string;
  now: Millis;
}

export type RestoreResult = { restored: ItemRecord } | { notFound: true } | { conflict: ItemRecord } | { parentMissing: true };

export interface CopyRequest {
  itemId: string;
  ownerId: string;
  /** The folder the copy goes into. */
  parentId: string;
  name: string;
  nameKey: string;
  now: Millis;
}

/** A copy shares its source's blobs: a blob's bytes are freed only when no version reads it any more. */
export type CopyResult = { copied: ItemRecord } | { notFound: true } | { conflict: ItemRecord } | { parentMissing: true } | { cyclical: true };

export type CreateItemResult<T> = { created: T } | { conflict: ItemRecord } | { parentMissing: true };

export type CreateVersionResult =
  | { created: FileRecord }
  | { fileMissing: true }
  | { preconditionFailed: FileRecord }
  | { conflict: ItemRecord };

export type CommitResult =
  | { committed: FileRecord }
  | { alreadyCommitted: UploadSessionRecord }
  | { notActive: UploadSessionRecord }
  | { notFound: true }
  | { targetMissing: true }
  | { preconditionFailed: FileRecord }
  | { conflict: ItemRecord };

export type RecordPartResult =
  | { recorded: PartRecord }
  | { existing: PartRecord }
  | { notActive: UploadSessionRecord | undefined };

export interface SessionLimits {
  quota: number | null;
  maxOpenSessions: number | null;
}

export type CreateSessionResult = { created: true } | { quotaExceeded: number } | { tooManySessions: number };

export interface PartWrite {
  writeId: string;
  sessionId: string;
  offset: number;
  /** After this time the write is presumed dead (its node crashed). */
  expiresAt: Millis;
}

/** Bytes that no record refers to any more: an upload's staging area or a whole blob. */
export type GarbageRecord = { id: string; kind: 'upload'; ref: UploadRef } | { id: string; kind: 'blob'; ref: BlobKey };

export interface UploadUsage {
  /** The parts recorded by the upload's active or committed session; null if it has none. */
  recordedPartRefs: PartRef[] | null;
  /** Whether a file version reads the blob the upload was joined into. */
  isFileBlob: boolean;
}

export interface Page<T> {
  total: number;
  entries: T[];
}

/** Box's `sort` for a folder's items: always folders first, then by this key (ties by id), in `direction`. */
export interface ChildOrder {
  by: 'name' | 'id' | 'date' | 'size';
  direction: 'ASC' | 'DESC';
}

/** The sort keys of the last item of a page, so the next page starts after it (marker paging). */
export interface ChildPosition {
  type: 'file' | 'folder';
  /** The item's value of `order.by`: its name key, modification time, size (0 for folders) or id. */
  value: string | number;
  id: string;
}

export interface ChildrenQuery {
  order: ChildOrder;
  /** Keyset paging: only the children after this position; otherwise `offset` children are skipped. */
  after?: ChildPosition | undefined;
  offset?: number | undefined;
  limit: number;
}
