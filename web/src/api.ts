/**
 * Box's public API over `fetch`: one method per endpoint, nothing Partway-specific, so the same code
 * works against any server that speaks Box's API from a browser (same origin, or CORS allowed).
 * Errors become BoxApiError (the server's Box ClientError) or NetworkError; network errors, 429 and
 * 5xx are retried with backoff, honouring Retry-After, as the Node client's transport does.
 */

import type { BoxFile, BoxFolder, BoxItem, BoxUser, UploadedPart, UploadSession } from '../../src/client/box-types.js';
import { boxErrorFields, parseJson, sleep as wait } from '../../src/client/answers.js';
import { DEFAULT_RETRY, isRetryableStatus, retryAfterSeconds, retryDelayMs, type RetryPolicy } from '../../src/client/retry.js';

export type { BoxUser, UploadedPart, UploadSession } from '../../src/client/box-types.js';
export type FileMini = BoxFile;
export type FolderMini = BoxFolder;
export type Item = BoxItem;

export interface Folder extends FolderMini {
  path_collection: { total_count: number; entries: FolderMini[] };
}

/** The server refused the request; `code` is Box's error code (`http_<status>` if the body was not Box's). */
export class BoxApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly serverMessage: string;
  readonly requestId: string | undefined;
  readonly contextInfo: Record<string, unknown> | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(init: { status: number; code: string; message: string; requestId: string | undefined;
    contextInfo: Record<string, unknown> | undefined; retryAfterSeconds: number | undefined; method: string; url: string }) {
    super(`${init.method} ${init.url}: ${init.status} ${init.code} - ${init.message}`);
    this.name = 'BoxApiError';
    this.status = init.status;
    this.code = init.code;
    this.serverMessage = init.message;
    this.requestId = init.requestId;
    this.contextInfo = init.contextInfo;
    this.retryAfterSeconds = init.retryAfterSeconds;
  }

  /** Worth trying again: the server is busy or broken for now, not refusing the request. */
  get retryable(): boolean {
    return isRetryableStatus(this.status);
  }
}

/** No answer arrived (offline, connection reset, server down). */
export class NetworkError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NetworkError';
  }
}

/** Thrown when the caller's AbortSignal fires. */
export class AbortedError extends Error {
  constructor() {
    super('Stopped');
    this.name = 'AbortedError';
  }
}


interface CallOptions {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  json?: unknown;
  body?: BodyInit;
  signal?: AbortSignal | undefined;
  /** Also wait and retry on these statuses (commit: 202 while the server still processes parts). */
  retryStatuses?: readonly number[];
  /**
   * Called before retrying after a network error; throwing ends the retries. A body read from a
   * local file fails like a network error when the file changed, and retrying that is useless.
   */
  beforeRetry?: () => Promise<void>;
}

interface CallResult {
  status: number;
  headers: Headers;
  url: string;
  json: any;
}

export class BoxApi {
  /** e.g. `http://nas.local:8080/2.0` */
  readonly apiBase: string;
  /** e.g. `http://nas.local:8080/api/2.0` (Box: `https://upload.box.com/api/2.0`) */
  readonly uploadBase: string;
  readonly #token: string;
  readonly #retry: RetryPolicy;
  readonly #onUnauthorized: (() => void) | undefined;

  constructor(options: { origin: string; token: string; retry?: RetryPolicy; onUnauthorized?: () => void }) {
    this.apiBase = `${options.origin}/2.0`;
    this.uploadBase = `${options.origin}/api/2.0`;
    this.#token = options.token;
    this.#retry = options.retry ?? DEFAULT_RETRY;
    this.#onUnauthorized = options.onUnauthorized;
  }

  me(signal?: AbortSignal): Promise<BoxUser> {
    return this.#json({ method: 'GET', url: `${this.apiBase}/users/me`, signal });
  }

  folder(folderId: string, signal?: AbortSignal): Promise<Folder> {
    return this.#json({ method: 'GET', url: `${this.apiBase}/folders/${encodeURIComponent(folderId)}`, signal });
  }

  /** Every item of a folder, all pages. */
  async items(folderId: string, signal?: AbortSignal): Promise<Item[]> {
    const items: Item[] = [];
    for (let offset = 0; ; offset += 1000) {
      const page = await this.#json({ method: 'GET', url: `${this.apiBase}/folders/${encodeURIComponent(folderId)}/items?offset=${offset}&limit=1000`, signal });
      items.push(...page.entries);
      if (page.entries.length === 0 || items.length >= page.total_count) return items;
    }
  }

