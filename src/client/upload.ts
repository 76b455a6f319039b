import { createHash } from 'node:crypto';
import type { BoxApi, BoxFile, UploadedPart, UploadSession } from './box-api.js';
import { AbortedError, BoxApiError, PartwayClientError, SourceChangedError, VerificationError } from './errors.js';
import { BOX_CHUNKED_MINIMUM } from './box-wire.js';
import { PartsInFlight } from './parts-in-flight.js';
import { openSource, type PartSource, type UploadSource } from './sources.js';

/** What is needed to continue an upload session later (keep it; pass it back as `resume`). */
export interface ResumeState {
  sessionId: string;
  sessionEndpoints: UploadSession['session_endpoints'];
  partSize: number;
  totalParts: number;
  fileSize: number;
  expiresAt: string;
}

export interface UploadProgress {
  /** Bytes the server holds, parts from an earlier run included; never goes down. */
  bytesDone: number;
  totalBytes: number;
  partsDone: number;
  totalParts: number;
}

export interface UploadOptions {
  /** The folder to upload into (default `"0"`, the root). */
  folderId?: string;
  /** The file name (default: the path's base name or the Blob's name). */
  name?: string;
  /** Upload a new version of this file instead of a new file. */
  newVersionOf?: string;
  /** Parts in flight at once (default 4). */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (progress: UploadProgress) => void;
  /** A session to continue, as an earlier `onState` gave it. */
  resume?: ResumeState | undefined;
  /** Called once a session exists, before any part is sent: persist it to resume after a crash. */
  onState?: (state: ResumeState) => void | Promise<void>;
  /** Files smaller than this use the simple upload (default: Box's 20,000,000 bytes). */
  chunkedThreshold?: number;
  /** Sent as the file's `content_modified_at` (RFC 3339). */
  contentModifiedAt?: string;
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

/**
 * Uploads one source. Small files go in one request; larger ones through an upload session: one
 * reader goes through the source front to back (each byte read once), hashing the whole file as it
 * goes and handing parts to up to `concurrency` uploads in flight, so memory stays near
 * `(concurrency + 1) × part size`. Parts the server already holds (from `resume`) are read for the
 * whole-file hash but not sent. The committed file's SHA-1 must match what was read.
 */
export async function upload(api: BoxApi, source: UploadSource, options: UploadOptions = {}): Promise<UploadResult> {
  const input = await openSource(source);
  const name = options.name ?? input.name;
  if (name === undefined && options.newVersionOf === undefined) {
    throw new PartwayClientError('usage', 'A name is needed for a source without one');
  }
  if (input.size < (options.chunkedThreshold ?? BOX_CHUNKED_MINIMUM)) return uploadSmall(api, input, name, options);
  try {
    return await uploadChunked(api, input, name, options);
  } catch (error) {
    // A server whose chunked minimum is higher than ours takes the file in one request instead.
    if (error instanceof BoxApiError && error.code === 'file_size_too_small') return uploadSmall(api, input, name, options);
    throw error;
  }
}

async function uploadSmall(api: BoxApi, input: PartSource, name: string | undefined, options: UploadOptions): Promise<UploadResult> {
  const chunks: Buffer[] = [];
  for await (const part of input.parts(Math.max(input.size, 1))) chunks.push(part.bytes);
  const bytes = Buffer.concat(chunks);
  const sha1 = createHash('sha1').update(bytes).digest('hex');
  await input.checkUnchanged();
  const file = await api.uploadSmall({
    fileName: name ?? '', bytes, sha1Hex: sha1, contentModifiedAt: options.contentModifiedAt,
    ...(options.newVersionOf === undefined ? { folderId: options.folderId ?? '0' } : { fileId: options.newVersionOf }),
  }, options.signal);
  verifyCommitted(file, sha1, input.size);
  options.onProgress?.({ bytesDone: input.size, totalBytes: input.size, partsDone: 1, totalParts: 1 });
  return { file, sha1, size: input.size, sessionId: undefined, partsSent: 1, partsSkipped: 0, resumed: false };
}

async function uploadChunked(api: BoxApi, input: PartSource, name: string | undefined, options: UploadOptions): Promise<UploadResult> {
  const { session, stored, resumed } = await openSession(api, input, name, options);
  const state: ResumeState = {
    sessionId: session.id, sessionEndpoints: session.session_endpoints, partSize: session.part_size,
    totalParts: session.total_parts, fileSize: input.size, expiresAt: session.session_expires_at,
  };
  if (!resumed) await options.onState?.(state);

  // One controller stops every part in flight when the caller aborts or one part fails for good.
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const progress = new ProgressCounter(input.size, session.total_parts, options.onProgress);
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 4));
  if (!Number.isFinite(concurrency)) throw new PartwayClientError('usage', `concurrency must be a number, not ${options.concurrency}`);
  const whole = createHash('sha1');
  const uploaded: UploadedPart[] = [];
  const parts = new PartsInFlight(concurrency, stop);
  let partsSent = 0;
  let partsSkipped = 0;

  try {
    for await (const part of input.parts(session.part_size)) {
      if (parts.stopped) break;
      whole.update(part.bytes);
      const partSha1 = createHash('sha1').update(part.bytes).digest();
      const already = stored.get(part.offset);
      if (already) {
        if (already.sha1.toLowerCase() !== partSha1.toString('hex') || already.size !== part.bytes.length) {
          throw new SourceChangedError(`The part at offset ${part.offset} on the server differs from the file: it changed since the upload began`);
        }
        uploaded.push(already);
        partsSkipped++;
        progress.add(part.bytes.length);
        part.release();
        continue;
      }
      const started = await parts.start(async (signal) => {
        try {
          uploaded.push(await sendPart(api, session, input.size, part.offset, part.bytes, partSha1, signal));
          partsSent++;
          progress.add(part.bytes.length);
        } finally {
          part.release();
        }
      });
      if (!started) break;
    }
    await parts.settled();
  } catch (error) {
    // The reader failed (the source changed or ended early): stop the parts in flight before saying so.
    await parts.abandon();
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (options.signal?.aborted) throw new AbortedError('The upload was stopped; run it again to resume');
  if (parts.failure) throw parts.failure.error;
  await input.checkUnchanged();

  const sha1 = whole.digest();
  uploaded.sort((a, b) => a.offset - b.offset);
  const file = await api.commit(session, uploaded, sha1.toString('base64'), { contentModifiedAt: options.contentModifiedAt, signal: options.signal });
  verifyCommitted(file, sha1.toString('hex'), input.size);
  return { file, sha1: sha1.toString('hex'), size: input.size, sessionId: session.id, partsSent, partsSkipped, resumed };
}

