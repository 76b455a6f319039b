import { BoxApi, type BoxFile, type BoxFolder, type BoxItem, type BoxUser, type UploadedPart } from './box-api.js';
import { download, type DownloadOptions, type DownloadResult } from './node/download.js';
import type { UploadSource } from './node/sources.js';
import { UndiciStack } from './node/undici-stack.js';
import { upload, type UploadOptions } from './node/upload.js';
import { DEFAULT_RETRY, Transport, type RetryPolicy } from './transport.js';
import type { ResumeState, UploadResult } from './upload-engine.js';

/*
 * The Node entry of the client library (package.json `exports`). The engine, the Box calls and the
 * transport are shared with the web uploader; what is Node's alone lives in ./node/.
 */

export * from './errors.js';
export type { BoxFile, BoxFolder, BoxItem, BoxUser, UploadedPart } from './box-api.js';
export type { DownloadOptions, DownloadProgress, DownloadResult } from './node/download.js';
export type { UploadSource } from './node/sources.js';
export type { RetryPolicy } from './transport.js';
export type { UploadOptions, UploadProgress } from './node/upload.js';
export type { ResumeState, UploadResult } from './upload-engine.js';
export { BOX_CHUNKED_MINIMUM } from './box-wire.js';

export interface PartwayClientOptions {
  /** A Partway server, e.g. `http://127.0.0.1:8080`: the API is `<server>/2.0`, uploads `<server>/api/2.0`. */
  server?: string;
  /** Or Box's layout, as the Box SDKs take it: `baseUrl` (`https://api.box.com`) and `uploadUrl` (`https://upload.box.com/api`). */
  baseUrl?: string;
  uploadUrl?: string;
  token: string;
  retry?: RetryPolicy;
  userAgent?: string;
}

/**
 * A client for Partway (or Box itself: it speaks only Box's wire API). Uploads go in parallel, resume
 * from a saved state, report progress and are verified by SHA-1 end to end; downloads resume too.
 */
export class PartwayClient {
  readonly api: BoxApi;
  readonly #stack: UndiciStack;

  constructor(options: PartwayClientOptions) {
    const baseUrl = trimSlash(options.baseUrl ?? options.server);
    const uploadUrl = trimSlash(options.uploadUrl ?? (options.server === undefined ? undefined : `${trimSlash(options.server)}/api`));
    if (baseUrl === undefined || uploadUrl === undefined) throw new TypeError('PartwayClient needs `server`, or `baseUrl` and `uploadUrl`');
    this.#stack = new UndiciStack({ userAgent: options.userAgent ?? 'partway-client' });
    const transport = new Transport(this.#stack, options.token, { retry: options.retry ?? DEFAULT_RETRY });
    this.api = new BoxApi(transport, { api: `${baseUrl}/2.0`, upload: `${uploadUrl}/2.0` });
  }

  upload(source: UploadSource, options?: UploadOptions): Promise<UploadResult> {
    return upload(this.api, source, options);
  }

  download(fileId: string, path: string, options?: DownloadOptions): Promise<DownloadResult> {
    return download(this.api, this.#stack, fileId, path, options);
  }

  /** The parts the server holds for a session (the `resume` state names it). */
  listParts(state: Pick<ResumeState, 'sessionEndpoints'>, signal?: AbortSignal): Promise<UploadedPart[]> {
    return this.api.listParts({ session_endpoints: state.sessionEndpoints }, signal);
  }

  /** Ends an upload session and discards its parts. */
  abort(state: Pick<ResumeState, 'sessionEndpoints'>, signal?: AbortSignal): Promise<void> {
    return this.api.abortSession({ session_endpoints: state.sessionEndpoints }, signal);
  }

  getFile(fileId: string): Promise<BoxFile> {
    return this.api.getFile(fileId);
  }

  deleteFile(fileId: string): Promise<void> {
    return this.api.deleteFile(fileId);
  }

  listFolder(folderId = '0'): Promise<BoxItem[]> {
    return this.api.listFolder(folderId);
  }

  createFolder(name: string, parentId = '0'): Promise<BoxFolder> {
    return this.api.createFolder(name, parentId);
  }

  me(): Promise<BoxUser> {
    return this.api.me();
  }

  /** Closes pooled connections. */
  close(): Promise<void> {
    return this.#stack.close();
  }
}

function trimSlash(url: string | undefined): string | undefined {
  return url?.replace(/\/+$/, '');
}
