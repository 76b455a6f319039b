import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Client } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { randomData, sha1Base64, sha1Hex, startServer, type TestServer } from '../helpers/partway.js';
import { crashRecorder, expectBoxError, send, type Answer } from '../helpers/security.js';

/**
 * Tokens: every route with no token, a bad one, an unknown one, a revoked one (401), and another
 * user's (404, told apart from a truly missing resource by nothing); revocation on the very next
 * request; secrets stored only as hashes.
 */

const PART = 64 * 1024;
const SIZE = 3 * PART + 1000;
const BOUNDARY = 'partway-auth';
const PREFIXES = ['/2.0', '/api/2.0'];

let server: TestServer;
let bob: string;
let revoked: string;
let data: Buffer;
let fileBytes: Buffer;
let alice: Ids;
/** Ids of the same kinds that exist for nobody. */
const MISSING: Ids = { folder: '987654320', file: '987654321', session: 'F'.repeat(32), complete: 'E'.repeat(32), parts: [] };
const crashes = crashRecorder();

interface Ids {
  folder: string;
  file: string;
  /** An active session with one part stored. */
  session: string;
  /** An active session with every part stored, ready to commit. */
  complete: string;
  parts: unknown[];
}

interface Request {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

interface Route {
  name: string;
  make(ids: Ids): Request;
  /** Whether another user's id in it must be answered as if it did not exist. */
  owned: boolean;
}

const jsonRequest = (method: string, path: string, body: unknown): Request => ({
  method, path, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
});

function multipart(attributes: unknown, content: string): { headers: Record<string, string>; body: string } {
  return {
    headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
    body: `--${BOUNDARY}\r\nContent-Disposition: form-data; name="attributes"\r\n\r\n${JSON.stringify(attributes)}\r\n`
      + `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n${content}\r\n--${BOUNDARY}--\r\n`,
  };
}

/** Every API route, each request well-formed, so that only the credential can be wrong. Deletions last. */
const ROUTES: Route[] = [
  { name: 'POST /files/upload_sessions', owned: true, make: (ids) => jsonRequest('POST', '/files/upload_sessions', { folder_id: ids.folder, file_size: SIZE, file_name: 'intruder.bin' }) },
  { name: 'POST /files/{id}/upload_sessions', owned: true, make: (ids) => jsonRequest('POST', `/files/${ids.file}/upload_sessions`, { file_size: SIZE }) },
  { name: 'GET /files/upload_sessions/{id}', owned: true, make: (ids) => ({ method: 'GET', path: `/files/upload_sessions/${ids.session}` }) },
  {
    name: 'PUT /files/upload_sessions/{id}', owned: true,
    make: (ids) => ({
      method: 'PUT', path: `/files/upload_sessions/${ids.session}`, body: data.subarray(PART, 2 * PART),
      headers: { 'content-type': 'application/octet-stream', 'content-range': `bytes ${PART}-${2 * PART - 1}/${SIZE}`, digest: `sha=${sha1Base64(data.subarray(PART, 2 * PART))}` },
    }),
  },
  { name: 'GET /files/upload_sessions/{id}/parts', owned: true, make: (ids) => ({ method: 'GET', path: `/files/upload_sessions/${ids.session}/parts` }) },
  {
    name: 'POST /files/upload_sessions/{id}/commit', owned: true,
    make: (ids) => ({ ...jsonRequest('POST', `/files/upload_sessions/${ids.complete}/commit`, { parts: ids.parts }), headers: { 'content-type': 'application/json', digest: `sha=${sha1Base64(data)}` } }),
  },
  { name: 'POST /files/upload_sessions/{id}/log', owned: true, make: (ids) => jsonRequest('POST', `/files/upload_sessions/${ids.session}/log`, { event_type: 'part_failure' }) },
  { name: 'GET /files/{id}', owned: true, make: (ids) => ({ method: 'GET', path: `/files/${ids.file}` }) },
  { name: 'GET /files/{id}/content', owned: true, make: (ids) => ({ method: 'GET', path: `/files/${ids.file}/content` }) },
  { name: 'POST /files/content', owned: true, make: (ids) => ({ method: 'POST', path: '/files/content', ...multipart({ name: 'intruder.txt', parent: { id: ids.folder } }, 'intruder') }) },
  { name: 'POST /files/{id}/content', owned: true, make: (ids) => ({ method: 'POST', path: `/files/${ids.file}/content`, ...multipart({}, 'overwritten') }) },
  { name: 'GET /folders/{id}', owned: true, make: (ids) => ({ method: 'GET', path: `/folders/${ids.folder}` }) },
  { name: 'GET /folders/{id}/items', owned: true, make: (ids) => ({ method: 'GET', path: `/folders/${ids.folder}/items` }) },
  { name: 'POST /folders', owned: true, make: (ids) => jsonRequest('POST', '/folders', { name: 'intruder', parent: { id: ids.folder } }) },
  { name: 'PUT /files/{id}', owned: true, make: (ids) => jsonRequest('PUT', `/files/${ids.file}`, { name: `renamed-${ids.file}.txt` }) },
  { name: 'PUT /folders/{id}', owned: true, make: (ids) => jsonRequest('PUT', `/folders/${ids.folder}`, { name: `renamed-${ids.folder}` }) },
  { name: 'GET /users/me', owned: false, make: () => ({ method: 'GET', path: '/users/me' }) },
  { name: 'DELETE /files/{id}', owned: true, make: (ids) => ({ method: 'DELETE', path: `/files/${ids.file}` }) },
  { name: 'DELETE /files/upload_sessions/{id}', owned: true, make: (ids) => ({ method: 'DELETE', path: `/files/upload_sessions/${ids.session}` }) },
];

function issue(prefix: string, request: Request, authorization: string | undefined): Promise<Answer> {
  const headers: Record<string, string> = { ...request.headers };
  if (authorization !== undefined) headers.authorization = authorization;
  return send(request.method, `${server.url}${prefix}${request.path}`, { headers, body: request.body });
}

async function createResources(token: string, tag: string): Promise<Ids> {
  const folder = await send('POST', `${server.api}/folders`, { token, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: `private-${tag}`, parent: { id: '0' } }) });
  expect(folder.status, folder.text).toBe(201);
  const upload = multipart({ name: `secret-${tag}.txt`, parent: { id: folder.json.id } }, fileBytes.toString('latin1'));
  const file = await send('POST', `${server.api}/files/content`, { token, headers: upload.headers, body: Buffer.from(upload.body, 'latin1') });
  expect(file.status, file.text).toBe(201);
  const openSession = async (name: string) => {
    const reply = await send('POST', `${server.upload}/files/upload_sessions`, {
      token, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ folder_id: folder.json.id, file_size: SIZE, file_name: name }),
    });
    expect(reply.status, reply.text).toBe(201);
    return reply.json.id as string;
  };
  const putPart = async (sessionId: string, offset: number) => {
    const bytes = data.subarray(offset, Math.min(offset + PART, SIZE));
    const reply = await send('PUT', `${server.upload}/files/upload_sessions/${sessionId}`, {
      token, body: bytes,
      headers: { 'content-range': `bytes ${offset}-${offset + bytes.length - 1}/${SIZE}`, digest: `sha=${sha1Base64(bytes)}` },
    });
    expect(reply.status, reply.text).toBe(200);
    return reply.json.part as unknown;
  };
  const session = await openSession(`session-${tag}.bin`);
  await putPart(session, 0);
  const complete = await openSession(`complete-${tag}.bin`);
  const parts = [];
  for (let offset = 0; offset < SIZE; offset += PART) parts.push(await putPart(complete, offset));
  return { folder: folder.json.id, file: file.json.entries[0].id, session, complete, parts };
}

