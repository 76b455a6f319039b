import type { BoxFile, BoxFolder, BoxItem, BoxUser, UploadedPart, UploadSession } from './box-types.js';
import type { Transport } from './transport.js';

export type { BoxFile, BoxFolder, BoxItem, BoxUser, UploadedPart, UploadSession } from './box-types.js';

export interface Endpoints {
  /** The API base, e.g. `http://host:8080/2.0` (Box: `https://api.box.com/2.0`). */
  api: string;
  /** The upload base, e.g. `http://host:8080/api/2.0` (Box: `https://upload.box.com/api/2.0`). */
  upload: string;
}

/**
 * Box's wire API as typed calls, nothing more: one method per endpoint, retried by the transport.
 * Session calls use the URLs the server returned in `session_endpoints`, as Box asks clients to.
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

  async uploadPart(session: UploadSession, part: { fileSize: number; offset: number; bytes: Uint8Array; sha1Base64: string },
    signal?: AbortSignal): Promise<UploadedPart> {
    const last = part.offset + part.bytes.byteLength - 1;
    const reply = await this.transport.call({
      method: 'PUT', url: session.session_endpoints.upload_part, body: part.bytes, signal,
      headers: {
        'content-type': 'application/octet-stream',
        'content-range': `bytes ${part.offset}-${last}/${part.fileSize}`,
        digest: `sha=${part.sha1Base64}`,
      },
    });
    return reply.json.part;
  }

  /** Every part of a session, all pages. */
  async listParts(session: Pick<UploadSession, 'session_endpoints'>, signal?: AbortSignal): Promise<UploadedPart[]> {
    const parts: UploadedPart[] = [];
    for (let offset = 0; ; offset += 1000) {
      const reply = await this.transport.call({ method: 'GET', url: `${session.session_endpoints.list_parts}?offset=${offset}&limit=1000`, signal });
      parts.push(...reply.json.entries);
      if (reply.json.entries.length === 0 || parts.length >= reply.json.total_count) return parts;
    }
  }

  /** Commits, waiting out `202` answers (the server is still storing a listed part). */
  async commit(session: UploadSession, parts: readonly UploadedPart[], sha1Base64: string,
    options: { ifMatch?: string | undefined; contentModifiedAt?: string | undefined; signal?: AbortSignal | undefined } = {}): Promise<BoxFile> {
    const reply = await this.transport.call({
      method: 'POST', url: session.session_endpoints.commit, signal: options.signal, retryStatuses: [202],
      headers: { digest: `sha=${sha1Base64}`, ...(options.ifMatch === undefined ? {} : { 'if-match': options.ifMatch }) },
      json: { parts, ...(options.contentModifiedAt === undefined ? {} : { attributes: { content_modified_at: options.contentModifiedAt } }) },
    });
    return reply.json.entries[0];
  }

  async abortSession(session: Pick<UploadSession, 'session_endpoints'>, signal?: AbortSignal): Promise<void> {
    await this.transport.call({ method: 'DELETE', url: session.session_endpoints.abort, signal });
  }

  /** Box's simple upload (multipart), for files under the chunked minimum. */
  async uploadSmall(request: { folderId?: string; fileId?: string; fileName: string; bytes: Uint8Array; sha1Hex: string;
    contentModifiedAt?: string | undefined }, signal?: AbortSignal): Promise<BoxFile> {
    const boundary = `partway-${Math.random().toString(16).slice(2)}${Date.now().toString(16)}`;
    const attributes = JSON.stringify({
      name: request.fileName,
      ...(request.folderId === undefined ? {} : { parent: { id: request.folderId } }),
      ...(request.contentModifiedAt === undefined ? {} : { content_modified_at: request.contentModifiedAt }),
    });
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="attributes"\r\n\r\n${attributes}\r\n`
      + `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="file"\r\nContent-Type: application/octet-stream\r\n\r\n`;
    const body = Buffer.concat([Buffer.from(head), request.bytes, Buffer.from(`\r\n--${boundary}--\r\n`)]);
    const path = request.fileId === undefined ? '/files/content' : `/files/${encodeURIComponent(request.fileId)}/content`;
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

  /** Where a file's bytes are: Box answers `302` to a download URL. */
  async downloadUrl(fileId: string, signal?: AbortSignal): Promise<{ url: string; sameOrigin: boolean }> {
    const url = `${this.endpoints.api}/files/${encodeURIComponent(fileId)}/content`;
    const reply = await this.transport.call({ method: 'GET', url, signal, retryStatuses: [202], discardBody: true });
    const location = reply.headers.location;
    if (reply.status >= 300 && reply.status < 400 && typeof location === 'string') {
      const target = new URL(location, url);
      return { url: target.href, sameOrigin: target.origin === new URL(url).origin };
    }
    return { url, sameOrigin: true };
  }
}

