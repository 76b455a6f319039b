import type { BlobStore, PartToJoin } from '../blobs/store.js';
import type { MetadataStore } from '../metadata/store.js';
import type { BlobKey, FileRecord, PartRecord, UploadSessionRecord, UserRecord } from './model.js';
import { AtomicSteps } from './atomic-steps.js';
import type { EventOutbox } from './event-outbox.js';
import { BoxError, ItemConflictError, PartOverlapError, rethrowStorageFull } from './errors.js';
import type { PendingContentGrant } from './download-links.js';
import type { Downloadable, Folders } from './folders.js';
import { sha1Of, PartMeter } from './hashing.js';
import { sha1HexToBase64, type ContentRange } from './headers.js';
import { newAttemptId, newSessionId, normalizeSessionId } from './ids.js';
import { checkItemName, nameKey } from './names.js';
import { gateError, OPEN_GATE, publicFolderId, type UploadDescription, type UploadGate } from './upload-gate.js';
import { WholeFileHashes, type PrefixClaim } from './whole-file-hashes.js';
import { checkCommitParts, partSlotFor, type ListedPart, type PartSlot } from './part-rules.js';
import { choosePartSize, totalParts, type PartSizePolicy } from './part-size.js';

/** How long a second attempt at a part waits for the first to end before it is told to retry, and how often it looks. */
const SLOT_WAIT_MS = 10_000;
const SLOT_POLL_MS = 50;

export interface UploadLimits {
  partSizePolicy: PartSizePolicy;
  /** Smaller files must use the simple upload (Box: 20,000,000 bytes). */
  minChunkedFileSize: number;
  maxFileSize: number;
  sessionLifetimeMs: number;
  /** Bytes a user may hold, counting sessions in progress; null for no limit. */
  storageQuota: number | null;
  /** Upload sessions a user may have open at once; null for no limit. */
  maxOpenSessions: number | null;
  /** How long a part write counts as in flight if its node dies without ending it. */
  partWriteLeaseMs: number;
  /** What a commit that must wait for parts still being written tells the client to wait. */
  commitRetryAfterSeconds: number;
}

/**
 * A part's headers as parsed by the caller (./headers.ts has the parsers). A header that failed to
 * parse comes as its BoxError: Box answers for an unknown session before it looks at the headers.
 */
export interface PartHeaders {
  /** From `Content-Range`. */
  range: ContentRange | BoxError;
  /** The part's SHA-1 (hex) from `Digest`. */
  sha1: string | BoxError;
  contentLength?: number | undefined;
}

export interface CommitRequest {
  /** The whole file's SHA-1 (hex) from `Digest`. */
  sha1: string;
  parts: readonly ListedPart[];
  ifMatch?: string | undefined;
  contentCreatedAt?: number | undefined;
  contentModifiedAt?: number | undefined;
  description?: string | undefined;
  /** Where this server's links are reached, for the pre-commit hook's link to the joined bytes. */
  linkBase?: string | undefined;
}

/** Parts the whole-file hash may lag behind the newest part before part answers wait for it. */
const WHOLE_FILE_HASH_MAX_LAG = 4;

export type CommitOutcome = { file: FileRecord } | { retryAfterSeconds: number };

/**
 * The rules of Box upload sessions: creating them, taking parts in any order and in parallel,
 * committing them into exactly one file or version, aborting and expiring them. It knows nothing of
 * HTTP; bytes go to the BlobStore, records to the MetadataStore, and races are settled in one metadata
 * transaction each (AtomicSteps, or a store method where no Box rule decides).
 */
export class UploadSessions {
  readonly #metadata: MetadataStore;
  readonly #steps: AtomicSteps;
  readonly #blobs: BlobStore;
  readonly #folders: Folders;
  readonly #limits: UploadLimits;
  readonly #now: () => number;
  /** Called when bytes became garbage, so they are reclaimed now rather than at the next sweep. */
  readonly #onGarbage: () => void;
  /** Whole-file SHA-1s kept up to date as parts arrive (this process's share of them). */
  readonly #hashes: WholeFileHashes;
  /** The operator's say before a session opens and before it commits. */
  readonly #gate: UploadGate;

