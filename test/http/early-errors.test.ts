import { execFile } from 'node:child_process';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomData, sha1Base64 } from '../helpers/partway.js';
import { freshSchema } from '../helpers/postgres.js';
import { expectBoxError, send, startIsolatedServer, type Answer, type IsolatedServer } from '../helpers/security.js';
import { SHARED_BACKENDS, sharedBackendSettings } from '../helpers/shared-backends.js';
import { fetchAnswer, toAnswer, undiciAnswer, writeFirstThenRead, type WireRequest } from '../helpers/write-first.js';

/**
 * Every error answer to a part reaches the client, also one that writes its whole body before it reads
 * (Node's fetch, undici, box-node-sdk v10), for a body of a full Box part (8 MiB): the server reads and
 * discards the rest of the body and keeps the connection, within a bound past which it cuts it. With
 * `Expect: 100-continue` a refused part is refused before its body is sent. The server runs in its own
 * process, as in production: in-process, the client's writes and the server's reads share one event loop
 * and hide the reset that such clients met.
 */

const MiB = 1024 * 1024;
const PART = 8 * MiB; // Box's part size, the default
const SIZE = 20 * MiB; // parts of 8, 8 and 4 MiB
const FULL_PART = randomData(PART);
const RIGHT_RANGE = `bytes ${PART}-${2 * PART - 1}/${SIZE}`;
const RIGHT_DIGEST = `sha=${sha1Base64(FULL_PART)}`;
const UNKNOWN_SESSION = '0123456789ABCDEF0123456789ABCDEF';

interface Party {
  server: IsolatedServer;
  sessionId: string;
}

interface EarlyCase {
  label: string;
  status: number;
  code: string;
  /** The part request: the right one for slot 1, with these headers replaced (undefined removes one). */
  headers?: Record<string, string | undefined>;
  /** Whose token (by default alice's, the session's owner). */
  as?: 'bob';
  session?: string;
  /** Sent chunked: the full part and 1 MiB more, refused once the extra bytes arrive. */
  tooLong?: boolean;
}

const CASES: EarlyCase[] = [
  { label: 'no Content-Range', status: 400, code: 'bad_request', headers: { 'content-range': undefined } },
  { label: 'a malformed Content-Range', status: 400, code: 'bad_request', headers: { 'content-range': `bytes=${PART}-${2 * PART - 1}/${SIZE}` } },
  { label: 'a range off the part grid', status: 416, code: 'requested_range_not_satisfiable', headers: { 'content-range': `bytes 1-${PART}/${SIZE}` } },
  { label: 'a wrong total', status: 416, code: 'requested_range_not_satisfiable', headers: { 'content-range': `bytes ${PART}-${2 * PART - 1}/${SIZE + 1}` } },
  { label: 'no token', status: 401, code: 'unauthorized', headers: { authorization: undefined } },
  { label: 'a bad token', status: 401, code: 'unauthorized', headers: { authorization: `Bearer pw_0123456789abcdef_${'x'.repeat(43)}` } },
  { label: 'another user\'s session', status: 404, code: 'not_found', as: 'bob' },
  { label: 'an unknown session', status: 404, code: 'not_found', session: UNKNOWN_SESSION },
  { label: 'a malformed Digest', status: 400, code: 'bad_request', headers: { digest: 'sha=not-base64' } },
  { label: 'no Digest', status: 400, code: 'bad_request', headers: { digest: undefined } },
  { label: 'the Digest of other bytes (refused once the whole body is read)', status: 400, code: 'digest_mismatch', headers: { digest: `sha=${sha1Base64(Buffer.from('other'))}` } },
  { label: 'a chunked body longer than its range (refused mid-body)', status: 416, code: 'requested_range_not_satisfiable', tooLong: true },
];

const sessionPath = (id: string) => `/api/2.0/files/upload_sessions/${id}`;
const usersMe = (token: string): WireRequest => ({ method: 'GET', path: '/api/2.0/users/me', headers: { authorization: `Bearer ${token}` } });

