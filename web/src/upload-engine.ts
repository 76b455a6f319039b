import { AbortedError, BoxApiError, type BoxApi, type FileMini, type UploadedPart, type UploadSession } from './api.js';
import { BOX_CHUNKED_MINIMUM } from '../../src/client/box-wire.js';
import { PartsInFlight } from '../../src/client/parts-in-flight.js';
import { IncrementalSha1, sha1Of, toBase64, toHex } from './sha1.js';
import { uploadKey, type SavedUpload, type StateStore, type UploadIdentity } from './state-store.js';

/**
 * Uploads one File, the way the Node client (src/client/upload.ts) does: files under Box's chunked
 * minimum go in one multipart request; larger ones through an upload session, with one reader going
 * through the file front to back (`file.slice`) that hashes the whole file incrementally and each
 * part on its own, and hands each hashed part to one of up to N uploads in flight. An upload sends a
 * slice of the File, which the browser streams from disk, so the page holds only the part being
 * hashed (at most READ_PIECE bytes), whatever N and the part size.
 *
 * The session is saved in the StateStore before any part is sent. Run again for the same file and
 * destination (after a pause, an error, a reload or a closed tab), it lists the parts the server
 * holds and sends only the others; the parts it skips are still read, checked against the server's
 * SHA-1 and fed into the whole-file hash, which the committed file's SHA-1 must match.
 */

/** Parts in flight (Box recommends 3 to 5; browsers open 6 connections per host over HTTP/1.1). */
const DEFAULT_CONCURRENCY = 4;
/** The most the reader holds at once; larger parts are read and hashed in pieces. */
const READ_PIECE = 32 * 1024 * 1024;

export interface UploadRequest {
  file: File;
  /** Where and under which name; `origin` and `userId` scope the saved session. */
  identity: UploadIdentity;
  folderName: string;
}

export interface UploadProgress {
  /** Bytes the server holds, parts from an earlier run included; never goes down within a run. */
  bytesDone: number;
  totalBytes: number;
  partsDone: number;
  totalParts: number;
  /** How far the reader is (it also re-reads stored parts, for the whole-file hash). */
  bytesRead: number;
  phase: 'starting' | 'uploading' | 'committing';
}

export interface UploadOptions {
  signal: AbortSignal;
  onProgress?: (progress: UploadProgress) => void;
  /** Something the user should know that is not an error (e.g. an expired session was replaced). */
  onNote?: (note: string) => void;
  /** Files smaller than this use the simple upload (default: Box's 20,000,000 bytes). */
  chunkedThreshold?: number;
  /** Parts in flight (default: 4, fewer for very large parts). */
  concurrency?: number;
}

export interface UploadOutcome {
  file: FileMini;
  /** SHA-1 (hex) of what was read, which the committed file's `sha1` matched. */
  sha1: string;
  sessionId: string | undefined;
  partsSent: number;
  /** Parts the server already held from an earlier run, not sent again. */
  partsSkipped: number;
  resumed: boolean;
}

/** The file changed (or became unreadable) since the upload began; it must start again. */
export class SourceChangedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceChangedError';
  }
}

/** What the server stored is not what was sent. */
export class VerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VerificationError';
  }
}

export interface EngineDeps {
  api: BoxApi;
  store: StateStore;
}

export async function runUpload(deps: EngineDeps, request: UploadRequest, options: UploadOptions): Promise<UploadOutcome> {
  const { file } = request;
  if (file.size < (options.chunkedThreshold ?? BOX_CHUNKED_MINIMUM)) return uploadSmall(deps, request, options);
  const opened = await openSession(deps, request, options);
  if (opened === 'too-small') return uploadSmall(deps, request, options);
  return uploadChunked(deps, request, opened, options);
}

/** Forgets a saved upload and aborts its session on the server (best effort: it may be gone already). */
export async function discardUpload(deps: EngineDeps, key: string): Promise<void> {
  const saved = await deps.store.get(key);
  await deps.store.delete(key);
  if (!saved) return;
  try {
    await deps.api.abortSession({ session_endpoints: sessionEndpoints(saved) });
  } catch (error) {
    if (!(error instanceof BoxApiError && (error.status === 404 || error.status === 410))) throw error;
  }
}