  constructor(deps: {
    metadata: MetadataStore; blobs: BlobStore; folders: Folders; limits: UploadLimits;
    now?: () => number; onGarbage?: () => void; onError?: (error: unknown) => void; gate?: UploadGate;
    events?: EventOutbox;
  }) {
    this.#gate = deps.gate ?? OPEN_GATE;
    this.#metadata = deps.metadata;
    this.#steps = new AtomicSteps(deps.metadata, deps.events);
    this.#blobs = deps.blobs;
    this.#folders = deps.folders;
    this.#limits = deps.limits;
    this.#now = deps.now ?? Date.now;
    this.#onGarbage = deps.onGarbage ?? (() => {});
    this.#hashes = new WholeFileHashes(deps.metadata, deps.blobs.readPart?.bind(deps.blobs), deps.onError ?? (() => {}));
  }

  async create(user: UserRecord, request: { folderId: string; fileName: string; fileSize: number }): Promise<UploadSessionRecord> {
    const folder = await this.#newFileTarget(user, request.folderId, request.fileName, () => this.#checkFileSize(request.fileSize));
    await this.#askBeforeCreate(user, { folderId: folder.id, fileId: null, name: request.fileName, size: request.fileSize });
    return this.#open(user, { folderId: folder.id, fileId: null, fileName: request.fileName, fileSize: request.fileSize });
  }

  async createForVersion(user: UserRecord, fileId: string, request: { fileName?: string | undefined; fileSize: number }): Promise<UploadSessionRecord> {
    const { file, fileName } = await this.#versionTarget(user, fileId, request.fileName, () => this.#checkFileSize(request.fileSize));
    await this.#askBeforeCreate(user, { folderId: file.parentId, fileId: file.id, name: fileName, size: request.fileSize });
    return this.#open(user, { folderId: file.parentId, fileId: file.id, fileName, fileSize: request.fileSize });
  }

  /**
   * Box's preflight check (`OPTIONS /files/content`): the checks an upload of a new file would make
   * (name, folder, name in use, maximum size, quota), for a simple or a chunked upload, so no minimum size.
   */
  async preflightNewFile(user: UserRecord, request: { folderId: string; fileName: string; fileSize?: number | undefined }): Promise<void> {
    await this.#newFileTarget(user, request.folderId, request.fileName, () => this.#checkMaxFileSize(request.fileSize));
    await this.#checkQuota(user, request.fileSize);
  }

  /** The preflight check of a new version (`OPTIONS /files/{id}/content`), optionally renaming the file. */
  async preflightNewVersion(user: UserRecord, fileId: string, request: { fileName?: string | undefined; fileSize?: number | undefined }): Promise<void> {
    await this.#versionTarget(user, fileId, request.fileName, () => this.#checkMaxFileSize(request.fileSize));
    await this.#checkQuota(user, request.fileSize);
  }

