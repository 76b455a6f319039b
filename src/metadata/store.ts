import type {
  BlobKey, ChildrenQuery, FileRecord, FileVersionRecord, FolderRecord, GarbageRecord, ItemFields, ItemRecord, Millis, NewFile, NewFolder, NewVersion, Page,
  PartRecord, PartWrite, RecordPartResult, TokenRecord, ApplicationRecord, ApplicationKeyRecord, UploadRef, UploadSessionRecord, UploadUsage, UserRecord,
} from '../core/model.js';
import type { DeliveryBacklog, DeliveryRecord, DeliverySettlement, NewWebhook, WebhookRecord } from '../core/event-model.js';

/**
 * The metadata store: users, tokens, folders, files, upload sessions and their parts.
 *
 * Every method is one atomic step. The steps where Box's rules decide between racing requests (names,
 * If-Match, quota, open sessions, a session's state at commit) are decided by the core
 * (src/core/atomic-steps.ts) inside `transact`, over plain queries and row locks each store supplies.
 * Steps without such rules (recording a part, aborting, expiring) stay single store methods that
 * report their outcome as data. test/conformance/metadata-store-suite.ts holds every backend to the same answers.
 */
export interface MetadataStore {
  /**
   * Runs `work` in one transaction that commits if it resolves and rolls back if it throws; it may
   * be run again if the database chose it as the victim of a deadlock, so `work` has no other effects.
   * `work` uses only `tx`: a call of the store's own methods would wait for the transaction to end.
   */
  transact<T>(work: (tx: MetadataTransaction) => Promise<T>): Promise<T>;

  /** Creates the user and its root folder if needed. */
  /** Creates the user (with its root folder) unless it exists; `displayName` is kept only when it creates it. */
  ensureUser(name: string, now: Millis, displayName?: string): Promise<UserRecord>;
  getUser(id: string): Promise<UserRecord | undefined>;
  getUserByName(name: string): Promise<UserRecord | undefined>;
  addToken(token: TokenRecord): Promise<void>;
  getToken(id: string): Promise<TokenRecord | undefined>;
  listTokens(userId?: string): Promise<TokenRecord[]>;
  /** Returns false if there is no such token or it was already revoked. */
  revokeToken(id: string, now: Millis): Promise<boolean>;
  addApplication(application: ApplicationRecord): Promise<void>;
  getApplication(id: string): Promise<ApplicationRecord | undefined>;
  listApplications(): Promise<ApplicationRecord[]>;
  /**
   * Revokes the application and, in the same step, every token granted to it (`applicationId`);
   * returns false if there is no such application or it was already revoked.
   */
  revokeApplication(id: string, now: Millis): Promise<boolean>;
  /** Returns false (and stores nothing) if the application already has a key with this id. */
  addApplicationKey(key: ApplicationKeyRecord): Promise<boolean>;
  /** An application's keys, oldest first. */
  listApplicationKeys(applicationId: string): Promise<ApplicationKeyRecord[]>;
  /** Returns false if the application has no key with this id. */
  removeApplicationKey(applicationId: string, keyId: string): Promise<boolean>;
  /**
   * Records that an application used a JWT assertion's `jti`, kept until `expiresAt`; false if it was
   * already recorded. Insert-if-absent in one statement, so of two nodes given one assertion only one is told true.
   */
  useAssertionId(applicationId: string, jti: string, expiresAt: Millis): Promise<boolean>;
  /** Deletes up to `limit` tokens that expired, and recorded assertion ids that ran out, before `before`; how many went. */
  purgeExpiredCredentials(before: Millis, limit: number): Promise<number>;

