import type { BoxFile, BoxFolder, BoxFolderDetails, BoxItem, BoxUser, UploadedPart, UploadSession } from './box-types.js';
import { contentRange, sha1Digest } from './box-wire.js';
import type { RequestBody } from './http-stack.js';
import type { Transport } from './transport.js';

export type { BoxFile, BoxFolder, BoxFolderDetails, BoxItem, BoxUser, UploadedPart, UploadSession } from './box-types.js';

export interface Endpoints {
  /** The API base, e.g. `http://host:8080/2.0` (Box: `https://api.box.com/2.0`). */
  api: string;
  /** The upload base, e.g. `http://host:8080/api/2.0` (Box: `https://upload.box.com/api/2.0`). */
  upload: string;
}

/** The session's URLs are all a call on an existing session needs. */
export type SessionRef = Pick<UploadSession, 'session_endpoints'>;

/**
 * Box's wire API as typed calls, nothing more: one method per endpoint, retried by the transport.
 * Shared by the Node client and the web uploader; only the transport's HttpStack differs. Session
 * calls use the URLs the server returned in `session_endpoints`, as Box asks clients to.
 */
export class BoxApi {
  readonly endpoints: Endpoints;
  readonly transport: Transport;

  constructor(transport: Transport, endpoints: Endpoints) {
    this.transport = transport;
    this.endpoints = endpoints;
  }

  async createSession(request: { folderId: string; fileName: string; fileSize: number }, signal?: AbortSignal): Promise<UploadSession> {
    const reply = await this.transport.call({
      method: 'POST', url: `${this.endpoints.upload}/files/upload_sessions`, signal,
      json: { folder_id: request.folderId, file_size: request.fileSize, file_name: request.fileName },
    });
    return reply.json;
  }

  async createVersionSession(fileId: string, request: { fileSize: number; fileName?: string | undefined }, signal?: AbortSignal): Promise<UploadSession> {
    const reply = await this.transport.call({
      method: 'POST', url: `${this.endpoints.upload}/files/${encodeURIComponent(fileId)}/upload_sessions`, signal,
      json: { file_size: request.fileSize, ...(request.fileName === undefined ? {} : { file_name: request.fileName }) },
    });
    return reply.json;
  }

  sessionUrl(sessionId: string): string {
    return `${this.endpoints.upload}/files/upload_sessions/${encodeURIComponent(sessionId)}`;
  }

  async getSession(sessionId: string, signal?: AbortSignal): Promise<UploadSession> {
    return (await this.transport.call({ method: 'GET', url: this.sessionUrl(sessionId), signal })).json;
  }

  /**
   * Sends one part. `body` is the part's bytes (Node) or a slice of the File, which the browser
   * streams from disk; `length` is its size in bytes either way.
   */
  async uploadPart(session: SessionRef, part: { fileSize: number; offset: number; length: number; body: RequestBody; sha1: Uint8Array;
    beforeRetry?: (() => Promise<void>) | undefined }, signal?: AbortSignal): Promise<UploadedPart> {
    const reply = await this.transport.call({
      method: 'PUT', url: session.session_endpoints.upload_part, body: part.body, signal, beforeRetry: part.beforeRetry,
      headers: {
        'content-type': 'application/octet-stream',
        'content-range': contentRange(part.offset, part.length, part.fileSize),
        digest: sha1Digest(part.sha1),
      },
    });
    return reply.json.part;
  }

  /** Every part of a session, all pages. */
  async listParts(session: SessionRef, signal?: AbortSignal): Promise<UploadedPart[]> {
    const parts: UploadedPart[] = [];
    for (let offset = 0; ; offset += 1000) {
      const reply = await this.transport.call({ method: 'GET', url: `${session.session_endpoints.list_parts}?offset=${offset}&limit=1000`, signal });
      parts.push(...reply.json.entries);
      if (reply.json.entries.length === 0 || parts.length >= reply.json.total_count) return parts;
    }
  }

  /** Commits, waiting out `202` answers (the server is still storing a listed part). */
  async commit(session: SessionRef, parts: readonly UploadedPart[], sha1: Uint8Array,
    options: { ifMatch?: string | undefined; contentModifiedAt?: string | undefined; signal?: AbortSignal | undefined } = {}): Promise<BoxFile> {
    const reply = await this.transport.call({
      method: 'POST', url: session.session_endpoints.commit, signal: options.signal, retryStatuses: [202],
      headers: { digest: sha1Digest(sha1), ...(options.ifMatch === undefined ? {} : { 'if-match': options.ifMatch }) },
      json: { parts, ...(options.contentModifiedAt === undefined ? {} : { attributes: { content_modified_at: options.contentModifiedAt } }) },
    });
    return reply.json.entries[0];
  }

