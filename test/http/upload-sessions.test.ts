import { request as httpRequest } from 'node:http';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdvancingClock, call, partRequest, randomData, sha1Base64, sha1Hex, startServer, type TestServer } from '../helpers/partway.js';

const PART = 64 * 1024;
const SIZE = 3 * PART + 1000; // four parts, the last one short

let server: TestServer;
let counter = 0;

beforeAll(async () => {
  server = await startServer({ basePartSize: String(PART), minChunkedSize: '100000' });
});
afterAll(() => server.close());

const uniqueName = () => `file-${++counter}.bin`;

async function createSession(size = SIZE, name = uniqueName(), base = server.upload, token = server.token) {
  const reply = await call('POST', `${base}/files/upload_sessions`, { token, json: { folder_id: '0', file_size: size, file_name: name } });
  expect(reply.status, reply.text).toBe(201);
  return reply.json as { id: string; part_size: number; total_parts: number; session_endpoints: Record<string, string> };
}

function putPart(sessionId: string, data: Buffer, offset: number, size: number, overrides: Record<string, string> = {}) {
  const request = partRequest(data, offset, size, server.token);
  return call('PUT', `${server.upload}/files/upload_sessions/${sessionId}`, { ...request, headers: { ...request.headers, ...overrides } });
}

async function uploadAll(sessionId: string, data: Buffer) {
  const parts = [];
  for (let offset = 0; offset < data.length; offset += PART) {
    const reply = await putPart(sessionId, data, offset, Math.min(PART, data.length - offset));
    expect(reply.status, reply.text).toBe(200);
    parts.push(reply.json.part);
  }
  return parts;
}

function commit(sessionId: string, data: Buffer, parts: unknown[], extra: { headers?: Record<string, string>; attributes?: unknown } = {}) {
  return call('POST', `${server.upload}/files/upload_sessions/${sessionId}/commit`, {
    token: server.token,
    headers: { digest: `sha=${sha1Base64(data)}`, ...extra.headers },
    json: extra.attributes === undefined ? { parts } : { parts, attributes: extra.attributes },
  });
}

async function download(fileId: string): Promise<Buffer> {
  const redirect = await call('GET', `${server.api}/files/${fileId}/content`, { token: server.token });
  expect(redirect.status).toBe(302);
  const { request } = await import('undici');
  const response = await request(String(redirect.headers.location));
  expect(response.statusCode).toBe(200);
  return Buffer.from(await response.body.arrayBuffer());
}

/** Where the disk store keeps this session's parts. */
async function uploadDir(sessionId: string): Promise<string> {
  const record = await server.partway.stores.metadata.getSession(sessionId);
  return join(server.dataDir, 'blobs', 'uploads', record!.uploadRef);
}

async function listParts(sessionId: string, query = '') {
  const reply = await call('GET', `${server.upload}/files/upload_sessions/${sessionId}/parts${query}`, { token: server.token });
  expect(reply.status, reply.text).toBe(200);
  return reply.json as { total_count: number; entries: Array<{ part_id: string; offset: number; size: number; sha1: string }>; offset: number; limit: number };
}