  getItem(id: string): Promise<ItemRecord | undefined>;
  findChild(parentId: string, nameKey: string): Promise<ItemRecord | undefined>;
  listChildren(parentId: string, offset: number, limit: number): Promise<Page<ItemRecord>>;
  /** A page of a folder's children in a chosen order, by offset or after a position (`total` counts them all). */
  listChildrenOrdered(parentId: string, query: ChildrenQuery): Promise<Page<ItemRecord>>;
  /** The folders above an item, root first (Box's `path_collection`). */
  ancestors(itemId: string): Promise<FolderRecord[]>;
  getFileVersion(fileId: string, versionId: string): Promise<FileVersionRecord | undefined>;
  /** Every version of a file, the newest first. */
  fileVersions(fileId: string): Promise<FileVersionRecord[]>;
  /** A user's trash: the items deleted themselves (not those that went with a folder), folders first, by name. */
  listTrash(ownerId: string, offset: number, limit: number): Promise<Page<ItemRecord>>;
  /**
   * Deletes for good a trashed item that was deleted itself, with everything that went with it, and
   * queues the bytes of their versions as garbage; false if it is no such item.
   */
  purgeTrashed(itemId: string): Promise<boolean>;
  /** Whether any file version still reads the blob (copies share blobs). */
  blobInUse(blobKey: BlobKey): Promise<boolean>;
  /** Trashed items (deleted themselves) that went to the trash at or before `before`. */
  trashDue(before: Millis, limit: number): Promise<string[]>;
  /** Bytes held by a user's file versions plus the declared sizes of its active sessions. */
  storageUsed(ownerId: string): Promise<number>;

  getSession(id: string): Promise<UploadSessionRecord | undefined>;
  /** Records a part if the session is active and its offset is free; the first writer of an offset wins. */
  recordPart(part: PartRecord): Promise<RecordPartResult>;
  getPart(sessionId: string, offset: number): Promise<PartRecord | undefined>;
  listParts(sessionId: string, offset: number, limit: number): Promise<Page<PartRecord>>;
  /**
   * Starts the write only if no other write at its slot is in flight (started, not ended, not expired
   * at `now`): one writer per slot at a time, across nodes. Returns whether it started.
   */
  claimPartWrite(write: PartWrite, now: Millis): Promise<boolean>;
  endPartWrite(writeId: string): Promise<void>;
  /** Offsets being written into a session right now (writes not yet ended and not expired). */
  partWritesInFlight(sessionId: string, now: Millis): Promise<number[]>;
  /** Remembers the joined blob of an active session and its SHA-1; false if the session is not active. */
  setSessionContent(sessionId: string, blobKey: BlobKey, contentSha1: string): Promise<boolean>;
  /** Marks an active session aborted and queues its bytes as garbage; returns the session as it was. */
  abortSession(id: string): Promise<UploadSessionRecord | undefined>;
  /** Active sessions not yet past their expiry, across all users (for metrics). */
  countOpenSessions(now: Millis): Promise<number>;
  /** Marks active sessions past their expiry as expired and queues their bytes; returns how many. */
  expireSessions(now: Millis, limit: number): Promise<number>;

  /**
   * What still needs an upload's bytes: the part references recorded by its active or committed
   * session, and whether a file version reads the blob the upload was joined into (`joinedBlobKey`).
   */
  uploadUsage(uploadRef: UploadRef, joinedBlobKey?: BlobKey): Promise<UploadUsage>;
  /** Hands out garbage to delete, each entry to one caller at a time for `leaseMs`. */
  claimGarbage(now: Millis, leaseMs: number, limit: number): Promise<GarbageRecord[]>;
  deleteGarbage(id: string): Promise<void>;

  /** A named secret shared by every node, generated by the first caller. */
  getOrCreateSecret(name: string, generate: () => string): Promise<string>;
  /** Replaces a named secret (or sets it). */
  setSecret(name: string, value: string): Promise<void>;