  createFolder(name: string, parentId: string, signal?: AbortSignal): Promise<FolderMini> {
    return this.#json({ method: 'POST', url: `${this.apiBase}/folders`, json: { name, parent: { id: parentId } }, signal });
  }

  file(fileId: string, signal?: AbortSignal): Promise<FileMini> {
    return this.#json({ method: 'GET', url: `${this.apiBase}/files/${encodeURIComponent(fileId)}`, signal });
  }

  async deleteFile(fileId: string, signal?: AbortSignal): Promise<void> {
    await this.#call({ method: 'DELETE', url: `${this.apiBase}/files/${encodeURIComponent(fileId)}`, signal });
  }

  /**
   * Where the file's bytes are. Box answers `GET /files/{id}/content` with a 302 to a signed link
   * that needs no token; a HEAD request follows it without fetching the bytes, and the link can then
   * be handed to the browser's own download manager (which cannot send our Authorization header).
   */
  async downloadUrl(fileId: string, signal?: AbortSignal): Promise<string> {
    const url = `${this.apiBase}/files/${encodeURIComponent(fileId)}/content`;
    const reply = await this.#call({ method: 'HEAD', url, signal, retryStatuses: [202] });
    return reply.url;
  }

  createSession(request: { folderId: string; fileName: string; fileSize: number }, signal?: AbortSignal): Promise<UploadSession> {
    return this.#json({
      method: 'POST', url: `${this.uploadBase}/files/upload_sessions`, signal,
      json: { folder_id: request.folderId, file_size: request.fileSize, file_name: request.fileName },
    });
  }

  createVersionSession(fileId: string, request: { fileSize: number }, signal?: AbortSignal): Promise<UploadSession> {
    return this.#json({
      method: 'POST', url: `${this.uploadBase}/files/${encodeURIComponent(fileId)}/upload_sessions`, signal,
      json: { file_size: request.fileSize },
    });
  }

  /**
   * Sends one part. The body is best a slice of the File itself: the browser then streams it from
   * disk, whereas an ArrayBuffer body is copied between processes and, in Chromium, starves the
   * reads of the file that hash the next parts.
   */
  async uploadPart(session: Pick<UploadSession, 'session_endpoints'>,
    part: { fileSize: number; offset: number; body: Blob; sha1Base64: string; beforeRetry?: () => Promise<void> },
    signal?: AbortSignal): Promise<UploadedPart> {
    const last = part.offset + part.body.size - 1;
    const reply = await this.#json({
      method: 'PUT', url: session.session_endpoints.upload_part, body: part.body, signal, beforeRetry: part.beforeRetry,
      headers: {
        'content-type': 'application/octet-stream',
        'content-range': `bytes ${part.offset}-${last}/${part.fileSize}`,
        digest: `sha=${part.sha1Base64}`,
      },
    });
    return reply.part;
  }

  /** Every part the server holds for a session, all pages. */
  async listParts(session: Pick<UploadSession, 'session_endpoints'>, signal?: AbortSignal): Promise<UploadedPart[]> {
    const parts: UploadedPart[] = [];
    for (let offset = 0; ; offset += 1000) {
      const page = await this.#json({ method: 'GET', url: `${session.session_endpoints.list_parts}?offset=${offset}&limit=1000`, signal });
      parts.push(...page.entries);
      if (page.entries.length === 0 || parts.length >= page.total_count) return parts;
    }
  }

  /** Commits, waiting out `202` answers (a listed part is still being written). */
  async commit(session: Pick<UploadSession, 'session_endpoints'>, parts: readonly UploadedPart[], sha1Base64: string,
    attributes: { content_modified_at?: string } = {}, signal?: AbortSignal): Promise<FileMini> {
    const reply = await this.#json({
      method: 'POST', url: session.session_endpoints.commit, signal, retryStatuses: [202],
      headers: { digest: `sha=${sha1Base64}` }, json: { parts, attributes },
    });
    return reply.entries[0];
  }

  async abortSession(session: Pick<UploadSession, 'session_endpoints'>, signal?: AbortSignal): Promise<void> {
    await this.#call({ method: 'DELETE', url: session.session_endpoints.abort, signal });
  }

  /** Box's simple upload (multipart: the attributes field before the file), for files under the chunked minimum. */
  async uploadSmall(request: { folderId?: string; fileId?: string; name: string; file: Blob; sha1Hex: string;
    contentModifiedAt?: string }, signal?: AbortSignal): Promise<FileMini> {
    const form = new FormData();
    form.append('attributes', JSON.stringify({
      name: request.name,
      ...(request.folderId === undefined ? {} : { parent: { id: request.folderId } }),
      ...(request.contentModifiedAt === undefined ? {} : { content_modified_at: request.contentModifiedAt }),
    }));
    form.append('file', request.file, request.name);
    const path = request.fileId === undefined ? '/files/content' : `/files/${encodeURIComponent(request.fileId)}/content`;
    // Box's SDKs send the content's SHA-1 in a header called Content-MD5; the server checks it.
    const reply = await this.#json({ method: 'POST', url: `${this.uploadBase}${path}`, body: form, signal, headers: { 'content-md5': request.sha1Hex } });
    return reply.entries[0];
  }

  async #json(options: CallOptions): Promise<any> {
    return (await this.#call(options)).json;
  }

  /** One call, retried as the policy says; resolves with the final 2xx answer. */
  async #call(options: CallOptions): Promise<CallResult> {
    for (let attempt = 1; ; attempt++) {
      let retryAfter: number | undefined;
      try {
        const result = await this.#once(options);
        if (!options.retryStatuses?.includes(result.status)) return result;
        retryAfter = retryAfterSeconds(result.headers.get('retry-after')) ?? 1;
        if (attempt >= this.#retry.attempts) {
          throw new NetworkError(`${options.method} ${options.url} still answered ${result.status} after ${attempt} attempts`);
        }
      } catch (error) {
        const retryable = error instanceof NetworkError || (error instanceof BoxApiError && error.retryable);
        if (!retryable || attempt >= this.#retry.attempts) throw error;
        if (error instanceof NetworkError) await options.beforeRetry?.();
        retryAfter = error instanceof BoxApiError ? error.retryAfterSeconds : undefined;
      }
      await sleep(retryDelayMs(this.#retry, attempt, retryAfter), options.signal);
      await whenOnline(options.signal);
    }
  }

  async #once(options: CallOptions): Promise<CallResult> {
    if (options.signal?.aborted) throw new AbortedError();
    const headers = new Headers(options.headers);
    headers.set('authorization', `Bearer ${this.#token}`);
    let body = options.body;
    if (options.json !== undefined) {
      headers.set('content-type', 'application/json');
      body = JSON.stringify(options.json);
    }
    let response: Response;
    try {
      response = await fetch(options.url, {
        method: options.method, headers, body: body ?? null, signal: options.signal ?? null,
        cache: 'no-store', credentials: 'omit', redirect: 'follow',
      });
    } catch (error) {
      if (options.signal?.aborted) throw new AbortedError();
      throw new NetworkError(`${options.method} ${options.url}: ${(error as Error).message}`, { cause: error });
    }
    let text: string;
    try {
      text = options.method === 'HEAD' ? '' : await response.text();
    } catch (error) {
      if (options.signal?.aborted) throw new AbortedError();
      throw new NetworkError(`${options.method} ${options.url}: the answer was cut short`, { cause: error });
    }
    const json = parseJson(text);
    if (response.status >= 400) {
      if (response.status === 401) this.#onUnauthorized?.();
      const fields = boxErrorFields(response.status, json, text);
      throw new BoxApiError({
        status: response.status,
        ...fields,
        requestId: fields.requestId ?? response.headers.get('box-request-id') ?? undefined,
        retryAfterSeconds: retryAfterSeconds(response.headers.get('retry-after')),
        method: options.method,
        url: options.url,
      });
    }
    return { status: response.status, headers: response.headers, url: response.url, json };
  }

}

/** Waits, or rejects with AbortedError as soon as the signal fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return wait(ms, signal, () => new AbortedError());
}

/** Resolves at once when the browser believes it is online, else when it comes back online. */
function whenOnline(signal?: AbortSignal): Promise<void> {
  if (navigator.onLine) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = () => {
      window.removeEventListener('online', done);
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    const onAbort = () => {
      window.removeEventListener('online', done);
      reject(new AbortedError());
    };
    window.addEventListener('online', done);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
