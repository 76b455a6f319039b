import type { BoxApi, BoxFile, SessionRef, UploadedPart, UploadSession } from './box-api.js';
import { BOX_CHUNKED_MINIMUM, toHex } from './box-wire.js';
import { AbortedError, BoxApiError, PartwayClientError, SourceChangedError, VerificationError } from './errors.js';
import type { PartSource, ReadPart } from './part-source.js';
import { PartsInFlight } from './parts-in-flight.js';

/**
 * One upload, for the Node client and the web uploader alike (tus-js-client's shape: the engine never
 * asks which platform it runs on). What differs sits behind two seams: the BoxApi's HttpStack
 * (undici or `fetch`) and the PartSource (`node:fs` or `File.slice`). Where a session is kept for
 * resuming (a state file, IndexedDB) is the caller's, through `resume`, `onState` and `onSessionLost`.
 *
 * Small files go in one request; larger ones through an upload session: the source reads front to
 * back (each byte once), hashing each part and the whole file, and the engine hands parts to up to
 * `concurrency` uploads in flight; the first part that fails for good stops the others. Parts the
 * server already holds (from `resume`) are read for the whole-file hash, checked against the
 * server's SHA-1 (which catches a changed file) and not sent. The committed file's SHA-1 must match.
 */

/** Parts in flight (Box recommends 3 to 5; browsers open 6 connections per host over HTTP/1.1). */
const DEFAULT_CONCURRENCY = 4;

/** What is needed to continue an upload session later (keep it; pass it back as `resume`). */
export interface ResumeState {
  sessionId: string;
  sessionEndpoints: UploadSession['session_endpoints'];
  partSize: number;
  totalParts: number;
  fileSize: number;
  expiresAt: string;
}

export interface EngineProgress {
  /** Bytes the server holds, parts from an earlier run included; never goes down within a run. */
  bytesDone: number;
  totalBytes: number;
  partsDone: number;
  totalParts: number;
  /** How far the reader is (it also re-reads stored parts, for the whole-file hash). */
  bytesRead: number;
  phase: 'starting' | 'uploading' | 'committing';
}

export interface EngineOptions {
  /** The folder to upload into (default `"0"`, the root). */
  folderId?: string | undefined;
  /** The file name (default: the source's). */
  name?: string | undefined;
  /** Upload a new version of this file instead of a new file. */
  newVersionOf?: string | undefined;
  /** Parts in flight at once (default 4). */
  concurrency?: number | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ((progress: EngineProgress) => void) | undefined;
  /** A session to continue, as an earlier `onState` gave it. */
  resume?: ResumeState | undefined;
  /** Called once a new session exists, before any part is sent: keep it to resume after a crash. */
  onState?: ((state: ResumeState) => void | Promise<void>) | undefined;
  /** The `resume` session is gone (expired: 410, or unknown: 404); a new one is opened instead. */
  onSessionLost?: ((error: BoxApiError) => void | Promise<void>) | undefined;
  /** Files smaller than this use the simple upload (default: Box's 20,000,000 bytes). */
  chunkedThreshold?: number | undefined;
  /** Sent as the file's `content_modified_at` (RFC 3339). */
  contentModifiedAt?: string | undefined;
}

export interface UploadResult {
  file: BoxFile;
  /** SHA-1 (hex) of what was read, which the committed file's `sha1` matched. */
  sha1: string;
  size: number;
  sessionId: string | undefined;
  partsSent: number;
  /** Parts the server already held from an earlier run and that were not sent again. */
  partsSkipped: number;
  resumed: boolean;
}