  getWebhook(id: string): Promise<WebhookRecord | undefined>;
  /** A user's webhooks by id, those after `afterId` (all when undefined). */
  listWebhooks(ownerId: string, afterId: string | undefined, limit: number): Promise<WebhookRecord[]>;
  /**
   * Hands out pending deliveries that are due at `now`, each to one caller at a time for `leaseMs`
   * (a node that dies holding one only delays it), oldest first.
   */
  claimDeliveries(now: Millis, leaseMs: number, limit: number): Promise<DeliveryRecord[]>;
  /** Records how an attempt ended: counts it, and delivers, fails or schedules the next attempt. */
  settleDelivery(id: string, settlement: DeliverySettlement): Promise<void>;
  /** Deliveries neither delivered nor failed, and the oldest's age (for metrics). */
  deliveryBacklog(): Promise<DeliveryBacklog>;
  /** Throws if the database cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Plain queries and row locks inside one transaction; the decisions are the core's. A lock lasts
 * until the transaction ends (PostgreSQL: `FOR UPDATE`; SQLite: every write transaction holds the
 * database, so a lock is just a read).
 */
export interface MetadataTransaction {
  /** The session, its row locked: commits, part records and aborts of one session happen one at a time. */
  lockSession(sessionId: string): Promise<UploadSessionRecord | undefined>;
  /**
   * The item with its stored name key, its row locked: a folder's lock serialises the names taken in
   * it, a file's its new versions.
   */
  lockItem(itemId: string): Promise<{ item: ItemRecord; nameKey: string } | undefined>;
  /** Locks the user: one user's session creations happen one at a time, so its limits hold across nodes. */
  lockUser(userId: string): Promise<void>;
  findChild(parentId: string, nameKey: string): Promise<ItemRecord | undefined>;
  /** The user's active sessions. */
  openSessionCount(ownerId: string): Promise<number>;
  /** Bytes held by the user's file versions plus the declared sizes of its active sessions. */
  storageUsed(ownerId: string): Promise<number>;
  insertSession(session: UploadSessionRecord): Promise<void>;
  insertFolder(folder: NewFolder): Promise<FolderRecord>;
  /** A new file with its first version. */
  insertFile(file: NewFile): Promise<FileRecord>;
  /** Makes `version` the file's current version, under `name` (a version may rename the file). */
  insertVersion(current: FileRecord, name: string, nameKey: string, version: NewVersion): Promise<FileRecord>;
  markCommitted(sessionId: string, fileId: string): Promise<void>;
  /** A folder's items with their name keys (its trashed items have left it). */
  childrenOf(folderId: string): Promise<Array<{ item: ItemRecord; nameKey: string }>>;
  /** Whether the folder has any item in it (its trashed items have left it). */
  hasChildren(folderId: string): Promise<boolean>;
  /** Puts the item and everything below it in the trash; the item leaves its folder. */
  trashItem(itemId: string, now: Millis): Promise<ItemRecord>;
  /** Takes a trashed item (deleted itself) and what went with it out of the trash, into `parentId` under `name`. */
  restoreItem(itemId: string, parentId: string, name: string, nameKey: string, now: Millis): Promise<ItemRecord>;
  /** Writes an item's name, parent, description, content time, modification time and etag; returns it as stored. */
  updateItem(itemId: string, fields: ItemFields): Promise<ItemRecord>;
  /**
   * Deletes for good a trashed item deleted itself, with what went with it, and queues the bytes of
   * their versions as garbage; false if it is no such item.
   */
  purgeTrashed(itemId: string): Promise<boolean>;
  /** The folders above an item, root first; for an item in the trash, those it was deleted from. */
  ancestors(itemId: string): Promise<FolderRecord[]>;
  userById(userId: string): Promise<UserRecord | undefined>;

  /** Webhooks on any of these items (files or folders). */
  webhooksOn(targetIds: readonly string[]): Promise<WebhookRecord[]>;
  /** Webhooks on a trashed item deleted itself, or on anything that went to the trash with it. */
  webhooksInTrashOf(trashRootId: string): Promise<WebhookRecord[]>;
  /** The webhook, its row locked. */
  lockWebhook(id: string): Promise<WebhookRecord | undefined>;
  /** The webhook on this target that calls this address, if any. */
  findWebhook(targetId: string, address: string): Promise<WebhookRecord | undefined>;
  insertWebhook(webhook: NewWebhook): Promise<WebhookRecord>;
  updateWebhook(webhook: WebhookRecord): Promise<WebhookRecord>;
  deleteWebhook(id: string): Promise<void>;
  /** Queues a delivery, due at once. */
  insertDelivery(delivery: Omit<DeliveryRecord, 'attempts'>): Promise<void>;
}