function partHeaders(party: Party, overrides: Record<string, string | undefined> = {}, as?: 'bob'): Record<string, string> {
  const headers: Record<string, string | undefined> = {
    authorization: `Bearer ${as === 'bob' ? party.server.bob : party.server.token}`,
    'content-type': 'application/octet-stream', 'content-range': RIGHT_RANGE, digest: RIGHT_DIGEST, ...overrides,
  };
  return Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

function tooLongChunks(): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < PART; at += MiB) chunks.push(FULL_PART.subarray(at, at + MiB));
  return [...chunks, randomData(MiB)];
}

async function* asStream(chunks: Buffer[]) {
  yield* chunks;
}

function caseRequest(party: Party, early: EarlyCase) {
  const path = sessionPath(early.session ?? party.sessionId);
  const headers = partHeaders(party, early.headers, early.as);
  return {
    path, headers,
    body: () => (early.tooLong ? asStream(tooLongChunks()) : FULL_PART),
    wire: (): WireRequest => (early.tooLong ? { method: 'PUT', path, headers, chunks: tooLongChunks() } : { method: 'PUT', path, headers, body: FULL_PART }),
  };
}

async function storedParts(party: Party): Promise<number> {
  const reply = await send('GET', `${party.server.upload}/files/upload_sessions/${party.sessionId}/parts`, { token: party.server.token });
  expect(reply.status, reply.text).toBe(200);
  return reply.json.total_count as number;
}

async function openParty(settings: Record<string, string | undefined> = {}, cleanup?: () => Promise<void>): Promise<Party & { stop(): Promise<void> }> {
  const server = await startIsolatedServer(Object.fromEntries(Object.entries(settings).filter((entry): entry is [string, string] => entry[1] !== undefined)));
  const created = await send('POST', `${server.upload}/files/upload_sessions`, {
    token: server.token, headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ folder_id: '0', file_size: SIZE, file_name: `early-${Date.now()}.bin` }),
  });
  expect(created.status, created.text).toBe(201);
  return {
    server, sessionId: created.json.id,
    async stop() {
      await server.stop();
      await cleanup?.();
    },
  };
}

function describeEarlyErrors(backend: string, open: () => Promise<Party & { stop(): Promise<void> }>) {
  describe(`an 8 MiB part refused early (${backend})`, () => {
    let party: Party & { stop(): Promise<void> };
    beforeAll(async () => {
      party = await open();
    });
    afterAll(() => party.stop());

    it.each(CASES.map((early) => [early.label, early] as const))('%s: fetch, undici and a client that writes everything first each get the Box error, and the connection stays usable', async (_label, early) => {
      const request = caseRequest(party, early);
      const expected = { status: early.status, code: early.code };
      const url = `${party.server.url}${request.path}`;

      expectBoxError(await fetchAnswer(url, { method: 'PUT', headers: request.headers, body: request.body() }), expected, 'fetch');

      const client = new Client(party.server.url);
      let connections = 0;
      client.on('connect', () => connections++);
      try {
        expectBoxError(await undiciAnswer(url, { method: 'PUT', headers: request.headers, body: request.body() }, client), expected, 'undici');
        const after = await undiciAnswer(`${party.server.url}/api/2.0/users/me`, { method: 'GET', headers: { authorization: `Bearer ${party.server.token}` }, body: Buffer.alloc(0) }, client);
        expect(after.status, after.text).toBe(200);
        expect(connections, 'undici had to reconnect: the connection was closed after the error').toBe(1);
      } finally {
        await client.close();
      }

      const raw = await writeFirstThenRead(party.server.url, [request.wire(), usersMe(party.server.token)]);
      expect(raw.writeError, 'the server reset the connection while the body was written').toBeUndefined();
      expect(raw.answers.length, 'answers on one connection').toBe(2);
      expectBoxError(raw.answers[0]!, expected, 'written first');
      expect(raw.answers[0]!.headers.connection).not.toBe('close');
      expect(raw.answers[1]!.status, 'the next request on the same connection').toBe(200);

      expect(await storedParts(party)).toBe(0);
    });

    it('keeps the connection after a route that answers without reading the body it was sent', async () => {
      // Box's upload log route answers 204 and reads nothing.
      const log: WireRequest = { method: 'POST', path: `${sessionPath(party.sessionId)}/log`, headers: { authorization: `Bearer ${party.server.token}` }, body: FULL_PART };
      const raw = await writeFirstThenRead(party.server.url, [log, usersMe(party.server.token)]);
      expect(raw.writeError).toBeUndefined();
      expect(raw.answers.map((answer) => answer.status)).toEqual([204, 200]);
    });

    it('takes the right part afterwards, on a connection that first had a refused part', async () => {
      const right = caseRequest(party, { label: 'right', status: 200, code: '' });
      const refused = caseRequest(party, CASES[0]!);
      const raw = await writeFirstThenRead(party.server.url, [refused.wire(), right.wire()]);
      expect(raw.answers.map((answer) => answer.status)).toEqual([400, 200]);
      expect(raw.answers[1]!.json.part).toMatchObject({ offset: PART, size: PART });
      expect(await storedParts(party)).toBe(1);
    });
  });
}