export async function uploadFrom(api: BoxApi, source: PartSource, options: EngineOptions = {}): Promise<UploadResult> {
  const name = options.name ?? source.name;
  if (name === undefined && options.newVersionOf === undefined) {
    throw new PartwayClientError('usage', 'A name is needed for a source without one');
  }
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_CONCURRENCY));
  if (!Number.isFinite(concurrency)) throw new PartwayClientError('usage', `concurrency must be a number, not ${options.concurrency}`);
  if (source.size < (options.chunkedThreshold ?? BOX_CHUNKED_MINIMUM)) return uploadSmall(api, source, name, options);
  const opened = await openSession(api, source, name, options);
  // A server whose chunked minimum is higher than ours takes the file in one request instead.
  if (opened === 'too-small') return uploadSmall(api, source, name, options);
  return uploadChunked(api, source, opened, concurrency, options);
}

/** Aborts a session that may be gone already (expired or aborted: 404 and 410 count as done). */
export async function abortQuietly(api: BoxApi, session: SessionRef): Promise<void> {
  try {
    await api.abortSession(session);
  } catch (error) {
    if (!(error instanceof BoxApiError && (error.status === 404 || error.status === 410))) throw error;
  }
}

async function uploadSmall(api: BoxApi, source: PartSource, name: string | undefined, options: EngineOptions): Promise<UploadResult> {
  const report = (bytesDone: number, phase: EngineProgress['phase']) => options.onProgress?.({
    bytesDone, totalBytes: source.size, partsDone: bytesDone === source.size ? 1 : 0, totalParts: 1, bytesRead: source.size, phase,
  });
  const { content, sha1: digest } = await source.whole();
  const sha1 = toHex(digest);
  await source.checkUnchanged();
  report(0, 'uploading');
  const file = await api.uploadSmall({
    fileName: name ?? '', content, sha1Hex: sha1, contentModifiedAt: options.contentModifiedAt,
    ...(options.newVersionOf === undefined ? { folderId: options.folderId ?? '0' } : { fileId: options.newVersionOf }),
  }, options.signal);
  verifyCommitted(file, sha1, source.size);
  report(source.size, 'committing');
  return { file, sha1, size: source.size, sessionId: undefined, partsSent: 1, partsSkipped: 0, resumed: false };
}

interface OpenedSession {
  session: SessionRef;
  state: ResumeState;
  stored: Map<number, UploadedPart>;
  resumed: boolean;
}

/** Continues the `resume` session if the server still has it for this file, or opens a new one. */
async function openSession(api: BoxApi, source: PartSource, name: string | undefined, options: EngineOptions): Promise<OpenedSession | 'too-small'> {
  const resume = options.resume;
  if (resume && resume.fileSize === source.size) {
    const session = { session_endpoints: resume.sessionEndpoints };
    try {
      const parts = await api.listParts(session, options.signal);
      return { session, state: resume, stored: new Map(parts.map((part) => [part.offset, part])), resumed: true };
    } catch (error) {
      // Expired, aborted or unknown: start over with a new session.
      if (!(error instanceof BoxApiError && (error.status === 404 || error.status === 410))) throw error;
      await options.onSessionLost?.(error);
    }
  }
  let session: UploadSession;
  try {
    session = options.newVersionOf === undefined
      ? await api.createSession({ folderId: options.folderId ?? '0', fileName: name!, fileSize: source.size }, options.signal)
      : await api.createVersionSession(options.newVersionOf, { fileSize: source.size, fileName: options.name }, options.signal);
  } catch (error) {
    if (error instanceof BoxApiError && error.code === 'file_size_too_small') return 'too-small';
    throw error;
  }
  const state: ResumeState = {
    sessionId: session.id, sessionEndpoints: session.session_endpoints, partSize: session.part_size,
    totalParts: session.total_parts, fileSize: source.size, expiresAt: session.session_expires_at,
  };
  await options.onState?.(state);
  return { session, state, stored: new Map(), resumed: false };
}