  async abortSession(session: SessionRef, signal?: AbortSignal): Promise<void> {
    await this.transport.call({ method: 'DELETE', url: session.session_endpoints.abort, signal });
  }

  /**
   * Box's simple upload (multipart: the attributes field before the file), for files under the chunked
   * minimum. The form is a Blob of the parts around the content, which every platform's stack sends
   * alike (undici cannot send the global FormData of a Node whose bundled undici is another version).
   */
  async uploadSmall(request: { folderId?: string; fileId?: string; fileName: string; content: Blob; sha1Hex: string;
    contentModifiedAt?: string | undefined }, signal?: AbortSignal): Promise<BoxFile> {
    const boundary = `partway-${Math.random().toString(16).slice(2)}${Date.now().toString(16)}`;
    const attributes = JSON.stringify({
      name: request.fileName,
      ...(request.folderId === undefined ? {} : { parent: { id: request.folderId } }),
      ...(request.contentModifiedAt === undefined ? {} : { content_modified_at: request.contentModifiedAt }),
    });
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="attributes"\r\n\r\n${attributes}\r\n`
      + `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="file"\r\nContent-Type: application/octet-stream\r\n\r\n`;
    const body = new Blob([head, request.content, `\r\n--${boundary}--\r\n`]);
    const path = request.fileId === undefined ? '/files/content' : `/files/${encodeURIComponent(request.fileId)}/content`;
    // Box's SDKs send the content's SHA-1 in a header called Content-MD5; the server checks it.
    const reply = await this.transport.call({
      method: 'POST', url: `${this.endpoints.upload}${path}`, body, signal,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-md5': request.sha1Hex },
    });
    return reply.json.entries[0];
  }

  async getFile(fileId: string, signal?: AbortSignal): Promise<BoxFile> {
    return (await this.transport.call({ method: 'GET', url: `${this.endpoints.api}/files/${encodeURIComponent(fileId)}`, signal })).json;
  }

  async deleteFile(fileId: string, signal?: AbortSignal): Promise<void> {
    await this.transport.call({ method: 'DELETE', url: `${this.endpoints.api}/files/${encodeURIComponent(fileId)}`, signal });
  }

  async getFolder(folderId: string, signal?: AbortSignal): Promise<BoxFolderDetails> {
    return (await this.transport.call({ method: 'GET', url: `${this.endpoints.api}/folders/${encodeURIComponent(folderId)}`, signal })).json;
  }

  /** Every item of a folder, all pages. */
  async listFolder(folderId: string, signal?: AbortSignal): Promise<BoxItem[]> {
    const items: BoxItem[] = [];
    for (let offset = 0; ; offset += 1000) {
      const reply = await this.transport.call({
        method: 'GET', url: `${this.endpoints.api}/folders/${encodeURIComponent(folderId)}/items?offset=${offset}&limit=1000`, signal,
      });
      items.push(...reply.json.entries);
      if (reply.json.entries.length === 0 || items.length >= reply.json.total_count) return items;
    }
  }

  async createFolder(name: string, parentId: string, signal?: AbortSignal): Promise<BoxFolder> {
    return (await this.transport.call({ method: 'POST', url: `${this.endpoints.api}/folders`, json: { name, parent: { id: parentId } }, signal })).json;
  }

  async me(signal?: AbortSignal): Promise<BoxUser> {
    return (await this.transport.call({ method: 'GET', url: `${this.endpoints.api}/users/me`, signal })).json;
  }

  /**
   * Where a file's bytes are. Box answers `GET /files/{id}/content` with a `302` to a signed link
   * that needs no token. A stack that hands redirects back gets it from a GET; one that follows them
   * (`fetch`) asks with a HEAD, so as not to fetch the bytes, and its answer comes from the link.
   */
  async downloadUrl(fileId: string, signal?: AbortSignal): Promise<{ url: string; sameOrigin: boolean }> {
    const url = `${this.endpoints.api}/files/${encodeURIComponent(fileId)}/content`;
    const method = this.transport.stack.followsRedirects ? 'HEAD' : 'GET';
    const reply = await this.transport.call({ method, url, signal, retryStatuses: [202], discardBody: true });
    const location = reply.header('location');
    const target = reply.status >= 300 && reply.status < 400 && location !== undefined ? new URL(location, url) : new URL(reply.url, url);
    return { url: target.href, sameOrigin: target.origin === new URL(url).origin };
  }
}
