import { mkdtemp, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import pg from 'pg';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { call, startServer, type TestServer } from '../helpers/partway.js';
import { freshSchema } from '../helpers/postgres.js';
import { spawnServer, waitForExit } from '../helpers/process.js';
import { SHARED_BACKENDS, sharedBackendSettings } from '../helpers/shared-backends.js';

/** The HTTP-side defects of the security review (issue 13, §3), each pinned by what a client or operator sees. */

interface LogLine {
  level: number;
  msg: string;
}

/** A pino logger whose lines a test can read. */
function capturedLogger() {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

const ERROR = 50;
const INFO = 30;

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

let server: TestServer | undefined;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await server?.close();
  server = undefined;
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A way to make the metadata store fail on its next item insert: a real trigger in the real database. */
interface Backend {
  name: string;
  start(logger: pino.Logger): Promise<{ server: TestServer; refuseInserts(): Promise<void> }>;
}

const sqlite: Backend = {
  name: 'SQLite and disk',
  async start(logger) {
    const started = await startServer({}, { logger });
    return {
      server: started,
      async refuseInserts() {
        const db = new Database(join(started.dataDir, 'partway.db'));
        db.exec(`CREATE TRIGGER refuse_items BEFORE INSERT ON items BEGIN SELECT RAISE(FAIL, 'injected fault'); END`);
        db.close();
      },
    };
  },
};

const shared: Backend = {
  name: 'PostgreSQL and S3',
  async start(logger) {
    const schema = await freshSchema();
    cleanups.push(() => schema.drop());
    const started = await startServer(sharedBackendSettings(schema.url), { logger });
    return {
      server: started,
      async refuseInserts() {
        const client = new pg.Client({ connectionString: schema.url });
        await client.connect();
        await client.query(`CREATE FUNCTION refuse_items() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected fault'; END $$`);
        await client.query('CREATE TRIGGER refuse_items BEFORE INSERT ON items FOR EACH ROW EXECUTE FUNCTION refuse_items()');
        await client.end();
      },
    };
  },
};

const BACKENDS = SHARED_BACKENDS ? [sqlite, shared] : [sqlite];

describe.each(BACKENDS)('a server fault after the body was read, on $name', (backend) => {
  it('is a 500 logged as an error, not a 400 "cut short" logged at info', async () => {
    const { logger, lines } = capturedLogger();
    const started = await backend.start(logger);
    server = started.server;
    await started.refuseInserts();

    const reply = await call('POST', `${server.api}/folders`, { token: server.token, json: { name: 'reports', parent: { id: '0' } } });
    expect(reply.status).toBe(500);
    expect(reply.json).toMatchObject({ type: 'error', status: 500, code: 'internal_server_error' });
    await until(() => lines.some((line) => line.msg === 'request failed'));
    expect(lines.find((line) => line.msg === 'request failed')!.level).toBe(ERROR);
    expect(lines.some((line) => /cut short|client went away/.test(line.msg))).toBe(false);
  });

  it('still takes a client that leaves mid-body for a client that went away: info, no error', async () => {
    const { logger, lines } = capturedLogger();
    server = (await backend.start(logger)).server;
    const { port } = new URL(server.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    const boundary = 'cut-short';
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="attributes"\r\n\r\n${JSON.stringify({ name: 'half.bin', parent: { id: '0' } })}\r\n`
      + `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="half.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`;
    socket.write(`POST /api/2.0/files/content HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${server.token}\r\n`
      + `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: 1000000\r\n\r\n${head}`);
    socket.write(Buffer.alloc(100_000, 1));
    await new Promise((resolve) => setTimeout(resolve, 200));
    socket.destroy();

    await until(() => lines.some((line) => line.msg === 'client went away before the request ended'));
    expect(lines.find((line) => line.msg === 'client went away before the request ended')!.level).toBe(INFO);
    expect(lines.filter((line) => line.level >= ERROR)).toEqual([]);
  });
});

describe('the rate limit', () => {
  const usersMe = (base: string, token: string | null) => call('GET', `${base}/users/me`, { token });

  it('counts requests with a bad token (by address), so they meet the limit too', async () => {
    server = await startServer({ rateLimit: '3' });
    const statuses = [];
    for (let index = 0; index < 4; index++) statuses.push((await usersMe(server.api, 'pw_0123456789abcdef_not-a-real-secret')).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    expect((await usersMe(server.api, null)).status).toBe(429);
  });

  it('charges a bad secret for a real token id to the sender, never to that token', async () => {
    server = await startServer({ rateLimit: '3' });
    const tokenId = server.token.split('_')[1]!;
    for (let index = 0; index < 5; index++) await usersMe(server.api, `pw_${tokenId}_${'x'.repeat(43)}`);
    const statuses = [];
    for (let index = 0; index < 3; index++) statuses.push((await usersMe(server.api, server.token)).status);
    expect(statuses).toEqual([200, 200, 200]);
  });

  it('gives a token one budget across /2.0 and /api/2.0', async () => {
    server = await startServer({ rateLimit: '4' });
    const statuses = [];
    for (const base of [server.api, server.upload, server.api, server.upload, server.api, server.upload]) {
      statuses.push((await usersMe(base, server.token)).status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
  });
});

describe('the base URL of handed-out links', () => {
  const SESSION = { folder_id: '0', file_size: 100_000, file_name: 'big.bin' };
  const forged = { host: 'evil.example', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' };

  async function uploadFile(target: TestServer): Promise<string> {
    const form = new FormData();
    form.append('attributes', JSON.stringify({ name: 'small.txt', parent: { id: '0' } }));
    form.append('file', new Blob(['hello']), 'small.txt');
    const response = await fetch(`${target.upload}/files/content`, { method: 'POST', body: form, headers: { authorization: `Bearer ${target.token}` } });
    return ((await response.json()) as { entries: { id: string }[] }).entries[0]!.id;
  }

  it('ignores Host and X-Forwarded-* from a peer that is not a trusted proxy', async () => {
    server = await startServer({ minChunkedSize: '1000' });
    const session = await call('POST', `${server.upload}/files/upload_sessions`, { token: server.token, headers: forged, json: SESSION });
    expect(session.status).toBe(201);
    for (const endpoint of Object.values(session.json.session_endpoints as Record<string, string>)) {
      expect(endpoint.startsWith(`${server.url}/api/2.0/`)).toBe(true);
    }
    const fileId = await uploadFile(server);
    const download = await call('GET', `${server.api}/files/${fileId}/content`, { token: server.token, headers: forged });
    expect(download.status).toBe(302);
    expect(String(download.headers.location).startsWith(`${server.url}/downloads/`)).toBe(true);
  });

  it('believes X-Forwarded-Proto and -Host from a proxy in PARTWAY_TRUST_PROXY', async () => {
    server = await startServer({ minChunkedSize: '1000', trustProxy: '10.0.0.0/8, 127.0.0.1' });
    const headers = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'files.example.com' };
    const session = await call('POST', `${server.upload}/files/upload_sessions`, { token: server.token, headers, json: SESSION });
    expect(session.json.session_endpoints.upload_part).toMatch(/^https:\/\/files\.example\.com\/api\/2\.0\/files\/upload_sessions\//);
    const fileId = await uploadFile(server);
    const download = await call('GET', `${server.api}/files/${fileId}/content`, { token: server.token, headers });
    expect(String(download.headers.location)).toMatch(/^https:\/\/files\.example\.com\/downloads\//);
  });

  it('refuses a PARTWAY_TRUST_PROXY entry that is not an address or range', async () => {
    await expect(startServer({ trustProxy: 'proxy.internal' })).rejects.toThrow(/PARTWAY_TRUST_PROXY/);
  });

  it('warns at start when listening beyond loopback without a public URL, and not on loopback', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'partway-warn-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const warning = /Listening beyond loopback without PARTWAY_PUBLIC_URL/;
    for (const [host, warns] of [['0.0.0.0', true], ['127.0.0.1', false]] as const) {
      const child = await spawnServer({ PARTWAY_HOST: host, PARTWAY_DATA_DIR: dataDir });
      await until(() => /"msg":"Partway is serving/.test(child.output()));
      await new Promise((resolve) => setTimeout(resolve, 100));
      child.child.kill('SIGTERM');
      await waitForExit(child.child);
      expect(warning.test(child.output())).toBe(warns);
    }
  });
});

describe('minor findings', () => {
  it('asks for PARTWAY_METRICS_TOKEN at /metrics when it is set, and leaves health checks open', async () => {
    server = await startServer({ metricsToken: 'scrape-secret' });
    expect((await call('GET', `${server.url}/metrics`, { token: null })).json).toMatchObject({ status: 401, code: 'unauthorized' });
    expect((await call('GET', `${server.url}/metrics`, { token: 'scrape-secreT' })).status).toBe(401);
    expect((await call('GET', `${server.url}/metrics`, { token: server.token })).status).toBe(401);
    const metrics = await call('GET', `${server.url}/metrics`, { token: 'scrape-secret' });
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('partway_http_requests_total');
    expect((await call('GET', `${server.url}/healthz`, { token: null })).status).toBe(200);
  });

  it('creates the data directory for its owner only (0700) and the database 0600', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'partway-modes-'));
    cleanups.push(() => rm(parent, { recursive: true, force: true }));
    const dataDir = join(parent, 'data');
    server = await startServer({ dataDir });
    await call('POST', `${server.api}/folders`, { token: server.token, json: { name: 'written', parent: { id: '0' } } });
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    for (const file of ['partway.db', 'partway.db-wal']) expect((await stat(join(dataDir, file))).mode & 0o777).toBe(0o600);
  });

  it('writes signed download links to the access log without their signature', async () => {
    const { logger, lines } = capturedLogger();
    server = await startServer({}, { logger });
    const form = new FormData();
    form.append('attributes', JSON.stringify({ name: 'secret.txt', parent: { id: '0' } }));
    form.append('file', new Blob(['the content']), 'secret.txt');
    const upload = await fetch(`${server.upload}/files/content`, { method: 'POST', body: form, headers: { authorization: `Bearer ${server.token}` } });
    const fileId = ((await upload.json()) as { entries: { id: string }[] }).entries[0]!.id;
    const link = String((await call('GET', `${server.api}/files/${fileId}/content`, { token: server.token })).headers.location);
    const signature = link.split('.').at(-1)!;
    expect((await call('GET', link, { token: null })).text).toBe('the content');

    await until(() => lines.some((line) => JSON.stringify(line).includes('/downloads/')));
    const logged = lines.map((line) => JSON.stringify(line)).filter((line) => line.includes('/downloads/'));
    expect(logged.join('\n')).toContain('[redacted]');
    expect(logged.join('\n')).not.toContain(signature);
  });

  it('refuses a folder name with a right-to-left override (400 item_name_invalid)', async () => {
    server = await startServer();
    const reply = await call('POST', `${server.api}/folders`, { token: server.token, json: { name: 'invoice\u202efdp.exe', parent: { id: '0' } } });
    expect(reply.json).toMatchObject({ type: 'error', status: 400, code: 'item_name_invalid' });
  });
});