describeEarlyErrors('SQLite and the local disk', () => openParty());

describe.skipIf(!SHARED_BACKENDS)('with PARTWAY_TEST_DATABASE_URL and PARTWAY_TEST_S3_ENDPOINT', () => {
  describeEarlyErrors('PostgreSQL and S3', async () => {
    const schema = await freshSchema();
    return openParty(sharedBackendSettings(schema.url), () => schema.drop());
  });
});

describe('a part refused by the rate limit', () => {
  let party: Party & { stop(): Promise<void> };
  beforeAll(async () => {
    party = await openParty({ rateLimit: '1' }); // the session's creation took the one request
  });
  afterAll(() => party.stop());

  it('gets 429 through fetch, undici and a client that writes everything first, on a connection that stays usable', async () => {
    const request = caseRequest(party, { label: 'right', status: 200, code: '' });
    const url = `${party.server.url}${request.path}`;
    const expected = { status: 429, code: 'rate_limit_exceeded' };
    expectBoxError(await fetchAnswer(url, { method: 'PUT', headers: request.headers, body: FULL_PART }), expected, 'fetch');
    expectBoxError(await undiciAnswer(url, { method: 'PUT', headers: request.headers, body: FULL_PART }), expected, 'undici');
    const raw = await writeFirstThenRead(party.server.url, [request.wire(), request.wire()]);
    expect(raw.writeError).toBeUndefined();
    expect(raw.answers.length).toBe(2);
    for (const answer of raw.answers) expectBoxError(answer, expected, 'written first');
  });
});

describe('past the bound (discard limit 1 MiB, discard timeout 1 s)', () => {
  let party: Party & { stop(): Promise<void> };
  beforeAll(async () => {
    party = await openParty({ discardLimit: String(MiB), discardTimeout: '1' });
  });
  afterAll(() => party.stop());

  const refused = (headers: Record<string, string>, body: Buffer): WireRequest => ({
    method: 'PUT', path: sessionPath(party.sessionId), headers: partHeaders(party, { 'content-range': undefined, ...headers }), body,
  });

  it('keeps the connection for a refused body within the limit', async () => {
    const raw = await writeFirstThenRead(party.server.url, [refused({}, randomData(MiB)), usersMe(party.server.token)]);
    expect(raw.writeError).toBeUndefined();
    expect(raw.answers.map((answer) => answer.status)).toEqual([400, 200]);
  });

  it('answers a body declared longer than the limit with Connection: close at once, without waiting for the body', async () => {
    // Only the first 64 KiB of the declared 8 MiB are sent: the answer must not wait for the rest.
    const raw = await writeFirstThenRead(party.server.url, [refused({ 'content-length': String(PART) }, randomData(64 * 1024))], { waitForCloseMs: 5000 });
    expect(raw.answers.length).toBe(1);
    expectBoxError(raw.answers[0]!, { status: 400, code: 'bad_request' });
    expect(raw.answers[0]!.headers.connection).toBe('close');
    expect(raw.closed).toBe(true);
  });

  it('cuts a chunked body once more than the limit was discarded', async () => {
    const chunks = Array.from({ length: 8 }, () => randomData(MiB));
    const raw = await writeFirstThenRead(party.server.url, [{ ...refused({}, Buffer.alloc(0)), chunks }], { waitForCloseMs: 5000 });
    expect(raw.closed).toBe(true);
    expect(raw.writeError, 'the 8 MiB were all taken: the connection was not cut').toBeDefined();
  });

  it('cuts a body that stops arriving once the discard timeout has passed', async () => {
    const raw = await writeFirstThenRead(party.server.url, [refused({ 'content-length': String(MiB) }, randomData(64 * 1024))], { waitForCloseMs: 10_000 });
    expectBoxError(raw.answers[0]!, { status: 400, code: 'bad_request' });
    expect(raw.closed).toBe(true);
    expect(raw.closedAfterMs).toBeGreaterThanOrEqual(900);
    expect(raw.closedAfterMs).toBeLessThan(5000);
  });

  it('still serves after every cut', async () => {
    expect(await party.server.alive()).toBe(true);
  });
});

