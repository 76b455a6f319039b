import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { BOX_ERRORS } from '../../src/core/errors.js';

/**
 * Helpers for the hostile-input, fuzz and authentication suites (test/security): requests that
 * ordinary clients refuse to send (repeated headers, empty values, raw bytes, lying Content-Length),
 * the one check every error answer must pass (Box's ClientError), and a server in its own process for
 * the requests that could bring a process down.
 */

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body as received. */
  bytes: Buffer;
  text: string;
  /** The parsed JSON body, or undefined when the body is empty or not JSON. */
  json: any;
}

export interface SendOptions {
  /** Sent as `Authorization: Bearer <token>` unless `headers.authorization` is given. */
  token?: string;
  /** A string[] value sends the header once per element (a repeated header). */
  headers?: Record<string, string | string[]>;
  body?: Buffer | string;
  /** Send the body with `Transfer-Encoding: chunked` (no Content-Length). */
  chunked?: boolean;
  /** A request with no answer after this long fails the test as a hang. */
  timeoutMs?: number;
}

/**
 * One request over loopback with node:http on a fresh connection (closed after the answer, so that no
 * idle keep-alive connection outlives a test and holds up the server's close). Unlike undici it sends repeated
 * headers, empty header values and any byte 0x80-0xFF in a value (see `wire`).
 */
export function send(method: string, url: string, options: SendOptions = {}): Promise<Answer> {
  const headers: Record<string, string | string[]> = { ...options.headers };
  if (options.token !== undefined && headers.authorization === undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.chunked) headers['transfer-encoding'] = 'chunked';
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise<Answer>((resolve, reject) => {
    let answered = false;
    // The path goes out exactly as given: `new URL` would resolve `../` and re-encode bytes.
    const { origin, path } = splitUrl(url);
    const { hostname, port } = new URL(origin);
    const req = httpRequest({ host: hostname, port, path, method, headers, agent: false }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', () => finish());
      res.on('end', () => finish());
      res.on('aborted', () => finish());
      function finish() {
        clearTimeout(timer);
        const bytes = Buffer.concat(chunks);
        const text = bytes.toString('utf8');
        resolve({ status: res.statusCode!, headers: res.headers, bytes, text, json: parseJson(text) });
      }
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`${method} ${url}: no answer within ${timeoutMs} ms (a hang)`));
    }, timeoutMs);
    req.on('error', (error) => {
      // The server may close the connection after answering early, before the whole body was sent.
      if (!answered) {
        clearTimeout(timer);
        reject(error);
      }
    });
    if (options.chunked && options.body !== undefined) {
      req.write(options.body);
      req.end();
    } else {
      req.end(options.body);
    }
  });
}

function splitUrl(url: string): { origin: string; path: string } {
  const match = /^(https?:\/\/[^/]+)(.*)$/.exec(url);
  if (!match) throw new Error(`not an http URL: ${url}`);
  return { origin: match[1]!, path: match[2] || '/' };
}

export interface RawAnswer extends Answer {
  /** False when the server closed the connection without writing any answer. */
  answered: boolean;
}

/**
 * Writes `bytes` as they are to a new TCP connection and reads the first answer. For what no HTTP
 * client will send: a Content-Length that lies, malformed framing, control bytes in a header.
 * `halfClose` ends our side after writing (the server sees the end of the stream).
 */
export function rawExchange(url: string, bytes: string | Buffer, options: { halfClose?: boolean; timeoutMs?: number } = {}): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise<RawAnswer>((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = Buffer.alloc(0);
    let settled = false;
    const settle = (answer: RawAnswer | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (answer instanceof Error) reject(answer);
      else resolve(answer);
    };
    const timer = setTimeout(() => {
      const parsed = parseRawAnswer(received);
      settle(parsed ?? new Error(`raw request to ${url}: no answer within ${timeoutMs} ms (a hang)`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const parsed = parseRawAnswer(received, true);
      if (parsed) settle(parsed);
    });
    socket.on('error', () => settle(parseRawAnswer(received) ?? noAnswer()));
    socket.on('close', () => settle(parseRawAnswer(received) ?? noAnswer()));
    socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
    if (options.halfClose) socket.end();
  });
}

function noAnswer(): RawAnswer {
  return { answered: false, status: 0, headers: {}, bytes: Buffer.alloc(0), text: '', json: undefined };
}

/** The first HTTP answer in `bytes`; with `complete`, only once its whole Content-Length body is there. */
function parseRawAnswer(bytes: Buffer, complete = false): RawAnswer | undefined {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1]);
  if (!Number.isInteger(status)) return undefined;
  const headers: IncomingHttpHeaders = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  const body = bytes.subarray(end + 4);
  if (complete && body.length < length) return undefined;
  const content = body.subarray(0, length || body.length);
  const text = content.toString('utf8');
  return { answered: true, status, headers, bytes: content, text, json: parseJson(text) };
}