/** What alice can see of her resources: compared before and after the attacks. */
async function aliceState() {
  const get = async (path: string) => {
    const reply = await send('GET', `${server.api}${path}`, { token: server.token });
    return { status: reply.status, json: reply.json };
  };
  const redirect = await send('GET', `${server.api}/files/${alice.file}/content`, { token: server.token });
  const content = redirect.status === 302 ? (await send('GET', String(redirect.headers.location))).bytes : undefined;
  return {
    root: (await get('/folders/0/items?limit=1000')).json,
    folder: (await get(`/folders/${alice.folder}/items?limit=1000`)).json,
    file: (await get(`/files/${alice.file}`)).json,
    contentSha1: content && sha1Hex(content),
    session: (await get(`/files/upload_sessions/${alice.session}/parts`)).json,
    complete: (await get(`/files/upload_sessions/${alice.complete}/parts`)).json,
  };
}

beforeAll(async () => {
  crashes.start();
  server = await startServer({ basePartSize: String(PART), minChunkedSize: '100000' });
  data = randomData(SIZE);
  fileBytes = Buffer.from('the private content of alice');
  bob = await server.tokenFor('bob');
  revoked = (await server.partway.tokens.create('alice')).token;
  expect((await send('GET', `${server.api}/users/me`, { token: revoked })).status).toBe(200);
  expect(await server.partway.tokens.revoke(revoked)).toBe(true);
  alice = await createResources(server.token, 'alice');
});
afterAll(async () => {
  crashes.stop();
  await server.close();
});
afterEach(() => crashes.check());

