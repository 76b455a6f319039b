import type { IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import type { Dispatcher } from 'undici';
import { request as undiciRequest } from 'undici';
import type { Answer } from './security.js';

/**
 * Clients that write their whole request body before they read the answer, as Node's `fetch`, undici
 * (so box-node-sdk v10) and most HTTP libraries do: an answer the server sends early reaches them only
 * if the server reads (or discards) the rest of the body instead of resetting the connection.
 */

export interface WireRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Sent with its Content-Length (unless `headers` gives one) or, with `chunks`, chunked. */
  body?: Buffer;
  /** Sent with `Transfer-Encoding: chunked`, one chunk each. */
  chunks?: Buffer[];
}

export interface WriteFirstResult {
  /** The answers read, in order (a `100 Continue` is skipped). */
  answers: Answer[];
  /** The error writing the request met, if the server closed the connection while it was sent. */
  writeError: string | undefined;
  /** Whether the server closed the connection (before a follow-up request, or within `waitForCloseMs` of the last answer). */
  closed: boolean;
  /** Milliseconds from the first write to the close, if it closed. */
  closedAfterMs: number | undefined;
}

/**
 * Writes each request whole onto one TCP connection, without reading anything until the write is done
 * (the socket is paused, so the answer waits in the kernel as it does for a client busy writing), then
 * reads its answer, then sends the next request on the same connection.
 */
export function writeFirstThenRead(url: string, requests: WireRequest[], options: { timeoutMs?: number; waitForCloseMs?: number } = {}): Promise<WriteFirstResult> {
  const { hostname, port } = new URL(url);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const started = Date.now();
  return new Promise<WriteFirstResult>((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    socket.pause();
    const answers: Answer[] = [];
    let received: Buffer = Buffer.alloc(0);
    let writeError: string | undefined;
    let closed = false;
    let closedAfterMs: number | undefined;
    let waiting: (() => void) | undefined;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${url}: no answer within ${timeoutMs} ms (a hang); answers so far: ${answers.map((a) => a.status).join(', ')}`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      let taken;
      while ((taken = takeAnswer(received))) {
        received = taken.rest;
        if (taken.answer.status >= 200) answers.push(taken.answer);
      }
      waiting?.();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      writeError ??= error.code ?? error.message;
      waiting?.();
    });
    socket.on('close', () => {
      closed = true;
      closedAfterMs = Date.now() - started;
      waiting?.();
    });
    const until = (done: () => boolean) => new Promise<void>((settle) => {
      waiting = () => {
        if (done()) settle();
      };
      waiting();
    });

    (async () => {
      for (const [index, request] of requests.entries()) {
        if (closed) break;
        await new Promise<void>((written) => socket.write(serialize(hostname!, request), (error) => {
          if (error) writeError ??= (error as NodeJS.ErrnoException).code ?? error.message;
          written();
        }));
        socket.resume();
        await until(() => answers.length > index || closed);
        socket.pause();
      }
      socket.resume();
      await Promise.race([until(() => closed), new Promise((wait) => setTimeout(wait, options.waitForCloseMs ?? 0))]);
      clearTimeout(timer);
      const result = { answers, writeError, closed, closedAfterMs };
      socket.destroy();
      resolve(result);
    })().catch(reject);
  });
}

function serialize(host: string, request: WireRequest): Buffer {
  const lines = [`${request.method} ${request.path} HTTP/1.1`, `Host: ${host}`];
  for (const [name, value] of Object.entries(request.headers)) lines.push(`${name}: ${value}`);
  if (request.chunks) {
    lines.push('Transfer-Encoding: chunked');
    const framed = request.chunks.flatMap((chunk) => [Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
    return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), ...framed, Buffer.from('0\r\n\r\n')]);
  }
  const body = request.body ?? Buffer.alloc(0);
  // A given Content-Length may lie (a body that stalls before its end).
  if (!Object.keys(request.headers).some((name) => name.toLowerCase() === 'content-length')) lines.push(`Content-Length: ${body.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

/** The first complete answer in `bytes` (every answer here has a Content-Length, or none and no body). */
function takeAnswer(bytes: Buffer): { answer: Answer; rest: Buffer } | undefined {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '')?.[1]);
  if (!Number.isInteger(status)) throw new Error(`not an HTTP answer: ${JSON.stringify(lines[0])}`);
  const headers: IncomingHttpHeaders = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  if (bytes.length < end + 4 + length) return undefined;
  const body = bytes.subarray(end + 4, end + 4 + length);
  return { answer: toAnswer(status, headers, body), rest: bytes.subarray(end + 4 + length) };
}

export function toAnswer(status: number, headers: IncomingHttpHeaders, body: Buffer): Answer {
  const text = body.toString('utf8');
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status, headers, bytes: body, text, json };
}

/** One request through Node's own `fetch` (undici inside, as box-node-sdk v10 uses); a stream body is sent chunked. */
export async function fetchAnswer(url: string, init: { method: string; headers: Record<string, string>; body: Buffer | AsyncIterable<Uint8Array> }): Promise<Answer> {
  const body = Buffer.isBuffer(init.body) ? init.body : ReadableStream.from(init.body);
  const response = await fetch(url, { method: init.method, headers: init.headers, body, duplex: 'half' } as RequestInit);
  return toAnswer(response.status, Object.fromEntries(response.headers), Buffer.from(await response.arrayBuffer()));
}

/** One request through `undici.request`, on `dispatcher` when given (to count its connections). */
export async function undiciAnswer(url: string, init: { method: string; headers: Record<string, string>; body: Buffer | AsyncIterable<Uint8Array> },
  dispatcher?: Dispatcher): Promise<Answer> {
  const response = await undiciRequest(url, { method: init.method as 'PUT', headers: init.headers, body: init.body as never, ...(dispatcher ? { dispatcher } : {}) });
  return toAnswer(response.statusCode, response.headers as IncomingHttpHeaders, Buffer.from(await response.body.arrayBuffer()));
}
