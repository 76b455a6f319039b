import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TestCertificates } from './tls.js';

export interface RequestLogEntry {
  method: string;
  host: string;
  /** Path and query, as the client sent them. */
  url: string;
  status: number;
}

export interface TlsFront {
  /** An `https:` origin served directly (for a browser), e.g. https://partway.test:41234. */
  httpsPort: number;
  /** An HTTP proxy URL for `HTTPS_PROXY`: CONNECT to the certificate's hosts lands on Partway. */
  proxyUrl: string;
  /** Every request that went through, in order (bodies are not kept). */
  log: RequestLogEntry[];
  close(): Promise<void>;
}

/**
 * The TLS front of the interop tests: it terminates TLS with the throwaway certificate and forwards
 * every request unchanged to Partway's plain-HTTP address. It listens two ways: as an https server
 * (for a browser told to map a name to 127.0.0.1) and as an HTTP CONNECT proxy that accepts only the
 * certificate's host names (for rclone, whose Box URLs are compiled in), so nothing on the machine
 * (no /etc/hosts, no system CA store) changes. `target` may be given late (a function) when Partway
 * must know the front's address first; `pages` may answer a request itself (a test page on the
 * API's own origin).
 */
export async function startTlsFront(target: string | (() => string), certificates: TestCertificates, hosts: readonly string[],
  options: { pages?: (request: IncomingMessage, response: ServerResponse) => boolean } = {}): Promise<TlsFront> {
  const log: RequestLogEntry[] = [];
  const forward = (request: IncomingMessage, response: ServerResponse) => {
    // The test's own pages, served beside the API on the same origin.
    if (options.pages?.(request, response)) return;
    const upstream = new URL(typeof target === 'string' ? target : target());
    const entry: RequestLogEntry = { method: request.method ?? '', host: request.headers.host ?? '', url: request.url ?? '', status: 0 };
    log.push(entry);
    const outgoing = httpRequest({
      host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers: request.headers,
    }, (answer) => {
      entry.status = answer.statusCode ?? 0;
      response.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
      answer.pipe(response);
    });
    outgoing.on('error', () => response.destroy());
    request.on('error', () => outgoing.destroy());
    request.pipe(outgoing);
  };
  // Tunnelled sockets leave the servers' own bookkeeping, so they are tracked here to be closed.
  const sockets = new Set<Socket>();
  const https = createHttpsServer({ cert: certificates.cert, key: certificates.key }, forward);
  const proxy = createHttpServer((_request, response) => response.writeHead(405).end());
  proxy.on('connect', (request: IncomingMessage, socket: Socket) => {
    const [host, port] = (request.url ?? '').split(':');
    if (!hosts.includes(host ?? '') || port !== '443') {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    // The tunnel's socket becomes a connection of the https server, which does the TLS handshake.
    https.emit('connection', socket);
  });
  await Promise.all([listen(https), listen(proxy)]);
  return {
    httpsPort: (https.address() as AddressInfo).port,
    proxyUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    log,
    async close() {
      https.closeAllConnections();
      proxy.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await Promise.all([new Promise((resolve) => https.close(resolve)), new Promise((resolve) => proxy.close(resolve))]);
    },
  };
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
}