describe('every route without a valid token', () => {
  const credentials = (): Array<[string, string | undefined]> => [
    ['no Authorization header', undefined],
    ['Bearer garbage', 'Bearer garbage'],
    ['a well-formed token nobody was given', `Bearer pw_${'0123456789abcdef'}_${'A'.repeat(43)}`],
    ['alice\'s id with another secret', `Bearer ${server.token.slice(0, 20)}${'B'.repeat(43)}`],
    ['a revoked token of alice', `Bearer ${revoked}`],
  ];

  it('answers 401 with Box\'s body and WWW-Authenticate on every route and prefix, and changes nothing', async () => {
    const before = await aliceState();
    let count = 0;
    for (const route of ROUTES) {
      for (const prefix of PREFIXES) {
        const bodies: unknown[] = [];
        for (const [label, authorization] of credentials()) {
          const reply = await issue(prefix, route.make(alice), authorization);
          expectBoxError(reply, { status: 401, code: 'unauthorized' }, `${route.name} (${prefix}) with ${label}`);
          expect(reply.headers['www-authenticate'], label).toMatch(/^Bearer realm=/);
          if (authorization !== undefined) expect(reply.text, label).not.toContain(authorization.slice(7));
          bodies.push({ ...reply.json, request_id: undefined });
          count++;
        }
        // Nothing in the answer tells a missing token from a bad, unknown or revoked one.
        for (const body of bodies) expect(body, route.name).toEqual(bodies[0]);
      }
    }
    expect(count).toBe(ROUTES.length * PREFIXES.length * 5);
    expect(await aliceState()).toEqual(before);
  });

  it('answers 401 to HEAD without a token', async () => {
    for (const path of ['/users/me', `/files/upload_sessions/${alice.session}`, `/files/${alice.file}`]) {
      const reply = await send('HEAD', `${server.api}${path}`);
      expect(reply.status, path).toBe(401);
      expect(reply.headers['www-authenticate'], path).toMatch(/^Bearer /);
    }
  });
});