async function uploadSmall(deps: EngineDeps, request: UploadRequest, options: UploadOptions): Promise<UploadOutcome> {
  const { file, identity } = request;
  const report = (bytesDone: number, phase: UploadProgress['phase']) =>
    options.onProgress?.({ bytesDone, totalBytes: file.size, partsDone: bytesDone === file.size ? 1 : 0, totalParts: 1, bytesRead: file.size, phase });
  report(0, 'starting');
  const hasher = await IncrementalSha1.create();
  await hasher.update(await readSlice(file, 0, file.size));
  const sha1 = toHex(hasher.digest());
  report(0, 'uploading');
  const uploaded = await deps.api.uploadSmall({
    name: identity.name, file, sha1Hex: sha1, contentModifiedAt: contentModifiedAt(file),
    ...(identity.newVersionOf === undefined ? { folderId: identity.folderId } : { fileId: identity.newVersionOf }),
  }, options.signal);
  verifyCommitted(uploaded, sha1, file.size);
  report(file.size, 'committing');
  return { file: uploaded, sha1, sessionId: undefined, partsSent: 1, partsSkipped: 0, resumed: false };
}

interface OpenedSession {
  saved: SavedUpload;
  session: Pick<UploadSession, 'session_endpoints'>;
  stored: Map<number, UploadedPart>;
  resumed: boolean;
}

/** Continues the saved session if the server still has it, or opens (and saves) a new one. */
async function openSession(deps: EngineDeps, request: UploadRequest, options: UploadOptions): Promise<OpenedSession | 'too-small'> {
  const { api, store } = deps;
  const { identity, file } = request;
  const key = uploadKey(identity);
  const saved = await store.get(key);
  if (saved) {
    const session = { session_endpoints: sessionEndpoints(saved) };
    try {
      const parts = await api.listParts(session, options.signal);
      return { saved, session, stored: new Map(parts.map((part) => [part.offset, part])), resumed: true };
    } catch (error) {
      // Expired, aborted or unknown: start over with a new session.
      if (!(error instanceof BoxApiError && (error.status === 404 || error.status === 410))) throw error;
      await store.delete(key);
      options.onNote?.(error.status === 410
        ? 'The earlier upload session had expired (sessions last 7 days), so the upload starts again.'
        : 'The server no longer had the earlier upload session, so the upload starts again.');
    }
  }
  let created: UploadSession;
  try {
    created = identity.newVersionOf === undefined
      ? await api.createSession({ folderId: identity.folderId, fileName: identity.name, fileSize: file.size }, options.signal)
      : await api.createVersionSession(identity.newVersionOf, { fileSize: file.size }, options.signal);
  } catch (error) {
    // A server whose chunked minimum is higher than ours takes the file in one request instead.
    if (error instanceof BoxApiError && error.code === 'file_size_too_small') return 'too-small';
    throw error;
  }
  const now = Date.now();
  const record: SavedUpload = {
    ...identity, key, folderName: request.folderName,
    session: {
      id: created.id, endpoints: created.session_endpoints, partSize: created.part_size,
      totalParts: created.total_parts, expiresAt: created.session_expires_at,
    },
    partsStored: 0, createdAt: now, updatedAt: now,
  };
  await store.put(record);
  return { saved: record, session: created, stored: new Map(), resumed: false };
}

async function uploadChunked(deps: EngineDeps, request: UploadRequest, opened: OpenedSession, options: UploadOptions): Promise<UploadOutcome> {
  const { api, store } = deps;
  const { file } = request;
  const { saved, session, stored, resumed } = opened;
  const { partSize, totalParts } = saved.session;
  if (partSize <= 0 || partSize * totalParts < file.size) throw new VerificationError(`The server's session does not fit the file (${totalParts} parts of ${partSize} bytes)`);

  // One controller stops every part in flight when the caller stops or one part fails for good.
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  options.signal.addEventListener('abort', onAbort, { once: true });

  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
  const whole = await IncrementalSha1.create();
  const parts: UploadedPart[] = [];
  const inFlight = new PartsInFlight(concurrency, stop);
  let partsSent = 0;
  let partsSkipped = 0;

  // Parts the server holds count at once: they are done, whatever the reader still has to check.
  const progress: UploadProgress = { bytesDone: 0, totalBytes: file.size, partsDone: 0, totalParts, bytesRead: 0, phase: 'uploading' };
  for (const part of stored.values()) {
    progress.bytesDone += part.size;
    progress.partsDone++;
  }
  const report = () => options.onProgress?.({ ...progress });
  report();
  const remember = throttle(1000, () => void store.put({ ...saved, partsStored: progress.partsDone, updatedAt: Date.now() }).catch(() => {}));

  try {
    for (let offset = 0; offset < file.size; offset += partSize) {
      if (inFlight.stopped) break;
      const end = Math.min(offset + partSize, file.size);
      const partSha1 = await readPart(file, offset, end, whole);
      progress.bytesRead = end;
      const already = stored.get(offset);
      if (already) {
        if (already.sha1.toLowerCase() !== toHex(partSha1) || already.size !== end - offset) {
          throw new SourceChangedError(`The part at offset ${offset} on the server differs from the file: it changed since the upload began`);
        }
        parts.push(already);
        partsSkipped++;
        report();
        continue;
      }
      const started = await inFlight.start(async (signal) => {
        const part = await sendPart(api, session, file, offset, end, partSha1, signal);
        parts.push(part);
        partsSent++;
        progress.bytesDone += part.size;
        progress.partsDone++;
        report();
        remember.call();
      });
      if (!started) break;
    }
    await inFlight.settled();
  } catch (error) {
    await inFlight.abandon();
    throw error;
  } finally {
    options.signal.removeEventListener('abort', onAbort);
    remember.cancel();
  }
  if (options.signal.aborted) throw new AbortedError();
  if (inFlight.failure) throw inFlight.failure.error;
  await store.put({ ...saved, partsStored: progress.partsDone, updatedAt: Date.now() }).catch(() => {});

  progress.phase = 'committing';
  report();
  const sha1 = whole.digest();
  parts.sort((a, b) => a.offset - b.offset);
  const committed = await api.commit(session, parts, toBase64(sha1), { content_modified_at: contentModifiedAt(file) }, options.signal);
  verifyCommitted(committed, toHex(sha1), file.size);
  await store.delete(saved.key);
  return { file: committed, sha1: toHex(sha1), sessionId: saved.session.id, partsSent, partsSkipped, resumed };
}

