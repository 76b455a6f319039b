import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import type { BoxApi } from '../box-api.js';
import { AbortedError, BoxApiError, isTransient, NetworkError, VerificationError } from '../errors.js';
import { DEFAULT_RETRY, retryDelayMs } from '../retry.js';
import { sleep } from '../transport.js';
import type { UndiciStack } from './undici-stack.js';

export interface DownloadProgress {
  bytesDone: number;
  totalBytes: number;
}

export interface DownloadOptions {
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
  /** Failures in a row to survive before giving up (default 8). */
  attempts?: number;
}

export interface DownloadResult {
  path: string;
  size: number;
  sha1: string;
  /** Bytes that were already on disk from an earlier, interrupted run. */
  resumedFrom: number;
}

/**
 * Downloads a file to `path`. Bytes go to `<path>.partial` first; an interrupted download (or a
 * killed process) continues from there with `Range`. The SHA-1 of the whole file is checked against
 * the server's before the file is renamed into place, so `path` only ever holds a verified file.
 */
export async function download(api: BoxApi, stack: UndiciStack, fileId: string, path: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const info = await api.getFile(fileId, options.signal);
  const partial = `${path}.partial`;
  // Names the remote version the partial file belongs to; a partial of another version is dropped.
  const sidecar = `${partial}.json`;
  const expected = JSON.stringify({ fileId, sha1: info.sha1, size: info.size });
  let resumedFrom = 0;
  if ((await readFile(sidecar, 'utf8').catch(() => undefined)) === expected) {
    resumedFrom = Math.min((await stat(partial).catch(() => undefined))?.size ?? 0, info.size);
  } else {
    await rm(partial, { force: true });
    await writeFile(sidecar, expected);
  }

  const file = await open(partial, resumedFrom > 0 ? 'r+' : 'w');
  const state: DownloadState = { file, hash: createHash('sha1'), position: 0, size: info.size };
  try {
    if (resumedFrom > 0) {
      await hashPrefix(partial, resumedFrom, state.hash);
      state.position = resumedFrom;
    }
    let failures = 0;
    while (state.position < info.size) {
      const before = state.position;
      try {
        await fetchRest(api, stack, fileId, state, options);
      } catch (error) {
        if (options.signal?.aborted) throw new AbortedError('The download was stopped; run it again to resume');
        failures = state.position > before ? 1 : failures + 1;
        if (!isTransient(error) || failures >= (options.attempts ?? 8)) throw error;
        const retryAfter = error instanceof BoxApiError ? error.retryAfterSeconds : undefined;
        await sleep(retryDelayMs(DEFAULT_RETRY, failures, retryAfter), options.signal);
      }
    }
    await file.truncate(info.size);
    await file.sync();
  } finally {
    await file.close();
  }
  const sha1 = state.hash.digest('hex');
  if (sha1 !== info.sha1.toLowerCase()) {
    await rm(partial, { force: true });
    await rm(sidecar, { force: true });
    throw new VerificationError(`The downloaded file has SHA-1 ${sha1}, but the server says ${info.sha1}`);
  }
  await rename(partial, path);
  await rm(sidecar, { force: true });
  return { path, size: info.size, sha1, resumedFrom };
}

interface DownloadState {
  file: FileHandle;
  /** Covers exactly the bytes [0, position) on disk. */
  hash: Hash;
  position: number;
  size: number;
}

/** Streams from `state.position` to the end, keeping position and hash in step with the disk. */
async function fetchRest(api: BoxApi, stack: UndiciStack, fileId: string, state: DownloadState, options: DownloadOptions): Promise<void> {
  const target = await api.downloadUrl(fileId, options.signal);
  // Signed download links on another origin need no token and must not receive it.
  const response = await stack.openStream(target.url, {
    signal: options.signal,
    headers: { ...(target.sameOrigin ? api.transport.authorization : {}), ...(state.position > 0 ? { range: `bytes=${state.position}-` } : {}) },
  });
  if (state.position > 0 && response.statusCode !== 206) {
    // The server ignored the range: start from the beginning.
    state.hash = createHash('sha1');
    state.position = 0;
    await state.file.truncate(0);
  }
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      await state.file.write(chunk, 0, chunk.length, state.position);
      state.hash.update(chunk);
      state.position += chunk.length;
      options.onProgress?.({ bytesDone: state.position, totalBytes: state.size });
    }
  } catch (error) {
    if (options.signal?.aborted) throw new AbortedError();
    throw new NetworkError(`The download broke off at byte ${state.position}`, error);
  }
  if (state.position < state.size) throw new NetworkError(`The download ended early at byte ${state.position}`, undefined);
}

async function hashPrefix(path: string, length: number, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(path, { start: 0, end: length - 1, highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
}