describe('Expect: 100-continue', () => {
  let party: Party & { stop(): Promise<void> };
  beforeAll(async () => {
    party = await openParty();
  });
  afterAll(() => party.stop());

  /** A part sent as node:http sends it with Expect: the body only after a 100 Continue. */
  function putExpectingContinue(headers: Record<string, string>, path = sessionPath(party.sessionId)): Promise<{ continued: boolean; answer: Answer }> {
    return new Promise((resolve, reject) => {
      let continued = false;
      const req = httpRequest(`${party.server.url}${path}`, {
        method: 'PUT', agent: false, headers: { ...headers, expect: '100-continue', 'content-length': String(PART) },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk)).on('end', () => {
          req.destroy();
          resolve({ continued, answer: toAnswer(res.statusCode!, res.headers, Buffer.concat(chunks)) });
        });
      });
      req.on('continue', () => {
        continued = true;
        req.end(FULL_PART);
      });
      req.on('error', reject);
      req.flushHeaders();
    });
  }

  it.each(CASES.filter((early) => !early.tooLong && early.code !== 'digest_mismatch').map((early) => [early.label, early] as const))(
    'refuses a part with %s before its body is sent: no 100 Continue, the Box error, Connection: close', async (_label, early) => {
      const request = caseRequest(party, early);
      const { continued, answer } = await putExpectingContinue(request.headers, request.path);
      expect(continued).toBe(false);
      expectBoxError(answer, { status: early.status, code: early.code });
      expect(answer.headers.connection).toBe('close');
    });

  it('answers 100 Continue to a right part once its checks passed, and stores it', async () => {
    const { continued, answer } = await putExpectingContinue(partHeaders(party));
    expect(continued).toBe(true);
    expect(answer.status, answer.text).toBe(200);
    expect(await storedParts(party)).toBe(1);
  });

  const curl = promisify(execFile);
  const hasCurl = curl('curl', ['--version']).then(() => true, () => false);

  it('works with the real curl, which sends Expect: 100-continue for bodies over 1 MiB', async (context) => {
    if (!(await hasCurl)) context.skip();
    const dir = await mkdtemp(join(tmpdir(), 'partway-curl-'));
    try {
      const file = join(dir, 'part.bin');
      await writeFile(file, FULL_PART);
      const put = async (headers: Record<string, string>) => {
        const args = ['-sv', '-X', 'PUT', '--data-binary', `@${file}`, '-w', '\n%{http_code} %{size_upload}'];
        for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}: ${value}`);
        const { stdout, stderr } = await curl('curl', [...args, `${party.server.url}${sessionPath(party.sessionId)}`]);
        const lines = stdout.split('\n');
        const [status, uploaded] = lines.pop()!.split(' ').map(Number);
        return {
          answer: toAnswer(status!, { 'content-type': 'application/json' }, Buffer.from(lines.join('\n'))), uploaded,
          expected: /^> Expect: 100-continue/im.test(stderr), continued: /^< HTTP\/1\.1 100/m.test(stderr),
        };
      };
      const wrongRange = partHeaders(party, { 'content-range': `bytes 1-${PART}/${SIZE}` });
      const refused = await put(wrongRange);
      expect(refused.answer.status).toBe(416);
      expect(refused.answer.json).toMatchObject({ type: 'error', status: 416, code: 'requested_range_not_satisfiable' });
      expect(refused).toMatchObject({ expected: true, continued: false });
      expect(refused.uploaded, 'curl sent the body of a refused part').toBe(0);

      const accepted = await put(partHeaders(party, { 'content-range': `bytes 0-${PART - 1}/${SIZE}` }));
      expect(accepted.answer.status, accepted.answer.text).toBe(200);
      expect(accepted).toMatchObject({ expected: true, continued: true, uploaded: PART });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