/** Continues the given session if the server still has it for this file, or opens a new one. */
async function openSession(api: BoxApi, input: PartSource, name: string | undefined, options: UploadOptions) {
  const resume = options.resume;
  if (resume && resume.fileSize === input.size) {
    try {
      const session: UploadSession = {
        id: resume.sessionId, part_size: resume.partSize, total_parts: resume.totalParts, num_parts_processed: 0,
        session_expires_at: resume.expiresAt, session_endpoints: resume.sessionEndpoints,
      };
      const parts = await api.listParts(session, options.signal);
      return { session, stored: new Map(parts.map((part) => [part.offset, part])), resumed: true };
    } catch (error) {
      // Expired, aborted or unknown: start over with a new session.
      if (!(error instanceof BoxApiError && (error.status === 404 || error.status === 410))) throw error;
    }
  }
  const session = options.newVersionOf === undefined
    ? await api.createSession({ folderId: options.folderId ?? '0', fileName: name!, fileSize: input.size }, options.signal)
    : await api.createVersionSession(options.newVersionOf, { fileSize: input.size, fileName: options.name }, options.signal);
  return { session, stored: new Map<number, UploadedPart>(), resumed: false };
}

async function sendPart(api: BoxApi, session: UploadSession, fileSize: number, offset: number, bytes: Buffer, sha1: Buffer,
  signal: AbortSignal): Promise<UploadedPart> {
  let part: UploadedPart;
  try {
    part = await api.uploadPart(session, { fileSize, offset, bytes, sha1Base64: sha1.toString('base64') }, signal);
  } catch (error) {
    if (error instanceof BoxApiError && error.code === 'range_overlaps_existing_part') {
      throw new SourceChangedError(`The server holds other bytes at offset ${offset}: the file changed since the upload began`);
    }
    throw error;
  }
  if (part.offset !== offset || part.size !== bytes.length || part.sha1.toLowerCase() !== sha1.toString('hex')) {
    throw new VerificationError(`The server stored part ${offset} as ${part.size} bytes with SHA-1 ${part.sha1}, `
      + `but ${bytes.length} bytes with SHA-1 ${sha1.toString('hex')} were sent`);
  }
  return part;
}

function verifyCommitted(file: BoxFile, sha1: string, size: number): void {
  if (file.sha1?.toLowerCase() !== sha1 || file.size !== size) {
    throw new VerificationError(`The committed file ${file.id} has SHA-1 ${file.sha1} and ${file.size} bytes, `
      + `but the source has SHA-1 ${sha1} and ${size} bytes`);
  }
}

/** Progress that only grows, reported after each part the server holds. */
class ProgressCounter {
  #bytes = 0;
  #parts = 0;
  readonly #total: number;
  readonly #totalParts: number;
  readonly #report: ((progress: UploadProgress) => void) | undefined;

  constructor(total: number, totalParts: number, report: ((progress: UploadProgress) => void) | undefined) {
    this.#total = total;
    this.#totalParts = totalParts;
    this.#report = report;
  }

  add(bytes: number): void {
    this.#bytes += bytes;
    this.#parts++;
    this.#report?.({ bytesDone: this.#bytes, totalBytes: this.#total, partsDone: this.#parts, totalParts: this.#totalParts });
  }
}