describe('every route with another user\'s valid token', () => {
  /** The answer with ids and request ids taken out, so two answers about different ids compare. */
  function normalized(reply: Answer, ids: Ids) {
    let message = String(reply.json?.message ?? '');
    for (const id of [ids.folder, ids.file, ids.session, ids.complete]) message = message.replaceAll(id, '<id>');
    const headerNames = Object.keys(reply.headers).filter((name) => !['date', 'content-length', 'box-request-id'].includes(name)).sort();
    return { status: reply.status, body: { ...reply.json, message, request_id: '<request id>' }, headerNames };
  }

  it('answers 404 exactly as for an id that does not exist, on every route and prefix, and changes nothing', async () => {
    const before = await aliceState();
    for (const route of ROUTES.filter((candidate) => candidate.owned)) {
      for (const prefix of PREFIXES) {
        const label = `${route.name} (${prefix})`;
        const others = await issue(prefix, route.make(alice), `Bearer ${bob}`);
        expectBoxError(others, { status: 404, code: 'not_found' }, `${label} on alice's resource`);
        const missing = await issue(prefix, route.make(MISSING), `Bearer ${bob}`);
        expectBoxError(missing, { status: 404, code: 'not_found' }, `${label} on a missing resource`);
        expect(normalized(others, alice), label).toEqual(normalized(missing, MISSING));
        expect(others.text, label).not.toContain('alice');
        expect(others.text, label).not.toContain('secret-alice');
      }
    }
    expect(await aliceState()).toEqual(before);
  });

  it('answers /users/me with the token\'s own user, never alice', async () => {
    for (const prefix of PREFIXES) {
      const reply = await send('GET', `${server.url}${prefix}/users/me`, { token: bob });
      expect(reply.status).toBe(200);
      expect(reply.json).toMatchObject({ type: 'user', name: 'bob' });
    }
  });

  it('lists only the token\'s own items in folder "0"', async () => {
    const items = await send('GET', `${server.api}/folders/0/items?limit=1000`, { token: bob });
    expect(items.status).toBe(200);
    expect(items.json.entries.map((item: { name: string }) => item.name)).not.toContain('private-alice');
  });

  it('does not reveal alice\'s item names through a name clash in bob\'s own folder', async () => {
    const reply = await send('POST', `${server.api}/folders`, {
      token: bob, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'private-alice', parent: { id: '0' } }),
    });
    expect(reply.status, reply.text).toBe(201);
  });
});

describe('the same requests with alice\'s own token', () => {
  it('succeed on every route, so the refusals above came from the credential alone', async () => {
    // One set of resources per prefix: the routes run in order, deletions last, so each finds what it needs.
    for (const prefix of PREFIXES) {
      const own = await createResources(server.token, `own${prefix.replace(/\W+/g, '-')}`);
      for (const route of ROUTES) {
        const reply = await issue(prefix, route.make(own), `Bearer ${server.token}`);
        expect(reply.status, `${route.name} (${prefix}): ${reply.text.slice(0, 200)}`).toBeLessThan(400);
      }
    }
  });
});

describe('revoking a token', () => {
  it('takes effect on the very next request, on the same keep-alive connection', async () => {
    const { token } = await server.partway.tokens.create('carol');
    const other = (await server.partway.tokens.create('carol')).token;
    const client = new Client(server.url, { pipelining: 1 });
    try {
      const me = async (bearer: string) => {
        const response = await client.request({ method: 'GET', path: '/2.0/users/me', headers: { authorization: `Bearer ${bearer}` } });
        const bytes = Buffer.from(await response.body.arrayBuffer());
        const text = bytes.toString('utf8');
        return { status: response.statusCode, bytes, text, json: JSON.parse(text), headers: response.headers as Answer['headers'] };
      };
      expect((await me(token)).status).toBe(200);
      expect((await me(token)).status).toBe(200);
      expect(await server.partway.tokens.revoke(token)).toBe(true);
      const after = await me(token);
      expectBoxError(after, { status: 401, code: 'unauthorized' });
      // Only that token: the user's other token still works.
      expect((await me(other)).status).toBe(200);
    } finally {
      await client.close();
    }
  });

  it('by its id alone takes effect at once too, on every kind of request', async () => {
    const created = await server.partway.tokens.create('dave');
    const session = await send('POST', `${server.upload}/files/upload_sessions`, {
      token: created.token, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ folder_id: '0', file_size: SIZE, file_name: 'dave.bin' }),
    });
    expect(session.status).toBe(201);
    expect(await server.partway.tokens.revoke(created.record.id)).toBe(true);
    const bytes = data.subarray(0, PART);
    const put = await send('PUT', `${server.upload}/files/upload_sessions/${session.json.id}`, {
      token: created.token, body: bytes, headers: { 'content-range': `bytes 0-${PART - 1}/${SIZE}`, digest: `sha=${sha1Base64(bytes)}` },
    });
    expectBoxError(put, { status: 401, code: 'unauthorized' });
    expectBoxError(await send('GET', `${server.upload}/files/upload_sessions/${session.json.id}`, { token: created.token }), { status: 401, code: 'unauthorized' });
    expect(await server.partway.tokens.revoke(created.record.id)).toBe(false);
  });

  it('answers unknown ids and garbage with false and revokes nothing else', async () => {
    expect(await server.partway.tokens.revoke('0123456789abcdef')).toBe(false);
    expect(await server.partway.tokens.revoke("' OR 1=1 --")).toBe(false);
    expect(await server.partway.tokens.revoke('')).toBe(false);
    expect((await send('GET', `${server.api}/users/me`, { token: server.token })).status).toBe(200);
    expect((await send('GET', `${server.api}/users/me`, { token: bob })).status).toBe(200);
  });
});