/**
 * Sends the part `[offset, end)` as a slice of the File, which the browser streams from disk: the
 * bytes the reader hashed are not kept for it, so memory holds about one part whatever N is. If the
 * file changed since it was hashed, the server's Digest check refuses the part, or the browser
 * refuses to read it (which looks like a network error, so it is checked before each retry).
 */
async function sendPart(api: BoxApi, session: Pick<UploadSession, 'session_endpoints'>, file: File, offset: number, end: number,
  sha1: Uint8Array, signal: AbortSignal): Promise<UploadedPart> {
  const body = file.slice(offset, end);
  let part: UploadedPart;
  try {
    part = await api.uploadPart(session, {
      fileSize: file.size, offset, body, sha1Base64: toBase64(sha1),
      beforeRetry: async () => void await readSlice(file, offset, Math.min(offset + 1, end)),
    }, signal);
  } catch (error) {
    if (error instanceof BoxApiError && error.code === 'range_overlaps_existing_part') {
      throw new SourceChangedError(`The server holds other bytes at offset ${offset}: the file changed since the upload began`);
    }
    throw error;
  }
  if (part.offset !== offset || part.size !== body.size || part.sha1.toLowerCase() !== toHex(sha1)) {
    throw new VerificationError(`The server stored part ${offset} as ${part.size} bytes with SHA-1 ${part.sha1}, `
      + `but ${body.size} bytes with SHA-1 ${toHex(sha1)} were sent`);
  }
  return part;
}

/** Reads `[offset, end)` once, feeding the whole-file hash; returns the part's own SHA-1. */
async function readPart(file: File, offset: number, end: number, whole: IncrementalSha1): Promise<Uint8Array> {
  if (end - offset <= READ_PIECE) {
    const bytes = await readSlice(file, offset, end);
    await whole.update(bytes);
    return sha1Of(bytes);
  }
  const part = await IncrementalSha1.create();
  for (let start = offset; start < end; start += READ_PIECE) {
    const bytes = await readSlice(file, start, Math.min(start + READ_PIECE, end));
    await whole.update(bytes);
    await part.update(bytes);
  }
  return part.digest();
}

async function readSlice(file: File, start: number, end: number): Promise<Uint8Array<ArrayBuffer>> {
  try {
    return new Uint8Array(await file.slice(start, end).arrayBuffer());
  } catch (error) {
    // Browsers refuse to read a picked file that was modified, moved or deleted since.
    throw new SourceChangedError(`${file.name} can no longer be read (changed, moved or deleted?): ${(error as Error).message}`);
  }
}

function verifyCommitted(file: FileMini, sha1: string, size: number): void {
  if (file.sha1?.toLowerCase() !== sha1 || file.size !== size) {
    throw new VerificationError(`The committed file has SHA-1 ${file.sha1} and ${file.size} bytes, `
      + `but the local file has SHA-1 ${sha1} and ${size} bytes`);
  }
}

function sessionEndpoints(saved: SavedUpload): UploadSession['session_endpoints'] {
  return saved.session.endpoints;
}

function contentModifiedAt(file: File): string {
  return new Date(file.lastModified).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Calls `run` at most once per `ms`, and once more at the end of a burst unless cancelled. */
function throttle(ms: number, run: () => void): { call(): void; cancel(): void } {
  let last = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  return {
    call() {
      const wait = last + ms - Date.now();
      if (wait <= 0) {
        last = Date.now();
        run();
      } else {
        timer ??= setTimeout(() => {
          timer = undefined;
          last = Date.now();
          run();
        }, wait);
      }
    },
    cancel() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