  /** The folder a new file would go to, once its name, size (`checkSize`) and the name's being free are checked. */
  async #newFileTarget(user: UserRecord, folderId: string, fileName: string, checkSize: () => void) {
    checkItemName(fileName);
    checkSize();
    const folder = await this.#folders.folder(user, folderId);
    const conflict = await this.#metadata.findChild(folder.id, nameKey(fileName));
    if (conflict) throw new ItemConflictError(conflict);
    return folder;
  }

  async #versionTarget(user: UserRecord, fileId: string, newName: string | undefined, checkSize: () => void) {
    const file = await this.#folders.file(user, fileId);
    const fileName = newName ?? file.name;
    checkItemName(fileName);
    checkSize();
    if (nameKey(fileName) !== nameKey(file.name)) {
      const conflict = await this.#metadata.findChild(file.parentId, nameKey(fileName));
      if (conflict) throw new ItemConflictError(conflict);
    }
    return { file, fileName };
  }

  /** A session the user may see: active or committed. */
  async get(user: UserRecord, rawId: string): Promise<UploadSessionRecord> {
    return this.#session(user, rawId);
  }

  async listParts(user: UserRecord, rawId: string, offset: number, limit: number) {
    const session = await this.#session(user, rawId);
    return this.#metadata.listParts(session.id, offset, limit);
  }

  /**
   * Stores one part. Its bytes are hashed while they stream to the blob store, and it is recorded
   * only once they are durable and match the Digest. A part whose slot is already taken is read and
   * compared, never written: identical bytes are a client's retry (200 with the stored part).
   */
  async uploadPart(user: UserRecord, rawId: string, headers: PartHeaders, body: AsyncIterable<Uint8Array>): Promise<PartRecord> {
    const session = await this.#session(user, rawId);
    const sha1 = valueOrThrow(headers.sha1);
    const slot = partSlotFor(session, valueOrThrow(headers.range), headers.contentLength);

    const stored = await this.#metadata.getPart(session.id, slot.offset);
    if (stored) return this.#compareWithStored(stored, slot, sha1, body);
    if (session.state !== 'active') throw new BoxError('not_found', 'The upload session was committed');

    const writeId = newAttemptId();
    const waited = await this.#claimSlot(session, slot, writeId);
    try {
      // The attempt that held the slot may have recorded it meanwhile: then this one is compared with it.
      const recorded = waited ? await this.#metadata.getPart(session.id, slot.offset) : undefined;
      if (recorded) return await this.#compareWithStored(recorded, slot, sha1, body);
      return await this.#writePart(session, slot, sha1, writeId, body);
    } finally {
      await this.#metadata.endPartWrite(writeId);
    }
  }

  /**
   * Registers this attempt as the slot's one writer, waiting (a bounded time) while another attempt
   * writes it: on S3 both would write the same S3 part, and the loser's bytes could land after the
   * winner was recorded, leaving a part whose ETag no longer matches (every commit refused). A
   * writer that died with its node holds the slot until its lease ends. Returns whether it waited;
   * past the wait, a 429 with Retry-After, which Box's clients retry.
   */
  async #claimSlot(session: UploadSessionRecord, slot: PartSlot, writeId: string): Promise<boolean> {
    const deadline = Date.now() + SLOT_WAIT_MS;
    for (let waited = false; ; waited = true) {
      const now = this.#now();
      const write = { writeId, sessionId: session.id, offset: slot.offset, expiresAt: now + this.#limits.partWriteLeaseMs };
      if (await this.#metadata.claimPartWrite(write, now)) return waited;
      if (Date.now() >= deadline) {
        throw new BoxError('rate_limit_exceeded', `Another attempt at the part at offset ${slot.offset} is being written; retry`,
          { retryAfterSeconds: this.#limits.commitRetryAfterSeconds });
      }
      await new Promise((resolve) => setTimeout(resolve, SLOT_POLL_MS));
    }
  }

  /**
   * Commits the session into a file (or a new version), exactly once. The parts are joined and
   * hashed once; a wrong whole-file digest leaves the session usable for a corrected commit, and a
   * replayed commit of a committed session answers as the first one did.
   */
  async commit(user: UserRecord, rawId: string, request: CommitRequest): Promise<CommitOutcome> {
    const digestSha1 = request.sha1;
    let session = await this.#session(user, rawId);
    if (session.state === 'committed') return { file: await this.#replayCommit(session, digestSha1) };

    const stored = (await this.#metadata.listParts(session.id, 0, session.totalParts)).entries;
    try {
      const check = checkCommitParts(session, request.parts, stored);
      if ('missingOffsets' in check) {
        const inFlight = new Set(await this.#metadata.partWritesInFlight(session.id, this.#now()));
        if (check.missingOffsets.every((offset) => inFlight.has(offset))) {
          return { retryAfterSeconds: this.#limits.commitRetryAfterSeconds };
        }
        throw new BoxError('parts_mismatch',
          `The parts at offsets ${check.missingOffsets.join(', ')} were listed but not uploaded`);
      }
    } catch (error) {
      // An abort racing this commit takes the parts away: answer as for the abort, not as for the list.
      const now = await this.#metadata.getSession(session.id);
      if (now?.state !== 'active') throw now?.state === 'committed' ? error : this.#stateError(now);
      throw error;
    }

    if (session.contentSha1 === null) session = await this.#joinParts(session, stored);
    if (session.contentSha1 !== digestSha1) throw digestMismatch(session.contentSha1!, digestSha1);
    // Decided before the commit's transaction: a refused commit records nothing (no file, no event).
    if (session.state === 'active') await this.#askBeforeCommit(user, session, request.linkBase ?? '');

    const result = await this.#steps.commitSession({
      sessionId: session.id, nameKey: nameKey(session.fileName), ifMatch: request.ifMatch,
      contentCreatedAt: request.contentCreatedAt, contentModifiedAt: request.contentModifiedAt,
      description: request.description, now: this.#now(),
    });
    if ('committed' in result) {
      this.#hashes.forget(session.id);
      return { file: result.committed };
    }
    if ('alreadyCommitted' in result) return { file: await this.#replayCommit(result.alreadyCommitted, digestSha1) };
    if ('conflict' in result) throw new ItemConflictError(result.conflict);
    if ('preconditionFailed' in result) throw new BoxError('precondition_failed');
    if ('targetMissing' in result) throw new BoxError('not_found', 'The folder or file this session uploads to no longer exists');
    throw this.#stateError('notActive' in result ? result.notActive : undefined);
  }

  /** Aborts an active session (its bytes become garbage); a committed one is left as it is. */
  async abort(user: UserRecord, rawId: string): Promise<void> {
    const session = await this.#session(user, rawId);
    const before = await this.#metadata.abortSession(session.id);
    this.#hashes.forget(session.id);
    if (before?.state === 'active') this.#onGarbage();
    else if (before?.state !== 'committed') throw this.#stateError(before);
  }

  /**
   * The joined bytes of an active session, for the link the pre-commit hook is given. Undefined once
   * the session was committed or aborted, or for bytes that are gone.
   */
  async pendingContent(grant: PendingContentGrant): Promise<Downloadable | undefined> {
    if (grant.sessionId !== null) {
      const session = await this.#metadata.getSession(grant.sessionId);
      if (session?.state !== 'active' || session.blobKey !== grant.blobKey) return undefined;
      return { name: session.fileName, size: grant.size, sha1: grant.sha1, open: (range) => this.#blobs.read(grant.blobKey, range) };
    }
    // A simple upload's bytes have no record until they are a file: a link to bytes since discarded finds nothing.
    const first = await this.#blobs.read(grant.blobKey, grant.size === 0 ? undefined : { start: 0, end: 0 }).catch(() => undefined);
    if (!first) return undefined;
    first.destroy();
    return { name: 'content', size: grant.size, sha1: grant.sha1, open: (range) => this.#blobs.read(grant.blobKey, range) };
  }

  async #askBeforeCreate(user: UserRecord, target: Omit<UploadDescription, 'kind' | 'sessionId'>): Promise<void> {
    const verdict = await this.#gate.preCreate(user, {
      kind: 'session', sessionId: null, ...target, folderId: publicFolderId(user, target.folderId),
    });
    const refusal = gateError(verdict);
    if (refusal) throw refusal;
  }

  /** The pre-commit hook on joined, verified bytes; a refusal that asks for it aborts the session. */
  async #askBeforeCommit(user: UserRecord, session: UploadSessionRecord, linkBase: string): Promise<void> {
    const verdict = await this.#gate.preCommit(user, {
      kind: 'session', sessionId: session.id, folderId: publicFolderId(user, session.folderId), fileId: session.fileId,
      name: session.fileName, size: session.fileSize,
    }, { sha1: session.contentSha1!, grant: { blobKey: session.blobKey!, size: session.fileSize, sha1: session.contentSha1!, sessionId: session.id }, linkBase });
    const refusal = gateError(verdict);
    if (!refusal) return;
    if ('refused' in verdict && verdict.refused.abort) {
      await this.#metadata.abortSession(session.id);
      this.#hashes.forget(session.id);
      this.#onGarbage();
    }
    throw refusal;
  }

  #checkFileSize(fileSize: number): void {
    if (fileSize < this.#limits.minChunkedFileSize) {
      throw new BoxError('file_size_too_small',
        `A chunked upload needs at least ${this.#limits.minChunkedFileSize} bytes; use the simple upload for smaller files`);
    }
    this.#checkMaxFileSize(fileSize);
  }

  #checkMaxFileSize(fileSize: number | undefined): void {
    if (fileSize !== undefined && fileSize > this.#limits.maxFileSize) {
      throw new BoxError('file_size_limit_exceeded', `The file is larger than the maximum of ${this.#limits.maxFileSize} bytes`);
    }
  }

  /** The same test as a session's creation (createSession), made ahead of it, so not a promise. */
  async #checkQuota(user: UserRecord, fileSize: number | undefined): Promise<void> {
    const quota = this.#limits.storageQuota;
    if (quota === null || fileSize === undefined) return;
    const used = await this.#metadata.storageUsed(user.id);
    if (used + fileSize > quota) {
      throw new BoxError('storage_limit_exceeded', `Account storage limit reached: ${used} of ${quota} bytes used`);
    }
  }

  /** What Box's `GET /users/me` reports: bytes held and allowed, and the largest file. */
  async storage(user: UserRecord): Promise<{ used: number; quota: number | null; maxFileSize: number }> {
    return { used: await this.#metadata.storageUsed(user.id), quota: this.#limits.storageQuota, maxFileSize: this.#limits.maxFileSize };
  }

  async #open(user: UserRecord, target: Pick<UploadSessionRecord, 'folderId' | 'fileId' | 'fileName' | 'fileSize'>): Promise<UploadSessionRecord> {
    const partSize = choosePartSize(target.fileSize, this.#limits.partSizePolicy);
    const now = this.#now();
    const session: UploadSessionRecord = {
      ...target, id: newSessionId(), ownerId: user.id, partSize, totalParts: totalParts(target.fileSize, partSize),
      uploadRef: await this.#blobs.createUpload().catch(rethrowStorageFull), state: 'active',
      createdAt: now, expiresAt: now + this.#limits.sessionLifetimeMs, blobKey: null, contentSha1: null,
      committedFileId: null, partsStored: 0,
    };
    const created = await this.#steps.createSession(session, { quota: this.#limits.storageQuota, maxOpenSessions: this.#limits.maxOpenSessions });
    if ('quotaExceeded' in created) {
      await this.#blobs.abortUpload(session.uploadRef);
      throw new BoxError('storage_limit_exceeded',
        `Account storage limit reached: ${created.quotaExceeded} of ${this.#limits.storageQuota} bytes used`);
    }
    if ('tooManySessions' in created) {
      await this.#blobs.abortUpload(session.uploadRef);
      throw new BoxError('upload_session_limit_exceeded',
        `${created.tooManySessions} upload sessions are open; commit or abort one first (the limit is ${this.#limits.maxOpenSessions})`);
    }
    return session;
  }

  async #session(user: UserRecord, rawId: string): Promise<UploadSessionRecord> {
    const id = normalizeSessionId(rawId);
    if (id === undefined) throw new BoxError('invalid_upload_session_id');
    const session = await this.#metadata.getSession(id);
    if (!session || session.ownerId !== user.id) throw this.#stateError(undefined);
    if (session.state === 'committed') return session;
    if (session.state !== 'active' || session.expiresAt <= this.#now()) throw this.#stateError(session);
    return session;
  }

  #stateError(session: UploadSessionRecord | undefined): BoxError {
    if (session?.state === 'expired' || (session?.state === 'active' && session.expiresAt <= this.#now())) {
      return new BoxError('session_expired');
    }
    if (session?.state === 'committed') return new BoxError('conflict', 'The upload session was already committed');
    return new BoxError('not_found', 'Could not find the specified upload session');
  }

  async #compareWithStored(stored: PartRecord, slot: PartSlot, sha1: string, body: AsyncIterable<Uint8Array>): Promise<PartRecord> {
    const meter = new PartMeter(slot.size);
    await sha1Of(meter.pass(body));
    if (meter.received === slot.size && meter.sha1() === sha1 && sha1 === stored.sha1) return stored;
    throw new PartOverlapError(stored);
  }

  async #writePart(session: UploadSessionRecord, slot: PartSlot, sha1: string, writeId: string,
    body: AsyncIterable<Uint8Array>): Promise<PartRecord> {
    // A part that starts where the whole-file hash stops goes into it as it streams.
    const claim = this.#hashes.claim(session, slot.offset);
    try {
      return await this.#storePart(session, slot, sha1, writeId, body, claim);
    } finally {
      if (claim) this.#hashes.abandon(session, claim); // a no-op once partRecorded has taken it
    }
  }

  async #storePart(session: UploadSessionRecord, slot: PartSlot, sha1: string, writeId: string,
    body: AsyncIterable<Uint8Array>, claim: PrefixClaim | undefined): Promise<PartRecord> {
    const meter = new PartMeter(slot.size, { also: claim?.hash });
    const shortBody = () => new BoxError('requested_range_not_satisfiable',
      `The body ended after ${meter.received} of the ${slot.size} bytes the Content-Range names`);
    const partRef = await this.#blobs
      .writePart(session.uploadRef, { partNumber: slot.partNumber, size: slot.size, attemptId: writeId }, meter.pass(body))
      .catch((error: unknown) => {
        // A store that knows the length up front (S3) fails a short body itself.
        if (meter.ended && meter.received < slot.size) throw shortBody();
        return rethrowStorageFull(error);
      });
    const discard = () => this.#blobs.discardPart(session.uploadRef, slot.partNumber, partRef);
    if (meter.received !== slot.size) {
      await discard();
      throw shortBody();
    }
    const actual = meter.sha1();
    if (actual !== sha1) {
      await discard();
      throw digestMismatch(actual, sha1);
    }
    const result = await this.#metadata.recordPart({
      sessionId: session.id, offset: slot.offset, size: slot.size, sha1, partId: partIdFor(session.id, slot.partNumber),
      partRef, createdAt: this.#now(),
    });
    if ('recorded' in result) {
      this.#hashes.partRecorded(session, slot, claim);
      // The part is stored; its answer waits only if the whole-file hash has fallen far behind.
      await this.#hashes.keepUp(session, slot.offset, WHOLE_FILE_HASH_MAX_LAG * session.partSize);
      return result.recorded;
    }
    await discard();
    if ('existing' in result) {
      if (result.existing.sha1 === sha1) return result.existing;
      throw new PartOverlapError(result.existing);
    }
    throw this.#stateError(result.notActive);
  }

  async #joinParts(session: UploadSessionRecord, stored: readonly PartRecord[]): Promise<UploadSessionRecord> {
    const parts: PartToJoin[] = [...stored]
      .sort((a, b) => a.offset - b.offset)
      .map((part) => ({ partNumber: part.offset / session.partSize + 1, partRef: part.partRef, size: part.size }));
    try {
      const blobKey = await this.#blobs.completeUpload(session.uploadRef, parts).catch(rethrowStorageFull);
      // Hashed while the parts arrived, or else now, reading the joined file once.
      const sha1 = await this.#hashes.sha1(session) ?? await this.#hashJoined(session, blobKey);
      if (await this.#metadata.setSessionContent(session.id, blobKey, sha1)) return { ...session, blobKey, contentSha1: sha1 };
    } catch (error) {
      // An abort (or expiry) racing this commit may have taken the bytes away: answer as for the abort.
      const now = await this.#metadata.getSession(session.id);
      if (now?.state === 'active') throw error;
    }
    const now = await this.#metadata.getSession(session.id);
    if (now?.state === 'committed') return now;
    throw this.#stateError(now);
  }

  async #hashJoined(session: UploadSessionRecord, blobKey: BlobKey): Promise<string> {
    const { sha1, size } = await sha1Of(await this.#blobs.read(blobKey));
    if (size !== session.fileSize) throw new Error(`Joined ${size} bytes for a ${session.fileSize}-byte session ${session.id}`);
    return sha1;
  }

  async #replayCommit(session: UploadSessionRecord, digestSha1: string): Promise<FileRecord> {
    if (session.contentSha1 !== digestSha1) throw digestMismatch(session.contentSha1!, digestSha1);
    const file = session.committedFileId === null ? undefined : await this.#metadata.getItem(session.committedFileId);
    if (file?.type !== 'file') throw new BoxError('not_found', 'The file committed from this session was deleted');
    return file;
  }
}

/**
 * Part ids are unique within a session and the same for every attempt at a slot: the session id's
 * first 32 bits plus the part number, as 8 hex digits like Box's.
 */
export function partIdFor(sessionId: string, partNumber: number): string {
  const base = Number.parseInt(sessionId.slice(0, 8), 16);
  return ((base + partNumber - 1) >>> 0).toString(16).toUpperCase().padStart(8, '0');
}

function digestMismatch(actualHex: string, expectedHex: string): BoxError {
  return new BoxError('digest_mismatch',
    `The digest was incorrect. Actual: ${sha1HexToBase64(actualHex)} Expected: ${sha1HexToBase64(expectedHex)}`);
}

function valueOrThrow<T>(parsed: T | BoxError): T {
  if (parsed instanceof BoxError) throw parsed;
  return parsed;
}
