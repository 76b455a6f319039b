import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/partway.js';
import { expectBoxError, rawExchange } from '../helpers/security.js';

/**
 * Requests Node's HTTP parser refuses before any route sees them get Box's error JSON with a
 * `box-request-id`, like every other answer (not Fastify's `{"error":"Bad Request",...}`), and the
 * connection is closed after it.
 */

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.close();
});

const head = (requestLine: string, headerLines: string[] = []) =>
  `${[requestLine, 'Host: 127.0.0.1', `Authorization: Bearer ${placeholderToken}`, ...headerLines].join('\r\n')}\r\n\r\n`;
const placeholderToken = 'TOKEN';

/** Writes `request` (latin-1 bytes, TOKEN replaced by a valid token) and reads the answer. */
async function exchange(request: string) {
  return rawExchange(server.url, Buffer.from(request.replaceAll(placeholderToken, server.token), 'latin1'));
}

describe('a request Node\'s HTTP parser refuses', () => {
  it.each<[string, string]>([
    ['an unknown method', head('FROB /2.0/users/me HTTP/1.1')],
    ['a lower-case method', head('get /2.0/users/me HTTP/1.1')],
    ['a request line with no path or version', head('GET')],
    ['an impossible HTTP version', head('GET /2.0/users/me HTTP/9.x')],
    ['a raw space in the path', head('GET /2.0/folders/0 items HTTP/1.1')],
    ['a non-ASCII byte in the path', head('GET /2.0/folders/\xe9 HTTP/1.1')],
    ['a NUL in a header value', head('GET /2.0/users/me HTTP/1.1', ['X-Note: a\x00b'])],
    ['a control byte in a header name', head('GET /2.0/users/me HTTP/1.1', ['X\x01Note: ab'])],
    ['a Content-Length that is not a number', head('POST /2.0/folders HTTP/1.1', ['Content-Type: application/json', 'Content-Length: abc'])],
    ['a negative Content-Length', head('POST /2.0/folders HTTP/1.1', ['Content-Type: application/json', 'Content-Length: -1'])],
    ['two Content-Lengths', `${head('POST /2.0/folders HTTP/1.1', ['Content-Type: application/json', 'Content-Length: 2', 'Content-Length: 3'])}{}`],
    ['Transfer-Encoding and Content-Length together', `${head('POST /2.0/folders HTTP/1.1', ['Content-Type: application/json', 'Transfer-Encoding: chunked', 'Content-Length: 5'])}0\r\n\r\n`],
  ])('answers %s with Box\'s 400 bad_request and a box-request-id, and closes the connection', async (_label, request) => {
    const answer = await exchange(request);
    expectBoxError(answer, { status: 400, code: 'bad_request' });
    expect(answer.json.message).toMatch(/^The request is malformed HTTP: /);
    expect(answer.headers.connection).toBe('close');
  });

  it('answers a Transfer-Encoding other than chunked with Box\'s 400', async () => {
    const answer = await exchange(`${head('POST /2.0/folders HTTP/1.1', ['Content-Type: application/json', 'Transfer-Encoding: gzip'])}{}`);
    expectBoxError(answer, { status: 400, code: 'bad_request' });
  });

  it('answers headers over Node\'s 16 KB limit with Box\'s 431', async () => {
    const answer = await exchange(head('GET /2.0/users/me HTTP/1.1', [`X-Big: ${'a'.repeat(20_000)}`]));
    expectBoxError(answer, { status: 431, code: 'request_header_fields_too_large' });
    expect(answer.headers.connection).toBe('close');
  });

  it('gives each refusal its own request id', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 3; i += 1) ids.add(String((await exchange(head('FROB / HTTP/1.1'))).json.request_id));
    expect(ids.size).toBe(3);
  });

  it('closes the connection after the answer even when the client would keep it open', async () => {
    const { port } = new URL(server.url);
    const closed = await new Promise<{ received: string }>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1');
      let received = '';
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error('the connection stayed open after the refusal'));
      }, 5000);
      socket.on('data', (chunk: Buffer) => { received += chunk.toString('latin1'); });
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearTimeout(timer);
        resolve({ received });
      });
      socket.write(head('FROB /2.0/users/me HTTP/1.1', ['Connection: keep-alive']).replaceAll(placeholderToken, server.token));
    });
    expect(closed.received).toMatch(/^HTTP\/1\.1 400 /);
  });
});

describe('a request whose headers do not arrive within the request timeout', () => {
  let slow: TestServer;
  beforeAll(async () => {
    slow = await startServer({ requestTimeout: '1' });
  });
  afterAll(async () => {
    await slow.close();
  });

  it('gets Box\'s 408 and a closed connection', async () => {
    // Headers never finished: Node's request timeout (checked every 250 ms here) ends the request.
    const answer = await rawExchange(slow.url, 'GET /2.0/users/me HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ', { timeoutMs: 5000 });
    expectBoxError(answer, { status: 408, code: 'request_timeout' });
    expect(answer.headers.connection).toBe('close');
  });
});
