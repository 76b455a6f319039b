/**
 * The metadata store: users, tokens, folders, files, upload sessions and their parts.
 *
 * Every method is one atomic step. Where two requests (or two nodes) can race, the store decides the
 * winner inside one transaction and reports the outcome as data, so the rules stay in the core and
 * every backend gives the same answers (test/conformance/metadata-store-suite.ts holds them to it).
 * Times are epoch milliseconds; ids are decimal strings except session ids.
 */

export type Millis = number;

export interface UserRecord {
  id: string;
  name: string;
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
  blobKey: string;
  createdAt: Millis;
  modifiedAt: Millis;
  contentCreatedAt: Millis;
  contentModifiedAt: Millis;
}

export type ItemRecord = FolderRecord | FileRecord;

export interface FileVersionRecord {
  id: string;
  fileId: string;
  blobKey: string;
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
  uploadRef: string;
  state: SessionState;
  createdAt: Millis;
  expiresAt: Millis;
  /** Set once the parts were joined into a blob; `contentSha1` is that blob's SHA-1 (hex). */
  blobKey: string | null;
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
  partRef: string;
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
  blobKey: string;
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
export interface GarbageRecord {
  id: string;
  kind: 'upload' | 'blob';
  ref: string;
}

export interface Page<T> {
  total: number;
  entries: T[];
}

export interface MetadataStore {
  /** Creates the user and its root folder if needed. */
  ensureUser(name: string, now: Millis): Promise<UserRecord>;
  getUser(id: string): Promise<UserRecord | undefined>;
  getUserByName(name: string): Promise<UserRecord | undefined>;
  addToken(token: TokenRecord): Promise<void>;
  getToken(id: string): Promise<TokenRecord | undefined>;
  listTokens(userId?: string): Promise<TokenRecord[]>;
  /** Returns false if there is no such token or it was already revoked. */
  revokeToken(id: string, now: Millis): Promise<boolean>;

  getItem(id: string): Promise<ItemRecord | undefined>;
  findChild(parentId: string, nameKey: string): Promise<ItemRecord | undefined>;
  listChildren(parentId: string, offset: number, limit: number): Promise<Page<ItemRecord>>;
  /** The folders above an item, root first (Box's `path_collection`). */
  ancestors(itemId: string): Promise<FolderRecord[]>;
  createFolder(folder: NewFolder): Promise<CreateItemResult<FolderRecord>>;
  createFile(file: NewFile): Promise<CreateItemResult<FileRecord>>;
  addFileVersion(version: NewVersion): Promise<CreateVersionResult>;
  getFileVersion(fileId: string, versionId: string): Promise<FileVersionRecord | undefined>;
  /** Deletes a file and queues the bytes of all its versions as garbage. */
  deleteFile(id: string): Promise<boolean>;
  /** Bytes held by a user's file versions plus the declared sizes of its active sessions. */
  storageUsed(ownerId: string): Promise<number>;

  /**
   * Inserts the session unless the owner's storage use plus its size would pass `limits.quota`, or
   * the owner already has `limits.maxOpenSessions` active sessions (null: no limit).
   */
  createSession(session: UploadSessionRecord, limits: SessionLimits): Promise<CreateSessionResult>;
  getSession(id: string): Promise<UploadSessionRecord | undefined>;
  /** Records a part if the session is active and its offset is free; the first writer of an offset wins. */
  recordPart(part: PartRecord): Promise<RecordPartResult>;
  getPart(sessionId: string, offset: number): Promise<PartRecord | undefined>;
  listParts(sessionId: string, offset: number, limit: number): Promise<Page<PartRecord>>;
  startPartWrite(write: PartWrite): Promise<void>;
  endPartWrite(writeId: string): Promise<void>;
  /** Offsets being written into a session right now (writes not yet ended and not expired). */
  partWritesInFlight(sessionId: string, now: Millis): Promise<number[]>;
  /** Remembers the joined blob of an active session and its SHA-1; false if the session is not active. */
  setSessionContent(sessionId: string, blobKey: string, contentSha1: string): Promise<boolean>;
  /** Turns an active session with content into a file or a new version, exactly once. */
  commitSession(input: CommitInput): Promise<CommitResult>;
  /** Marks an active session aborted and queues its bytes as garbage; returns the session as it was. */
  abortSession(id: string): Promise<UploadSessionRecord | undefined>;
  /** Active sessions not yet past their expiry, across all users (for metrics). */
  countOpenSessions(now: Millis): Promise<number>;
  /** Marks active sessions past their expiry as expired and queues their bytes; returns how many. */
  expireSessions(now: Millis, limit: number): Promise<number>;

  /**
   * What still needs an upload's bytes: the part references recorded by its active or committed
   * session, and whether a file version's blob is that upload.
   */
  uploadUsage(uploadRef: string): Promise<{ recordedPartRefs: string[] | null; isFileBlob: boolean }>;
  /** Hands out garbage to delete, each entry to one caller at a time for `leaseMs`. */
  claimGarbage(now: Millis, leaseMs: number, limit: number): Promise<GarbageRecord[]>;
  deleteGarbage(id: string): Promise<void>;

  /** A named secret shared by every node, generated by the first caller. */
  getOrCreateSecret(name: string, generate: () => string): Promise<string>;
  /** Throws if the database cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