/** A raw request whose response headers keep the case the server wrote them in. */
function rawRequest(method: string, url: string, headers: Record<string, string>, body?: string | Buffer) {
  return new Promise<{ status: number; rawHeaders: string[]; text: string }>((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => { text += chunk; }).on('end', () => {
        resolve({ status: res.statusCode!, rawHeaders: res.rawHeaders, text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('creating an upload session', () => {
  it('answers 201 with every UploadSession field and absolute endpoints on the base the client used', async () => {
    const before = Date.now();
    const session = await createSession() as any;
    expect(session).toMatchObject({ type: 'upload_session', part_size: PART, total_parts: 4, num_parts_processed: 0 });
    expect(session.id).toMatch(/^[0-9A-F]{32}$/);
    const expires = Date.parse(session.session_expires_at);
    expect(expires - before).toBeGreaterThan(7 * 24 * 3600_000 - 5000);
    expect(expires - before).toBeLessThan(7 * 24 * 3600_000 + 5000);
    const url = `${server.upload}/files/upload_sessions/${session.id}`;
    expect(session.session_endpoints).toEqual({
      upload_part: url, commit: `${url}/commit`, abort: url, list_parts: `${url}/parts`, status: url, log_event: `${url}/log`,
    });
    const viaOneBase = await createSession(SIZE, uniqueName(), server.api);
    expect(viaOneBase.session_endpoints.upload_part).toBe(`${server.api}/files/upload_sessions/${viaOneBase.id}`);
  });

  it('chooses 8 MiB parts by default, doubled until the file needs at most 10,000 parts', async () => {
    const defaults = await startServer();
    try {
      const create = (size: number) => call('POST', `${defaults.upload}/files/upload_sessions`, {
        token: defaults.token, json: { folder_id: '0', file_size: size, file_name: `f${size}` },
      });
      const small = await create(31_457_280);
      expect(small.json).toMatchObject({ part_size: 8 * 1024 * 1024, total_parts: 4 });
      const huge = await create(100 * 1024 ** 3);
      expect(huge.json).toMatchObject({ part_size: 16 * 1024 * 1024, total_parts: 6400 });
      const tooSmall = await create(19_999_999);
      expect(tooSmall.status).toBe(400);
      expect(tooSmall.json.code).toBe('file_size_too_small');
      expect((await create(20_000_000)).status).toBe(201);
    } finally {
      await defaults.close();
    }
  });

  it.each([
    [{ file_size: SIZE, file_name: 'a' }, 400, 'missing_destination'],
    [{ folder_id: true, file_size: SIZE, file_name: 'a' }, 400, 'invalid_folder_id'],
    [{ folder_id: '0', file_name: 'a' }, 400, 'missing_file_size'],
    [{ folder_id: '0', file_size: -1, file_name: 'a' }, 400, 'invalid_file_size'],
    [{ folder_id: '0', file_size: '300000', file_name: 'a' }, 400, 'invalid_file_size'],
    [{ folder_id: '0', file_size: 1.5e5 + 0.5, file_name: 'a' }, 400, 'invalid_file_size'],
    [{ folder_id: '0', file_size: 2 ** 53, file_name: 'a' }, 400, 'invalid_file_size'],
    [{ folder_id: '0', file_size: SIZE }, 400, 'missing_file_name'],
    [{ folder_id: '0', file_size: 99_999, file_name: 'a' }, 400, 'file_size_too_small'],
    [{ folder_id: '0', file_size: SIZE, file_name: 'a/b' }, 400, 'item_name_invalid'],
    [{ folder_id: '0', file_size: SIZE, file_name: '..' }, 400, 'item_name_invalid'],
    [{ folder_id: '0', file_size: SIZE, file_name: ' lead' }, 400, 'item_name_invalid'],
    [{ folder_id: '0', file_size: SIZE, file_name: 'nul\u0000byte' }, 400, 'item_name_invalid'],
    [{ folder_id: '0', file_size: SIZE, file_name: 'x'.repeat(256) }, 400, 'item_name_too_long'],
    [{ folder_id: '987654', file_size: SIZE, file_name: 'a' }, 404, 'not_found'],
    [{ folder_id: '../0', file_size: SIZE, file_name: 'a' }, 404, 'not_found'],
  ])('refuses %j with %i %s', async (body, status, code) => {
    const reply = await call('POST', `${server.upload}/files/upload_sessions`, { token: server.token, json: body });
    expect(reply.status).toBe(status);
    expect(reply.json).toMatchObject({ type: 'error', status, code });
    expect(reply.json.request_id).toBe(reply.headers['box-request-id']);
  });

  it('answers 409 item_name_in_use with the existing file in context_info.conflicts, whatever the case', async () => {
    const data = randomData(SIZE);
    const session = await createSession(SIZE, 'Clash.bin');
    const file = (await commit(session.id, data, await uploadAll(session.id, data))).json.entries[0];
    const reply = await call('POST', `${server.upload}/files/upload_sessions`, {
      token: server.token, json: { folder_id: '0', file_size: SIZE, file_name: 'clash.BIN' },
    });
    expect(reply.status).toBe(409);
    expect(reply.json.code).toBe('item_name_in_use');
    expect(reply.json.context_info.conflicts).toMatchObject({ type: 'file', id: file.id, name: 'Clash.bin', sha1: sha1Hex(data) });
  });

  it("does not reveal another user's folder", async () => {
    const bob = await server.tokenFor('bob');
    const folder = await call('POST', `${server.api}/folders`, { token: bob, json: { name: 'bobs', parent: { id: '0' } } });
    expect(folder.status).toBe(201);
    const reply = await call('POST', `${server.upload}/files/upload_sessions`, {
      token: server.token, json: { folder_id: folder.json.id, file_size: SIZE, file_name: 'a' },
    });
    expect(reply.status).toBe(404);
  });

  it('answers 403 storage_limit_exceeded when sessions in progress would pass the quota', async () => {
    const limited = await startServer({ basePartSize: String(PART), minChunkedSize: '100000', storageQuota: String(2 * SIZE) });
    try {
      const create = (name: string) => call('POST', `${limited.upload}/files/upload_sessions`, {
        token: limited.token, json: { folder_id: '0', file_size: SIZE, file_name: name },
      });
      expect((await create('one')).status).toBe(201);
      expect((await create('two')).status).toBe(201);
      const third = await create('three');
      expect(third.status).toBe(403);
      expect(third.json.code).toBe('storage_limit_exceeded');
    } finally {
      await limited.close();
    }
  });
});

describe('uploading parts', () => {
  it('takes parts out of order and in parallel, answering exactly 200 with the part', async () => {
    const data = randomData(SIZE);
    const session = await createSession();
    const offsets = [3 * PART, PART, 0, 2 * PART];
    const replies = await Promise.all(offsets.map((offset) => putPart(session.id, data, offset, Math.min(PART, SIZE - offset))));
    for (const [index, reply] of replies.entries()) {
      const offset = offsets[index]!;
      const size = Math.min(PART, SIZE - offset);
      expect(reply.status).toBe(200);
      expect(reply.json).toEqual({ part: { part_id: expect.stringMatching(/^[0-9A-F]{8}$/), offset, size, sha1: sha1Hex(data.subarray(offset, offset + size)) } });
    }
    const listed = await listParts(session.id);
    expect(listed.total_count).toBe(4);
    expect(listed.entries.map((part) => part.offset)).toEqual([0, PART, 2 * PART, 3 * PART]);
    expect(new Set(listed.entries.map((part) => part.part_id)).size).toBe(4);
    const status = await call('GET', `${server.upload}/files/upload_sessions/${session.id}`, { token: server.token });
    expect(status.json.num_parts_processed).toBe(4);
  });

  it('accepts SHA= digests and chunked bodies without Content-Length', async () => {
    const data = randomData(SIZE);
    const session = await createSession();
    const bytes = data.subarray(0, PART);
    async function* chunked() {
      for (let at = 0; at < bytes.length; at += 5000) yield bytes.subarray(at, at + 5000);
    }
    const reply = await call('PUT', `${server.upload}/files/upload_sessions/${session.id}`, {
      token: server.token,
      headers: { 'content-range': `bytes 0-${PART - 1}/${SIZE}`, digest: `SHA=${sha1Base64(bytes)}` },
      body: chunked(),
    });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json.part.sha1).toBe(sha1Hex(bytes));
  });

  it('answers Expect: 100-continue before the body is sent', async () => {
    const data = randomData(SIZE);
    const session = await createSession();
    const bytes = data.subarray(PART, 2 * PART);
    const result = await new Promise<{ continued: boolean; status: number }>((resolve, reject) => {
      let continued = false;
      const req = httpRequest(`${server.upload}/files/upload_sessions/${session.id}`, {
        method: 'PUT',
        headers: {
          authorization: `Bearer ${server.token}`, expect: '100-continue', 'content-length': String(bytes.length),
          'content-range': `bytes ${PART}-${2 * PART - 1}/${SIZE}`, digest: `sha=${sha1Base64(bytes)}`,
        },
      }, (res) => {
        res.resume().on('end', () => resolve({ continued, status: res.statusCode! }));
      });
      req.on('continue', () => {
        continued = true;
        req.end(bytes);
      });
      req.on('error', reject);
    });
    expect(result).toEqual({ continued: true, status: 200 });
  });

  it.each([
    ['a start that is not a multiple of the part size', (s: number) => `bytes 1000-${1000 + PART - 1}/${s}`],
    ['a range shorter than a part', (s: number) => `bytes 0-${PART - 2}/${s}`],
    ['a range longer than a part', (s: number) => `bytes 0-${PART}/${s}`],
    ['a total that is not the file size', (s: number) => `bytes 0-${PART - 1}/${s + 1}`],
    ['a start beyond the file', (s: number) => `bytes ${4 * PART}-${5 * PART - 1}/${s}`],
    ['an end before the start', (s: number) => `bytes 100-0/${s}`],
  ])('answers 416 to %s and records nothing', async (_label, range) => {
    const data = randomData(SIZE);
    const session = await createSession();
    const reply = await putPart(session.id, data, 0, PART, { 'content-range': range(SIZE) });
    expect(reply.status).toBe(416);
    expect(reply.json.code).toBe('requested_range_not_satisfiable');
    expect((await listParts(session.id)).total_count).toBe(0);
  });

  it.each([
    ['shorter', PART - 10],
    ['longer', PART + 10],
  ])('answers 416 to a chunked body %s than its range, and stores nothing', async (_label, length) => {
    const data = randomData(SIZE + 10);
    const session = await createSession();
    const bytes = data.subarray(0, length);
    async function* chunked() {
      yield bytes;
    }
    const reply = await call('PUT', `${server.upload}/files/upload_sessions/${session.id}`, {
      token: server.token,
      headers: { 'content-range': `bytes 0-${PART - 1}/${SIZE}`, digest: `sha=${sha1Base64(data.subarray(0, PART))}` },
      body: chunked(),
    });
    expect(reply.status).toBe(416);
    expect((await listParts(session.id)).total_count).toBe(0);
    expect(await readdir(await uploadDir(session.id))).toEqual([]);
  });

  it('answers 416 when Content-Length disagrees with the range', async () => {
    const data = randomData(SIZE);
    const session = await createSession();
    const bytes = data.subarray(0, PART - 1);
    const reply = await call('PUT', `${server.upload}/files/upload_sessions/${session.id}`, {
      token: server.token,
      headers: { 'content-range': `bytes 0-${PART - 1}/${SIZE}`, digest: `sha=${sha1Base64(bytes)}` },
      body: bytes,
    });
    expect(reply.status).toBe(416);
  });

  it.each([
    ['no Digest', { digest: '' }],
    ['a Digest with another algorithm', { digest: 'md5=HUXZLQLMuI/KZ5KDcJPcOA==' }],
    ['a Digest that is not base64', { digest: 'sha=not*base64*at*all*here*xx=' }],
    ['a Digest of the wrong length', { digest: 'sha=AAAA' }],
    ['no Content-Range', { 'content-range': '' }],
    ['a Content-Range in other units', { 'content-range': `items 0-${PART - 1}/${SIZE}` }],
    ['a non-numeric Content-Range', { 'content-range': 'bytes a-b/c' }],
    ['a Content-Range past 2^53', { 'content-range': 'bytes 0-99999999999999999/99999999999999999' }],
  ])('answers 400 bad_request to %s', async (_label, headers) => {
    const data = randomData(SIZE);
    const session = await createSession();
    const request = partRequest(data, 0, PART, server.token);
    const merged: Record<string, string> = { ...request.headers, ...headers };
    for (const key of Object.keys(merged)) if (merged[key] === '') delete merged[key];
    const reply = await call('PUT', `${server.upload}/files/upload_sessions/${session.id}`, { token: server.token, headers: merged, body: request.body });
    expect(reply.status).toBe(400);
    expect(reply.json.code).toBe('bad_request');
    expect((await listParts(session.id)).total_count).toBe(0);
  });

  it('answers 400 digest_mismatch when the bytes do not match the Digest, and records nothing', async () => {
    const data = randomData(SIZE);
    const session = await createSession();
    const reply = await putPart(session.id, data, 0, PART, { digest: `sha=${sha1Base64(Buffer.from('other'))}` });
    expect(reply.status).toBe(400);
    expect(reply.json.code).toBe('digest_mismatch');
    expect((await listParts(session.id)).total_count).toBe(0);
  });

  it('answers 200 with the stored part to a byte-identical retry, and 416 range_overlaps_existing_part to other bytes', async () => {
    const data = randomData(SIZE);
    const other = randomData(SIZE);
    const session = await createSession();
    const first = await putPart(session.id, data, 0, PART);
    const retry = await putPart(session.id, data, 0, PART);
    expect(retry.status).toBe(200);
    expect(retry.json).toEqual(first.json);
    const overlap = await putPart(session.id, other, 0, PART);
    expect(overlap.status).toBe(416);
    expect(overlap.json.code).toBe('range_overlaps_existing_part');
    expect(overlap.json.context_info.conflicting_part).toEqual(first.json.part);
    expect((await listParts(session.id)).total_count).toBe(1);
  });

  it('stores exactly one part when two uploads of the same range race, and keeps the winner\'s bytes', async () => {
    const data = randomData(SIZE);
    const rival = Buffer.from(data);
    rival.fill(7, 0, PART);
    const session = await createSession();
    const [a, b] = await Promise.all([putPart(session.id, data, 0, PART), putPart(session.id, rival, 0, PART)]);
    expect([a.status, b.status].sort()).toEqual([200, 416]);
    const winner = a.status === 200 ? data : rival;
    const listed = await listParts(session.id);
    expect(listed.total_count).toBe(1);
    const parts = [listed.entries[0]!, ...(await Promise.all([PART, 2 * PART, 3 * PART].map(
      async (offset) => (await putPart(session.id, winner, offset, Math.min(PART, SIZE - offset))).json.part)))];
    const committed = await commit(session.id, winner, parts);
    expect(committed.status, committed.text).toBe(201);
    expect(sha1Hex(await download(committed.json.entries[0].id))).toBe(sha1Hex(winner));
  });

  it('stores one part when the same bytes are sent twice at once', async () => {
    const data = randomData(SIZE);
    const session = await createSession();
    const replies = await Promise.all([putPart(session.id, data, PART, PART), putPart(session.id, data, PART, PART)]);
    expect(replies.map((reply) => reply.status)).toEqual([200, 200]);
    expect(replies[0]!.json).toEqual(replies[1]!.json);
    expect((await listParts(session.id)).total_count).toBe(1);
  });
});

describe('reading sessions and parts', () => {
  it('pages the parts by offset and limit, clamps the limit to 1000 and refuses offsets past 10000', async () => {
    const data = randomData(SIZE);
    const session = await createSession();
    await uploadAll(session.id, data);
    const page = await listParts(session.id, '?offset=1&limit=2');
    expect(page).toMatchObject({ total_count: 4, offset: 1, limit: 2 });
    expect(page.entries.map((part) => part.offset)).toEqual([PART, 2 * PART]);
    expect((await listParts(session.id, '?limit=5000')).limit).toBe(1000);
    for (const query of ['?offset=10001', '?offset=-1', '?limit=abc', '?limit=0']) {
      const reply = await call('GET', `${server.upload}/files/upload_sessions/${session.id}/parts${query}`, { token: server.token });
      expect(reply.status, query).toBe(400);
    }
  });

  it('answers 400 invalid_upload_session_id to a malformed id and 404 to an unknown one', async () => {
    for (const id of ['xyz', 'G'.repeat(32), '..%2F..%2Fetc', 'A'.repeat(33)]) {
      const reply = await call('GET', `${server.upload}/files/upload_sessions/${id}`, { token: server.token });
      expect(reply.status, id).toBe(400);
      expect(reply.json.code).toBe('invalid_upload_session_id');
    }
    const unknown = await call('GET', `${server.upload}/files/upload_sessions/${'A'.repeat(32)}`, { token: server.token });
    expect(unknown.status).toBe(404);
    expect(unknown.json.code).toBe('not_found');
  });

  it("answers 404 to another user's session on every route", async () => {
    const session = await createSession();
    const bob = await server.tokenFor('bob-sessions');
    const url = `${server.upload}/files/upload_sessions/${session.id}`;
    for (const [method, path] of [['GET', ''], ['GET', '/parts'], ['DELETE', ''], ['POST', '/log']] as const) {
      expect((await call(method, `${url}${path}`, { token: bob })).status).toBe(404);
    }
    const data = randomData(SIZE);
    const put = await call('PUT', url, { ...partRequest(data, 0, PART, bob) });
    expect(put.status).toBe(404);
    const commitReply = await call('POST', `${url}/commit`, { token: bob, headers: { digest: `sha=${sha1Base64(data)}` }, json: { parts: [] } });
    expect(commitReply.status).toBe(404);
  });

  it('accepts log events', async () => {
    const session = await createSession();
    const reply = await call('POST', session.session_endpoints.log_event!, { token: server.token, json: { event_type: 'part_failure', event_info: '{}' } });
    expect(reply.status).toBe(204);
  });
});

describe('committing', () => {
  it('answers exactly 201 with one File typed as Box types it, and the file downloads byte for byte', async () => {
    const data = randomData(SIZE);
    const name = uniqueName();
    const session = await createSession(SIZE, name);
    const parts = await uploadAll(session.id, data);
    const reply = await commit(session.id, data, parts, { attributes: { content_modified_at: '2017-04-08T00:58:08Z', content_created_at: '2016-01-02T03:04:05-08:00' } });
    expect(reply.status).toBe(201);
    expect(reply.json.total_count).toBe(1);
    const file = reply.json.entries[0];
    expect(file).toMatchObject({
      type: 'file', name, size: SIZE, sha1: sha1Hex(data), etag: '0', sequence_id: '0', item_status: 'active',
      description: '', trashed_at: null, purged_at: null, shared_link: null,
      file_version: { type: 'file_version', sha1: sha1Hex(data) },
      parent: { type: 'folder', id: '0' },
      path_collection: { total_count: 1, entries: [{ type: 'folder', id: '0', name: 'All Files' }] },
      content_modified_at: '2017-04-08T00:58:08Z', content_created_at: '2016-01-02T11:04:05Z',
      owned_by: { type: 'user', name: 'alice' },
    });
    expect(typeof file.id).toBe('string');
    expect(typeof file.file_version.id).toBe('string');
    expect(sha1Hex(await download(file.id))).toBe(sha1Hex(data));
  });

  it('accepts parts listed without sha1 and part_id, in any order', async () => {
    const data = randomData(SIZE);
    const session = await createSession();
    const parts = (await uploadAll(session.id, data)).map(({ offset, size }) => ({ offset, size })).reverse();
    expect((await commit(session.id, data, parts)).status).toBe(201);
  });

  it('answers 400 digest_mismatch to a wrong whole-file digest and keeps the session usable', async () => {
    const data = randomData(SIZE);
    const session = await createSession();
    const parts = await uploadAll(session.id, data);
    const wrong = await commit(session.id, data, parts, { headers: { digest: `sha=${sha1Base64(Buffer.from('nope'))}` } });
    expect(wrong.status).toBe(400);
    expect(wrong.json.code).toBe('digest_mismatch');
    const status = await call('GET', `${server.upload}/files/upload_sessions/${session.id}`, { token: server.token });
    expect(status.status).toBe(200);
    expect((await commit(session.id, data, parts)).status).toBe(201);
  });

  it('answers 400 to a commit without a Digest', async () => {
    const data = randomData(SIZE);
    const session = await createSession();
    const parts = await uploadAll(session.id, data);
    const reply = await commit(session.id, data, parts, { headers: { digest: '' } });
    expect(reply.status).toBe(400);
  });

  it('answers 400 parts_mismatch when the list misses a part, names one never uploaded, or differs from what is stored', async () => {
    const data = randomData(SIZE);
    const session = await createSession();
    const parts = await uploadAll(session.id, data);
    const cases = [
      parts.slice(1),
      [...parts, { ...parts[0], offset: 4 * PART }],
      parts.map((part, index) => (index === 1 ? { ...part, sha1: '0'.repeat(40) } : part)),
      parts.map((part, index) => (index === 1 ? { ...part, part_id: '00000000' } : part)),
      [parts[0], parts[0], parts[2], parts[3]],
    ];
    for (const listed of cases) {
      const reply = await commit(session.id, data, listed);
      expect(reply.status, JSON.stringify(listed)).toBe(400);
      expect(reply.json.code).toBe('parts_mismatch');
    }
    const incomplete = await createSession();
    const some = (await uploadAll(incomplete.id, data)).slice(0, 3);
    const missing = await commit(incomplete.id, data, [...some, { offset: 3 * PART, size: SIZE - 3 * PART }]);
    expect(missing.status).toBe(201); // the last part was uploaded by uploadAll; the listed size matches
  });

  it('answers a replayed commit with the same 201, and two racing commits make one file', async () => {
    const data = randomData(SIZE);
    const name = uniqueName();
    const session = await createSession(SIZE, name);
    const parts = await uploadAll(session.id, data);
    const [a, b] = await Promise.all([commit(session.id, data, parts), commit(session.id, data, parts)]);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.json.entries[0].id).toBe(b.json.entries[0].id);
    const replay = await commit(session.id, data, parts);
    expect(replay.status).toBe(201);
    expect(replay.json.entries[0]).toEqual(a.json.entries[0]);
    const items = await call('GET', `${server.api}/folders/0/items?limit=1000`, { token: server.token });
    expect(items.json.entries.filter((item: { name: string }) => item.name === name)).toHaveLength(1);
  });

  it('answers 202 with a Title-Case Retry-After while a listed part is still being written', async () => {
    const data = randomData(SIZE);
    const session = await createSession();
    const lastOffset = 3 * PART;
    const parts = [];
    for (const offset of [0, PART, 2 * PART]) parts.push((await putPart(session.id, data, offset, PART)).json.part);
    // Start the last part but hold back its final byte, so it stays in flight.
    const lastBytes = data.subarray(lastOffset);
    const slow = httpRequest(`${server.upload}/files/upload_sessions/${session.id}`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${server.token}`, 'content-length': String(lastBytes.length),
        'content-range': `bytes ${lastOffset}-${SIZE - 1}/${SIZE}`, digest: `sha=${sha1Base64(lastBytes)}`,
      },
    });
    const slowDone = new Promise<number>((resolve) => slow.on('response', (res) => { res.resume(); resolve(res.statusCode!); }));
    slow.write(lastBytes.subarray(0, lastBytes.length - 1));
    const listed = [...parts, { offset: lastOffset, size: lastBytes.length, sha1: sha1Hex(lastBytes) }];
    let reply;
    for (let attempt = 0; attempt < 50; attempt++) {
      reply = await rawRequest('POST', `${server.upload}/files/upload_sessions/${session.id}/commit`, {
        authorization: `Bearer ${server.token}`, 'content-type': 'application/json', digest: `sha=${sha1Base64(data)}`,
      }, JSON.stringify({ parts: listed }));
      if (reply.status === 202) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(reply!.status).toBe(202);
    expect(reply!.rawHeaders).toContain('Retry-After');
    slow.end(lastBytes.subarray(lastBytes.length - 1));
    expect(await slowDone).toBe(200);
    expect((await commit(session.id, data, listed)).status).toBe(201);
  });

  it('uploads a new version with If-Match, and answers 412 when the etag is stale', async () => {
    const data = randomData(SIZE);
    const session = await createSession();
    const file = (await commit(session.id, data, await uploadAll(session.id, data))).json.entries[0];

    const version = randomData(SIZE + 5);
    const openVersion = () => call('POST', `${server.upload}/files/${file.id}/upload_sessions`, { token: server.token, json: { file_size: version.length } });
    const first = await openVersion();
    expect(first.status).toBe(201);
    const stale = await openVersion();
    const firstParts = await uploadAll(first.json.id, version);
    const committed = await commit(first.json.id, version, firstParts, { headers: { 'if-match': '0' } });
    expect(committed.status, committed.text).toBe(201);
    expect(committed.json.entries[0]).toMatchObject({ id: file.id, etag: '1', size: version.length, sha1: sha1Hex(version) });
    expect(committed.json.entries[0].file_version.id).not.toBe(file.file_version.id);
    expect(sha1Hex(await download(file.id))).toBe(sha1Hex(version));

    const staleParts = await uploadAll(stale.json.id, version);
    const refused = await commit(stale.json.id, version, staleParts, { headers: { 'if-match': '0' } });
    expect(refused.status).toBe(412);
    expect(refused.json.code).toBe('precondition_failed');

    const unknown = await call('POST', `${server.upload}/files/99999999/upload_sessions`, { token: server.token, json: { file_size: SIZE } });
    expect(unknown.status).toBe(404);
  });

  it('answers 409 when the name was taken between create and commit, and the session stays usable', async () => {
    const data = randomData(SIZE);
    const name = uniqueName();
    const late = await createSession(SIZE, name);
    const early = await createSession(SIZE, name);
    expect((await commit(early.id, data, await uploadAll(early.id, data))).status).toBe(201);
    const parts = await uploadAll(late.id, data);
    const reply = await commit(late.id, data, parts);
    expect(reply.status).toBe(409);
    expect(reply.json.code).toBe('item_name_in_use');
    expect((await call('GET', `${server.upload}/files/upload_sessions/${late.id}`, { token: server.token })).status).toBe(200);
  });
});

describe('aborting and expiry', () => {
  it('aborts with 204, then answers 404, and reclaims the bytes', async () => {
    const data = randomData(SIZE);
    const session = await createSession();
    await uploadAll(session.id, data);
    const url = `${server.upload}/files/upload_sessions/${session.id}`;
    expect((await call('DELETE', url, { token: server.token, headers: { 'content-type': 'application/json' } })).status).toBe(204);
    expect((await call('GET', url, { token: server.token })).status).toBe(404);
    expect((await putPart(session.id, data, 0, PART)).status).toBe(404);
    expect((await call('DELETE', url, { token: server.token })).status).toBe(404);
    await server.partway.janitor.sweep();
    await expect(readdir(await uploadDir(session.id))).rejects.toThrow(/ENOENT/);
  });

  it('answers 204 to an abort after commit and keeps the file', async () => {
    const data = randomData(SIZE);
    const session = await createSession();
    const file = (await commit(session.id, data, await uploadAll(session.id, data))).json.entries[0];
    expect((await call('DELETE', `${server.upload}/files/upload_sessions/${session.id}`, { token: server.token })).status).toBe(204);
    await server.partway.janitor.sweep();
    expect(sha1Hex(await download(file.id))).toBe(sha1Hex(data));
  });

  it('answers 410 session_expired after the lifetime, and the sweeper deletes the bytes', async () => {
    const clock = new AdvancingClock();
    const short = await startServer({ basePartSize: String(PART), minChunkedSize: '100000', sessionLifetime: '1' }, { now: clock.now });
    try {
      const data = randomData(SIZE);
      const created = await call('POST', `${short.upload}/files/upload_sessions`, {
        token: short.token, json: { folder_id: '0', file_size: SIZE, file_name: 'soon-gone' },
      });
      const url = `${short.upload}/files/upload_sessions/${created.json.id}`;
      expect((await call('PUT', url, partRequest(data, 0, PART, short.token))).status).toBe(200);
      const uploadsDir = join(short.dataDir, 'blobs', 'uploads');
      expect((await readdir(uploadsDir)).length).toBe(1);
      clock.advance(1100);
      const reply = await call('PUT', url, partRequest(data, PART, PART, short.token));
      expect(reply.status).toBe(410);
      expect(reply.json.code).toBe('session_expired');
      expect((await call('GET', url, { token: short.token })).status).toBe(410);
      const swept = await short.partway.janitor.sweep();
      expect(swept).toEqual({ expired: 1, reclaimed: 1 });
      expect(await readdir(uploadsDir)).toEqual([]);
      expect((await call('GET', url, { token: short.token })).status).toBe(410);
    } finally {
      await short.close();
    }
  });
});