describe('stored tokens', () => {
  it('keep only a SHA-256 of each secret: no secret appears anywhere in the database files', async () => {
    const tokens = [server.token, bob, revoked, (await server.partway.tokens.create('erin')).token];
    const files = (await readdir(server.dataDir)).filter((name) => name.startsWith('partway.db'));
    expect(files).toContain('partway.db');
    const bytes = Buffer.concat(await Promise.all(files.map((name) => readFile(join(server.dataDir, name)))));
    const db = new Database(join(server.dataDir, 'partway.db'), { readonly: true, fileMustExist: true });
    try {
      const rows = db.prepare('SELECT id, secret_hash FROM tokens').all() as Array<{ id: string; secret_hash: string }>;
      const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((row) => row.name);
      const everything = JSON.stringify(tables.map((table) => db.prepare(`SELECT * FROM "${table}"`).all()));
      for (const token of tokens) {
        const match = /^pw_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/.exec(token);
        expect(match, token).not.toBeNull();
        const [, id, secret] = match as unknown as [string, string, string];
        expect(bytes.indexOf(secret), 'the secret is in the database files').toBe(-1);
        expect(bytes.indexOf(token), 'the token is in the database files').toBe(-1);
        expect(everything).not.toContain(secret);
        const row = rows.find((candidate) => candidate.id === id);
        expect(row, `no row for token id ${id}`).toBeDefined();
        expect(row!.secret_hash).toMatch(/^[0-9a-f]{64}$/);
        expect(row!.secret_hash).toBe(createHash('sha256').update(secret).digest('hex'));
      }
    } finally {
      db.close();
    }
  });
});

describe('routes that need no token', () => {
  it('serve /healthz, /readyz and /metrics with no token or a garbage one, and /metrics names no token or session', async () => {
    for (const authorization of [undefined, 'Bearer garbage']) {
      const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
      for (const path of ['/healthz', '/readyz', '/metrics']) {
        const reply = await send('GET', `${server.url}${path}`, { headers });
        expect(reply.status, path).toBe(200);
      }
    }
    const metrics = await send('GET', `${server.url}/metrics`);
    for (const secret of [server.token, bob, revoked, alice.session, alice.complete, 'secret-alice']) expect(metrics.text).not.toContain(secret);
  });

  it('serve a signed download link with no token, and never with a token alone', async () => {
    const redirect = await send('GET', `${server.api}/files/${alice.file}/content`, { token: server.token });
    expect(redirect.status).toBe(302);
    const link = String(redirect.headers.location);
    const plain = await send('GET', link);
    expect(plain.status).toBe(200);
    expect(plain.text).toBe(fileBytes.toString());
    const unsigned = await send('GET', `${server.url}/downloads/${alice.file}`, { token: server.token });
    expectBoxError(unsigned, { status: 404, code: 'not_found' });
  });
});
