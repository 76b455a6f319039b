import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as undiciRequest } from 'undici';
import type { Logger } from 'pino';
import { loadConfig, type SettingKey, type Tuning } from '../../src/config.js';
import { createPartway, type Partway } from '../../src/server.js';

export interface TestServer {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  /** The API under Box's upload layout: `${url}/api/2.0`. */
  upload: string;
  /** The API under one base URL: `${url}/2.0`. */
  api: string;
  /** A token of user "alice". */
  token: string;
  dataDir: string;
  partway: Partway;
  tokenFor(user: string): Promise<string>;
  close(): Promise<void>;
}

/** Real time, moved forward by hand: a test that waits for an expiry advances it instead of sleeping. */
export class AdvancingClock {
  #ahead = 0;
  readonly now = (): number => Date.now() + this.#ahead;

  advance(ms: number): void {
    this.#ahead += ms;
  }
}

/**
 * A real Partway over loopback on a fresh data directory, configured as `npm start` would be plus
 * `settings`; its core reads the time from `now` (e.g. an AdvancingClock's). `tuning` overrides fixed
 * numbers a test cannot wait for; `logger` receives what the server logs (nothing by default).
 */
export async function startServer(settings: Partial<Record<SettingKey, string>> = {},
  options: { now?: () => number; tuning?: Partial<Tuning>; logger?: Logger } = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'partway-test-'));
  const loaded = loadConfig({ port: '0', dataDir, logLevel: 'silent', ...settings }, {});
  const config = { ...loaded, tuning: { ...loaded.tuning, ...options.tuning } };
  const partway = await createPartway(config, options.logger ?? false, options.now);
  const url = await partway.listen();
  const tokenFor = async (user: string) => (await partway.tokens.create(user)).token;
  return {
    url, upload: `${url}/api/2.0`, api: `${url}/2.0`, token: await tokenFor('alice'), dataDir, partway, tokenFor,
    async close() {
      await partway.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body, or undefined for an empty one. */
  json: any;
  text: string;
}

export interface CallOptions {
  token?: string | null;
  headers?: Record<string, string>;
  json?: unknown;
  body?: Buffer | string | AsyncIterable<Uint8Array>;
}

/** One HTTP request over loopback; the bearer token is sent unless `token: null`. */
export async function call(method: string, url: string, options: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== null && options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body = options.body;
  if (options.json !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(options.json);
  }
  const response = await undiciRequest(url, { method: method as 'GET', headers, body: body as never });
  const text = await response.body.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.statusCode, headers: response.headers, json, text };
}

export function sha1Hex(data: Buffer): string {
  return createHash('sha1').update(data).digest('hex');
}

export function sha1Base64(data: Buffer): string {
  return createHash('sha1').update(data).digest('base64');
}

export function randomData(size: number): Buffer {
  return randomBytes(size);
}

/** The body of a part of `data` with Box's headers for it. */
export function partRequest(data: Buffer, offset: number, size: number, token: string) {
  const bytes = data.subarray(offset, offset + size);
  return {
    token,
    headers: {
      'content-type': 'application/octet-stream',
      'content-range': `bytes ${offset}-${offset + size - 1}/${data.length}`,
      digest: `sha=${sha1Base64(bytes)}`,
    },
    body: bytes,
  };
}

/** Box's simple upload of `data` as `name` into folder `parentId`: the new file's JSON (anything but a 201 throws). */
export async function uploadSmallFile(server: TestServer, name: string, parentId = '0', data = randomData(100)): Promise<any> {
  const form = new FormData();
  form.append('attributes', JSON.stringify({ name, parent: { id: parentId } }));
  form.append('file', new Blob([data]), 'file');
  const response = await fetch(`${server.upload}/files/content`, {
    method: 'POST', body: form, headers: { authorization: `Bearer ${server.token}`, 'content-md5': sha1Hex(data) },
  });
  if (response.status !== 201) throw new Error(`The upload of ${name} answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { entries: unknown[] }).entries[0];
}

/** A new folder's JSON (anything but a 201 throws). */
export async function createFolder(server: TestServer, name: string, parentId = '0'): Promise<any> {
  const created = await call('POST', `${server.api}/folders`, { token: server.token, json: { name, parent: { id: parentId } } });
  if (created.status !== 201) throw new Error(`Creating the folder ${name} answered ${created.status}: ${created.text}`);
  return created.json;
}