function parseJson(text: string): unknown {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The latin-1 string whose bytes are `text` in UTF-8: how a header value carries Unicode on the wire. */
export function wire(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

export const BOX_ERROR_KEYS = ['code', 'context_info', 'help_url', 'message', 'request_id', 'status', 'type'];

/**
 * Every error answer is Box's ClientError: exactly its seven fields, `status` equal to the HTTP status,
 * a `code` from src/core/errors.ts whose status is that status, and `request_id` equal to the
 * `box-request-id` header. Never a 5xx: these are all client mistakes.
 */
export function expectBoxError(answer: Answer, expected: { status?: number | number[]; code?: string | string[] } = {}, label = ''): void {
  const where = `${label} -> ${answer.status} ${answer.text.slice(0, 300)}`;
  expect(answer.status, `a client mistake answered with a server error: ${where}`).toBeLessThan(500);
  expect(answer.status, where).toBeGreaterThanOrEqual(400);
  if (expected.status !== undefined) expect([expected.status].flat(), where).toContain(answer.status);
  expect(answer.json, `not a JSON body: ${where}`).toBeTypeOf('object');
  expect(Object.keys(answer.json ?? {}).sort(), where).toEqual(BOX_ERROR_KEYS);
  const body = answer.json as Record<string, unknown>;
  expect(body.type, where).toBe('error');
  expect(body.status, where).toBe(answer.status);
  expect(Object.keys(BOX_ERRORS), `unknown code: ${where}`).toContain(body.code);
  expect(BOX_ERRORS[body.code as keyof typeof BOX_ERRORS].status, `code with another status: ${where}`).toBe(answer.status);
  if (expected.code !== undefined) expect([expected.code].flat(), where).toContain(body.code);
  expect(body.message, where).toBeTypeOf('string');
  expect(body.context_info === null || typeof body.context_info === 'object', where).toBe(true);
  expect(body.help_url, where).toMatch(/^https:\/\//);
  expect(body.request_id, where).toMatch(/^\S+$/);
  expect(answer.headers['box-request-id'], `box-request-id header: ${where}`).toBe(body.request_id);
  expect(String(answer.headers['content-type']), where).toMatch(/^application\/json/);
  if (answer.status === 401) expect(answer.headers['www-authenticate'], where).toMatch(/^Bearer /);
}

/**
 * Node's HTTP parser refuses some requests before any application code runs (a negative or doubled
 * Content-Length, control bytes in a header, headers over 16 KB); the app's clientError handler
 * answers them with Box's error too (400, or 431 for headers over the limit) and closes.
 */
export function expectParserRefusal(answer: Answer & { answered?: boolean }, label = ''): void {
  const where = `${label} -> ${answer.status} ${answer.text.slice(0, 300)}`;
  expect(answer.answered ?? true, `no answer at all: ${where}`).toBe(true);
  expectBoxError(answer, { status: [400, 431], code: ['bad_request', 'request_header_fields_too_large'] }, label);
}

/** Either Box's error from a route (as `expected`) or from Node's parser refusing the request. */
export function expectBoxErrorOrParserRefusal(answer: Answer & { answered?: boolean }, expected: { status?: number | number[]; code?: string | string[] } = {}, label = ''): void {
  const status = expected.status === undefined ? undefined : [expected.status, 400, 431].flat();
  const code = expected.code === undefined ? undefined : [expected.code, 'bad_request', 'request_header_fields_too_large'].flat();
  expect(answer.answered ?? true, `no answer at all: ${label}`).toBe(true);
  expectBoxError(answer, { status, code }, label);
}

export function sha1Of(bytes: Buffer | string): Buffer {
  return createHash('sha1').update(bytes).digest();
}

/**
 * Records uncaught exceptions and unhandled rejections while a suite runs its in-process server: in
 * production either one ends the process (a crash), so `check` fails the test that caused one.
 */
export function crashRecorder() {
  const errors: string[] = [];
  const record = (error: unknown) => errors.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
  return {
    start() {
      process.on('uncaughtException', record);
      process.on('unhandledRejection', record);
    },
    stop() {
      process.off('uncaughtException', record);
      process.off('unhandledRejection', record);
    },
    check(label = '') {
      const seen = errors.splice(0);
      expect(seen, `the server threw outside any request handler (would crash the process) ${label}`).toEqual([]);
    },
  };
}

export interface IsolatedServer {
  url: string;
  api: string;
  upload: string;
  /** A token of "alice" and one of "bob". */
  token: string;
  bob: string;
  child: ChildProcess;
  /** The end of what the process wrote to stderr (a crash's stack trace lands here). */
  stderr(): string;
  /** Whether the process still runs and answers /healthz. */
  alive(): Promise<boolean>;
  stop(): Promise<void>;
}

const ISOLATED_MAIN = fileURLToPath(new URL('../security/support/isolated-server.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * A Partway built from source (through tsx) in its own process, as `npm start` runs it: no handler
 * catches what escapes a request, so a crash ends the process and the test sees it.
 */
export function startIsolatedServer(settings: Record<string, string> = {}): Promise<IsolatedServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', ISOLATED_MAIN], {
    cwd: REPO_ROOT,
    env: { ...process.env, PARTWAY_TEST_SETTINGS: JSON.stringify(settings) },
    // The IPC channel lets the child notice when this process goes away, so it never outlives the tests.
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  return new Promise((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const line = stdout.split('\n').find((candidate) => candidate.startsWith('{'));
      if (!line || !stdout.includes('\n')) return;
      const { dataDir, ...started } = JSON.parse(line) as { url: string; token: string; bob: string; dataDir: string };
      resolve({
        ...started, api: `${started.url}/2.0`, upload: `${started.url}/api/2.0`, child, stderr: () => stderr.slice(-4000),
        async alive() {
          if (child.exitCode !== null || child.signalCode !== null) return false;
          try {
            return (await send('GET', `${started.url}/healthz`, { timeoutMs: 5000 })).status === 200;
          } catch {
            return false;
          }
        },
        /** Stops the process if it still runs, and removes its data directory (a crashed one leaves it behind). */
        async stop() {
          if (child.exitCode === null && child.signalCode === null) {
            const exited = new Promise((done) => child.once('exit', done));
            child.kill('SIGTERM');
            await exited;
          }
          await rm(dataDir, { recursive: true, force: true });
        },
      });
    });
    child.on('exit', (code, signal) => reject(new Error(`the isolated server exited (${code ?? signal}) before it listened: ${stderr}`)));
  });
}