async function uploadChunked(api: BoxApi, source: PartSource, opened: OpenedSession, concurrency: number,
  options: EngineOptions): Promise<UploadResult> {
  const { session, state, stored, resumed } = opened;
  const { partSize, totalParts } = state;
  if (!(partSize > 0) || partSize * totalParts < source.size) {
    throw new VerificationError(`The server's session does not fit the file (${totalParts} parts of ${partSize} bytes)`);
  }

  // One controller stops every part in flight when the caller aborts or one part fails for good.
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const uploaded: UploadedPart[] = [];
  const inFlight = new PartsInFlight(concurrency, stop);
  let partsSent = 0;
  let partsSkipped = 0;

  // Parts the server holds count at once: they are done, whatever the reader still has to check.
  const progress: EngineProgress = { bytesDone: 0, totalBytes: source.size, partsDone: 0, totalParts, bytesRead: 0, phase: 'uploading' };
  for (const part of stored.values()) {
    progress.bytesDone += part.size;
    progress.partsDone++;
  }
  const report = () => options.onProgress?.({ ...progress });
  report();

  try {
    for await (const part of source.parts(partSize)) {
      if (inFlight.stopped) {
        part.release();
        break;
      }
      progress.bytesRead = part.offset + part.length;
      const already = stored.get(part.offset);
      if (already) {
        part.release();
        if (already.sha1.toLowerCase() !== toHex(part.sha1) || already.size !== part.length) {
          throw new SourceChangedError(`The part at offset ${part.offset} on the server differs from the file: it changed since the upload began`);
        }
        uploaded.push(already);
        partsSkipped++;
        report();
        continue;
      }
      const started = await inFlight.start(async (signal) => {
        try {
          uploaded.push(await sendPart(api, session, source.size, part, signal));
        } finally {
          part.release();
        }
        partsSent++;
        progress.bytesDone += part.length;
        progress.partsDone++;
        report();
      });
      if (!started) {
        part.release();
        break;
      }
    }
    await inFlight.settled();
  } catch (error) {
    // The reader failed (the source changed or ended early): stop the parts in flight before saying so.
    await inFlight.abandon();
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (options.signal?.aborted) throw new AbortedError('The upload was stopped; run it again to resume');
  if (inFlight.failure) throw inFlight.failure.error;
  await source.checkUnchanged();

  progress.phase = 'committing';
  report();
  const sha1 = source.wholeSha1();
  uploaded.sort((a, b) => a.offset - b.offset);
  const file = await api.commit(session, uploaded, sha1, { contentModifiedAt: options.contentModifiedAt, signal: options.signal });
  verifyCommitted(file, toHex(sha1), source.size);
  return { file, sha1: toHex(sha1), size: source.size, sessionId: state.sessionId, partsSent, partsSkipped, resumed };
}

/** Sends one part and checks that the server stored exactly it. */
async function sendPart(api: BoxApi, session: SessionRef, fileSize: number, part: ReadPart, signal: AbortSignal): Promise<UploadedPart> {
  let stored: UploadedPart;
  try {
    stored = await api.uploadPart(session, {
      fileSize, offset: part.offset, length: part.length, body: part.body, sha1: part.sha1, beforeRetry: part.beforeRetry,
    }, signal);
  } catch (error) {
    if (error instanceof BoxApiError && error.code === 'range_overlaps_existing_part') {
      throw new SourceChangedError(`The server holds other bytes at offset ${part.offset}: the file changed since the upload began`);
    }
    throw error;
  }
  if (stored.offset !== part.offset || stored.size !== part.length || stored.sha1.toLowerCase() !== toHex(part.sha1)) {
    throw new VerificationError(`The server stored part ${part.offset} as ${stored.size} bytes with SHA-1 ${stored.sha1}, `
      + `but ${part.length} bytes with SHA-1 ${toHex(part.sha1)} were sent`);
  }
  return stored;
}

function verifyCommitted(file: BoxFile, sha1: string, size: number): void {
  if (file.sha1?.toLowerCase() !== sha1 || file.size !== size) {
    throw new VerificationError(`The committed file ${file.id} has SHA-1 ${file.sha1} and ${file.size} bytes, `
      + `but the source has SHA-1 ${sha1} and ${size} bytes`);
  }
}
