import { abortQuietly, uploadFrom, type EngineProgress, type ResumeState, type UploadResult } from '../../src/client/upload-engine.js';
import type { BoxApi } from './api.js';
import { fileSource } from './file-source.js';
import { uploadKey, type SavedUpload, type StateStore, type UploadIdentity } from './state-store.js';

/**
 * Uploads one File with the client's shared engine (src/client/upload-engine.ts) over the page's
 * seams: `fetch` (in the BoxApi) and the File's slices (file-source.ts). What is the page's own is
 * where a session is kept: in the StateStore (IndexedDB), saved before any part is sent. Run again for
 * the same file and destination (after a pause, an error, a reload or a closed tab), the engine lists
 * the parts the server holds and sends only the others.
 */

export interface UploadRequest {
  file: File;
  /** Where and under which name; `origin` and `userId` scope the saved session. */
  identity: UploadIdentity;
  folderName: string;
}

export type UploadProgress = EngineProgress;

export interface UploadOptions {
  signal: AbortSignal;
  onProgress?: (progress: UploadProgress) => void;
  /** Something the user should know that is not an error (e.g. an expired session was replaced). */
  onNote?: (note: string) => void;
  /** Files smaller than this use the simple upload (default: Box's 20,000,000 bytes). */
  chunkedThreshold?: number;
  /** Parts in flight (default: 4). */
  concurrency?: number;
}

export type UploadOutcome = UploadResult;

export interface EngineDeps {
  api: BoxApi;
  store: StateStore;
}

export async function runUpload(deps: EngineDeps, request: UploadRequest, options: UploadOptions): Promise<UploadOutcome> {
  const { api, store } = deps;
  const { file, identity } = request;
  const key = uploadKey(identity);
  const saved = await store.get(key);
  let record = saved;
  let partsDone = 0;
  // How far it got, for the list of unfinished uploads an earlier page left (the server's list is the truth).
  const remember = throttle(1000, () => {
    if (record) void store.put({ ...record, partsStored: partsDone, updatedAt: Date.now() }).catch(() => {});
  });
  let committed = false;
  try {
    const outcome = await uploadFrom(api, fileSource(file), {
      name: identity.name, folderId: identity.folderId, newVersionOf: identity.newVersionOf,
      signal: options.signal, chunkedThreshold: options.chunkedThreshold, concurrency: options.concurrency,
      contentModifiedAt: contentModifiedAt(file),
      resume: saved && resumeStateOf(saved),
      onState: async (state) => {
        const now = Date.now();
        record = { ...identity, key, folderName: request.folderName, session: sessionOf(state), partsStored: 0, createdAt: now, updatedAt: now };
        await store.put(record);
      },
      onSessionLost: async (error) => {
        record = undefined;
        await store.delete(key);
        options.onNote?.(error.status === 410
          ? 'The earlier upload session had expired (sessions last 7 days), so the upload starts again.'
          : 'The server no longer had the earlier upload session, so the upload starts again.');
      },
      onProgress: (progress) => {
        if (progress.partsDone !== partsDone && progress.phase === 'uploading') {
          partsDone = progress.partsDone;
          remember.call();
        }
        options.onProgress?.(progress);
      },
    });
    committed = true;
    return outcome;
  } finally {
    remember.cancel();
    if (committed) await store.delete(key);
    else if (record && partsDone > 0) await store.put({ ...record, partsStored: partsDone, updatedAt: Date.now() }).catch(() => {});
  }
}

/** Forgets a saved upload and aborts its session on the server (best effort: it may be gone already). */
export async function discardUpload(deps: EngineDeps, key: string): Promise<void> {
  const saved = await deps.store.get(key);
  await deps.store.delete(key);
  if (saved) await abortQuietly(deps.api, { session_endpoints: saved.session.endpoints });
}

function resumeStateOf(saved: SavedUpload): ResumeState {
  const { id, endpoints, partSize, totalParts, expiresAt } = saved.session;
  return { sessionId: id, sessionEndpoints: endpoints, partSize, totalParts, fileSize: saved.size, expiresAt };
}

function sessionOf(state: ResumeState): SavedUpload['session'] {
  return { id: state.sessionId, endpoints: state.sessionEndpoints, partSize: state.partSize, totalParts: state.totalParts, expiresAt: state.expiresAt };
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
