import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { randomData, sha1Base64, sha1Hex, startServer, type TestServer } from '../helpers/partway.js';
import {
  crashRecorder, expectBoxError, expectBoxErrorOrParserRefusal, expectParserRefusal, rawExchange, send, wire, type Answer,
} from '../helpers/security.js';
import { fetchAnswer, writeFirstThenRead } from '../helpers/write-first.js';

/**
 * Malformed requests on every route: each gets Box's error with the right status and code, never a
 * 5xx, a crash or a hang, and a rejected request changes nothing that is stored.
 */

const PART = 64 * 1024;
const SIZE = 3 * PART + 1000; // four parts, the last one short
const SLOT2 = 2 * PART; // an empty slot the malformed parts aim at
const LAST2 = 3 * PART - 1;
const BOUNDARY = 'partway-hostile';

let server: TestServer;
let data: Buffer;
let refFile: { id: string; sha1: string };
let counter = 0;
const crashes = crashRecorder();

beforeAll(async () => {
  crashes.start();
  server = await startServer({ basePartSize: String(PART), minChunkedSize: '100000' });
  data = randomData(SIZE);
  const session = await createSession('reference.bin');
  for (let offset = 0; offset < SIZE; offset += PART) expect((await putSlot(session, offset)).status).toBe(200);
  const committed = await commit(session, { digest: `sha=${sha1Base64(data)}`, body: JSON.stringify({ parts: await storedParts(session) }) });
  expect(committed.status, committed.text).toBe(201);
  refFile = { id: committed.json.entries[0].id, sha1: sha1Hex(data) };
});
afterAll(async () => {
  crashes.stop();
  await server.close();
});
afterEach(() => crashes.check());

const uniqueName = (stem = 'file') => `${stem}-${++counter}.bin`;
const sessionUrl = (id: string, rest = '') => `${server.upload}/files/upload_sessions/${id}${rest}`;
const json = (body: unknown) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function createSession(name = uniqueName(), folderId = '0'): Promise<string> {
  const reply = await send('POST', `${server.upload}/files/upload_sessions`, { token: server.token, ...json({ folder_id: folderId, file_size: SIZE, file_name: name }) });
  expect(reply.status, reply.text).toBe(201);
  return reply.json.id as string;
}

/** The headers of a correct part at `offset` of `data`. */
function slotHeaders(offset: number): Record<string, string> {
  const size = Math.min(PART, SIZE - offset);
  return {
    'content-type': 'application/octet-stream',
    'content-range': `bytes ${offset}-${offset + size - 1}/${SIZE}`,
    digest: `sha=${sha1Base64(data.subarray(offset, offset + size))}`,
  };
}

const slotBytes = (offset: number) => data.subarray(offset, offset + Math.min(PART, SIZE - offset));

/** A part of `data` at `offset`; `overrides` replace headers (undefined removes one). */
function putSlot(sessionId: string, offset: number, overrides: Record<string, string | string[] | undefined> = {}, body: Buffer = slotBytes(offset), token = server.token) {
  const headers: Record<string, string | string[]> = { ...slotHeaders(offset) };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete headers[name];
    else headers[name] = value;
  }
  return send('PUT', sessionUrl(sessionId), { token, headers, body });
}

/** A full Box part (8 MiB): a client that writes it all before reading needs the server to take it in, or discard it. */
const FULL_PART = randomData(8 * 1024 * 1024);

/**
 * A malformed part (slot 2's headers with `overrides`; undefined removes one) sent through Node's fetch
 * and through a socket that writes the whole request before it reads: each must get the Box error, and
 * nothing is stored.
 */
async function expectEarlyAnswers(overrides: Record<string, string | undefined>, expected: { status: number; code: string }, label: string,
  body: Buffer = FULL_PART): Promise<void> {
  const session = await freshSession();
  const headers: Record<string, string> = { authorization: `Bearer ${server.token}`, ...slotHeaders(SLOT2) };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete headers[name];
    else headers[name] = value;
  }
  expectBoxError(await fetchAnswer(sessionUrl(session.id), { method: 'PUT', headers, body }), expected, `${label} (fetch)`);
  const raw = await writeFirstThenRead(server.url, [{ method: 'PUT', path: new URL(sessionUrl(session.id)).pathname, headers, body }]);
  expect(raw.writeError, `${label}: the connection was reset while the body was written`).toBeUndefined();
  expectBoxError(raw.answers[0] ?? { status: 0, headers: {}, bytes: Buffer.alloc(0), text: 'no answer', json: undefined }, expected, `${label} (written first)`);
  expect(await storedParts(session.id), label).toEqual(session.parts);
}

async function storedParts(sessionId: string): Promise<Array<{ part_id: string; offset: number; size: number; sha1: string }>> {
  const reply = await send('GET', sessionUrl(sessionId, '/parts?limit=1000'), { token: server.token });
  expect(reply.status, reply.text).toBe(200);
  return reply.json.entries;
}

/** A session holding one good part (slot 0), and what GET parts says about it. */
async function freshSession(): Promise<{ id: string; parts: unknown[] }> {
  const id = await createSession();
  const first = await putSlot(id, 0);
  expect(first.status, first.text).toBe(200);
  return { id, parts: await storedParts(id) };
}

function commit(sessionId: string, options: { digest?: string | string[]; body?: string; contentType?: string; token?: string } = {}) {
  const headers: Record<string, string | string[]> = { 'content-type': options.contentType ?? 'application/json' };
  if (options.digest !== undefined) headers.digest = options.digest;
  return send('POST', sessionUrl(sessionId, '/commit'), { token: options.token ?? server.token, headers, body: options.body ?? '' });
}

async function download(fileId: string): Promise<Buffer> {
  const redirect = await send('GET', `${server.api}/files/${fileId}/content`, { token: server.token });
  expect(redirect.status, redirect.text).toBe(302);
  const content = await send('GET', String(redirect.headers.location));
  expect(content.status).toBe(200);
  return content.bytes;
}

/** A request exactly as written, for what node:http refuses to send (lying lengths, control bytes). */
function rawRequest(method: string, path: string, headerLines: string[], body: Buffer | string = ''): Buffer {
  const head = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...headerLines].join('\r\n');
  return Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), typeof body === 'string' ? Buffer.from(body, 'latin1') : body]);
}

function rawPartHeaders(offset: number, overrides: Record<string, string> = {}): string[] {
  const headers: Record<string, string> = { authorization: `Bearer ${server.token}`, ...slotHeaders(offset), ...overrides };
  return Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
}

const arabicIndic = (n: number) => String(n).replace(/[0-9]/g, (digit) => String.fromCharCode(0x0660 + Number(digit)));
const fullwidth = (n: number) => String(n).replace(/[0-9]/g, (digit) => String.fromCharCode(0xff10 + Number(digit)));
const base64Of = (length: number) => randomData(length).toString('base64');

describe('PUT part with a broken Content-Range', () => {
  const BROKEN_RANGES: Array<[string, number, string, string]> = [
    ['an empty value', 400, 'bad_request', ''],
    ['only the unit', 400, 'bad_request', 'bytes'],
    ['the Range syntax (bytes=a-b/total)', 400, 'bad_request', `bytes=${SLOT2}-${LAST2}/${SIZE}`],
    ['no total', 400, 'bad_request', `bytes ${SLOT2}-${LAST2}`],
    ['an unknown total (*)', 400, 'bad_request', `bytes ${SLOT2}-${LAST2}/*`],
    ['the unsatisfied-range form', 400, 'bad_request', `bytes */${SIZE}`],
    ['a negative start', 400, 'bad_request', `bytes -${SLOT2}-${LAST2}/${SIZE}`],
    ['a negative end', 400, 'bad_request', `bytes ${SLOT2}--1/${SIZE}`],
    ['a negative total', 400, 'bad_request', `bytes ${SLOT2}-${LAST2}/-${SIZE}`],
    ['non-numeric positions', 400, 'bad_request', 'bytes a-b/c'],
    ['hexadecimal positions', 400, 'bad_request', `bytes 0x${SLOT2.toString(16)}-${LAST2}/${SIZE}`],
    ['exponent notation', 400, 'bad_request', `bytes 1.31072e5-${LAST2}/${SIZE}`],
    ['a plus sign', 400, 'bad_request', `bytes +${SLOT2}-${LAST2}/${SIZE}`],
    ['fractions', 400, 'bad_request', `bytes ${SLOT2}.0-${LAST2}.0/${SIZE}`],
    ['positions of 2^53 and above', 400, 'bad_request', 'bytes 9007199254740992-9007199254740993/9007199254740994'],
    ['a total of 2^53', 400, 'bad_request', `bytes 0-${PART - 1}/9007199254740992`],
    ['positions past 2^64', 400, 'bad_request', 'bytes 18446744073709551616-18446744073709551617/18446744073709551618'],
    ['a thousand digits', 400, 'bad_request', `bytes ${'9'.repeat(1000)}-${'9'.repeat(1000)}/${'9'.repeat(1000)}`],
    ['Arabic-Indic digits (UTF-8)', 400, 'bad_request', wire(`bytes ${arabicIndic(SLOT2)}-${arabicIndic(LAST2)}/${arabicIndic(SIZE)}`)],
    ['fullwidth digits (UTF-8)', 400, 'bad_request', wire(`bytes ${fullwidth(SLOT2)}-${fullwidth(LAST2)}/${fullwidth(SIZE)}`)],
    ['another unit', 400, 'bad_request', `items ${SLOT2}-${LAST2}/${SIZE}`],
    ['no space after the unit', 400, 'bad_request', `bytes${SLOT2}-${LAST2}/${SIZE}`],
    ['spaces around the dash', 400, 'bad_request', `bytes ${SLOT2} - ${LAST2}/${SIZE}`],
    ['a tab after the unit', 400, 'bad_request', `bytes\t${SLOT2}-${LAST2}/${SIZE}`],
    ['two ranges in one value', 400, 'bad_request', `bytes ${SLOT2}-${LAST2}/${SIZE}, bytes 0-${PART - 1}/${SIZE}`],
    ['an en dash', 400, 'bad_request', wire(`bytes ${SLOT2}\u2013${LAST2}/${SIZE}`)],
    ['a 15 KB value', 400, 'bad_request', `bytes ${'1'.repeat(15_000)}-1/1`],
    ['the largest safe integers (no session is that big)', 416, 'requested_range_not_satisfiable', `bytes 0-${PART - 1}/9007199254740991`],
    ['an end before the start', 416, 'requested_range_not_satisfiable', `bytes ${LAST2}-${SLOT2}/${SIZE}`],
    ['a range off the part grid', 416, 'requested_range_not_satisfiable', `bytes ${SLOT2 + 1}-${LAST2 + 1}/${SIZE}`],
    ['a range past the end of the file', 416, 'requested_range_not_satisfiable', `bytes ${4 * PART}-${5 * PART - 1}/${SIZE}`],
  ];
  it.each(BROKEN_RANGES)('answers %s with %i %s and stores nothing', async (label, status, code, contentRange) => {
    const session = await freshSession();
    const reply = await putSlot(session.id, SLOT2, { 'content-range': contentRange });
    expectBoxError(reply, { status, code }, label);
    expect(await storedParts(session.id)).toEqual(session.parts);
  });

  it('answers 400 to no Content-Range at all and stores nothing', async () => {
    const session = await freshSession();
    expectBoxError(await putSlot(session.id, SLOT2, { 'content-range': undefined }), { status: 400, code: 'bad_request' });
    expect(await storedParts(session.id)).toEqual(session.parts);
  });

  it.each([...BROKEN_RANGES, ['no Content-Range at all', 400, 'bad_request', undefined] as const])(
    'answers %s with %i %s through fetch and a client that writes a whole 8 MiB body first', async (label, status, code, contentRange) => {
      await expectEarlyAnswers({ 'content-range': contentRange }, { status, code }, label);
    });

  it('answers 400 to a repeated Content-Range header, even with the same correct value twice', async () => {
    const session = await freshSession();
    const range = slotHeaders(SLOT2)['content-range']!;
    expectBoxError(await putSlot(session.id, SLOT2, { 'content-range': [range, range] }), { status: 400, code: 'bad_request' });
    expectBoxError(await putSlot(session.id, SLOT2, { 'content-range': [range, `bytes 0-${PART - 1}/${SIZE}`] }), { status: 400, code: 'bad_request' });
    expect(await storedParts(session.id)).toEqual(session.parts);
  });

  it('is refused by Node\'s HTTP parser (431, before the app) when the value is 100 KB, and stores nothing', async () => {
    // Node's parser limits all headers to 16 KB together; the app answers its refusal with Box's 431.
    const session = await freshSession();
    expectParserRefusal(await putSlot(session.id, SLOT2, { 'content-range': `bytes ${'1'.repeat(100_000)}-1/1` }));
    expect(await storedParts(session.id)).toEqual(session.parts);
  });

  it('is refused by Node\'s HTTP parser (400, before the app) when the value holds a NUL or a bare CR', async () => {
    const session = await freshSession();
    for (const bad of [`bytes ${SLOT2}\u0000-${LAST2}/${SIZE}`, `bytes ${SLOT2}-${LAST2}\r/${SIZE}`]) {
      const reply = await rawExchange(server.url, rawRequest('PUT', `/api/2.0/files/upload_sessions/${session.id}`,
        rawPartHeaders(SLOT2, { 'content-range': bad, 'content-length': String(PART) }), slotBytes(SLOT2)));
      expectParserRefusal(reply, JSON.stringify(bad));
    }
    expect(await storedParts(session.id)).toEqual(session.parts);
  });
});

describe('PUT part with a broken Digest', () => {
  const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest('base64');
  const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('base64');

  const BROKEN_DIGESTS: Array<[string, string, (bytes: Buffer) => string]> = [
    ['an empty value', 'bad_request', () => ''],
    ['only the algorithm and =', 'bad_request', () => 'sha='],
    ['no = at all', 'bad_request', () => 'sha'],
    ['MD5 only', 'bad_request', (bytes) => `md5=${md5(bytes)}`],
    ['SHA-256 only', 'bad_request', (bytes) => `sha-256=${sha256(bytes)}`],
    ['SHA-256 under the name sha', 'bad_request', (bytes) => `sha=${sha256(bytes)}`],
    ['an unknown algorithm with the right SHA-1', 'bad_request', (bytes) => `sha1=${sha1Base64(bytes)}`],
    ['bad base64', 'bad_request', () => 'sha=not*base64*at*all*here*xx='],
    ['base64 of 19 bytes', 'bad_request', () => `sha=${base64Of(19)}`],
    ['base64 of 21 bytes', 'bad_request', () => `sha=${base64Of(21)}`],
    ['the SHA-1 in hex', 'bad_request', (bytes) => `sha=${sha1Hex(bytes)}`],
    ['the SHA-1 with junk after it', 'bad_request', (bytes) => `sha=${sha1Base64(bytes)}x`],
    ['the SHA-1 in base64url without padding', 'bad_request', (bytes) => `sha=${createHash('sha1').update(bytes).digest('base64url')}`],
    ['Unicode (UTF-8)', 'bad_request', () => wire('sha=ÄÖÜäöüß文件文件文件文件文件文件文件文件=')],
    ['a 15 KB value', 'bad_request', () => `sha=${'A'.repeat(15_000)}=`],
    ['the SHA-1 of other bytes', 'digest_mismatch', () => `sha=${sha1Base64(Buffer.from('other bytes'))}`],
    ['the SHA-1 of the whole file', 'digest_mismatch', () => `sha=${sha1Base64(data)}`],
  ];
  it.each(BROKEN_DIGESTS)('answers %s with 400 %s and stores nothing', async (label, code, digest) => {
    const session = await freshSession();
    const reply = await putSlot(session.id, SLOT2, { digest: digest(slotBytes(SLOT2)) });
    expectBoxError(reply, { status: 400, code }, label);
    expect(await storedParts(session.id)).toEqual(session.parts);
  });

  it('answers 400 to no Digest at all and stores nothing', async () => {
    const session = await freshSession();
    expectBoxError(await putSlot(session.id, SLOT2, { digest: undefined }), { status: 400, code: 'bad_request' });
    expect(await storedParts(session.id)).toEqual(session.parts);
  });

  it.each([...BROKEN_DIGESTS, ['no Digest at all', 'bad_request', () => undefined] as const])(
    'answers %s with 400 %s through fetch and a client that writes its whole body first', async (label, code, digest) => {
      // A digest that parses is checked against the slot's own bytes; the others are refused before any byte.
      const body = code === 'digest_mismatch' ? slotBytes(SLOT2) : FULL_PART;
      await expectEarlyAnswers({ digest: digest(slotBytes(SLOT2)) }, { status: 400, code }, label, body);
    });

  it('answers 400 to two Digest headers naming different SHA-1s, whichever comes first, and stores nothing', async () => {
    const right = `sha=${sha1Base64(slotBytes(SLOT2))}`;
    const wrong = `sha=${sha1Base64(Buffer.from('not these bytes'))}`;
    for (const digests of [[right, wrong], [wrong, right]]) {
      const session = await freshSession();
      const reply = await putSlot(session.id, SLOT2, { digest: digests });
      expectBoxError(reply, { status: 400, code: ['bad_request', 'digest_mismatch'] }, digests.join(' | '));
      expect(await storedParts(session.id), digests.join(' | ')).toEqual(session.parts);
    }
  });

  it('never changes a stored part when the same Digest header comes twice', async () => {
    const session = await freshSession();
    const digest = slotHeaders(0).digest!;
    const reply = await putSlot(session.id, 0, { digest: [digest, digest] });
    if (reply.status === 200) expect(reply.json.part).toEqual(session.parts[0]);
    else expectBoxError(reply, { status: 400, code: 'bad_request' });
    expect(await storedParts(session.id)).toEqual(session.parts);
  });

  it('is refused by Node\'s HTTP parser (431) when the value is 100 KB, and stores nothing', async () => {
    const session = await freshSession();
    expectParserRefusal(await putSlot(session.id, SLOT2, { digest: `sha=${'A'.repeat(100_000)}` }));
    expect(await storedParts(session.id)).toEqual(session.parts);
  });
});

describe('PUT part with a Content-Length that lies', () => {
  const path = (id: string) => `/api/2.0/files/upload_sessions/${id}`;

  it.each<[string, number]>([
    ['shorter than the range (and a body that long)', PART - 1],
    ['longer than the range (and a body that long)', PART + 1],
    ['zero', 0],
  ])('answers 416 to a Content-Length %s, and stores nothing', async (_label, length) => {
    const session = await freshSession();
    const body = Buffer.concat([slotBytes(SLOT2), randomData(8)]).subarray(0, length);
    const reply = await rawExchange(server.url, rawRequest('PUT', path(session.id), rawPartHeaders(SLOT2, { 'content-length': String(length) }), body));
    expectBoxError(reply, { status: 416, code: 'requested_range_not_satisfiable' });
    expect(await storedParts(session.id)).toEqual(session.parts);
  });

  it.each<[string, string]>([
    ['2^53 + 1 (16 digits)', '9007199254740993'],
    ['17 digits (Node\'s parser takes up to 2^64 - 1)', '12345678901234567'],
    ['2^64 - 1', '18446744073709551615'],
  ])('answers 416 at once, without waiting for the body, to a Content-Length of %s', async (_label, length) => {
    const session = await freshSession();
    const reply = await rawExchange(server.url, rawRequest('PUT', path(session.id), rawPartHeaders(SLOT2, { 'content-length': length })), { timeoutMs: 3000 });
    expectBoxError(reply, { status: 416, code: 'requested_range_not_satisfiable' });
    expect(await storedParts(session.id)).toEqual(session.parts);
  });

  it.each<[string, string[]]>([
    ['negative', ['content-length: -1']],
    ['non-numeric', ['content-length: abc']],
    ['in exponent notation', ['content-length: 6.5536e4']],
    ['split by a space', ['content-length: 65 536']],
    ['past 2^64', ['content-length: 18446744073709551617']],
    ['given twice with different values', [`content-length: ${PART}`, `content-length: ${PART + 1}`]],
    ['given with Transfer-Encoding: chunked', [`content-length: ${PART}`, 'transfer-encoding: chunked']],
  ])('is refused by Node\'s HTTP parser (400, before the app) when Content-Length is %s, and stores nothing', async (_label, lines) => {
    const session = await freshSession();
    const headers = rawPartHeaders(SLOT2).concat(lines);
    const reply = await rawExchange(server.url, rawRequest('PUT', path(session.id), headers, slotBytes(SLOT2)));
    expectParserRefusal(reply);
    expect(await storedParts(session.id)).toEqual(session.parts);
  });

  it('answers a body cut short by the client (half-close) with a 4xx, stores nothing, and takes the part again at once', async () => {
    const session = await freshSession();
    const reply = await rawExchange(server.url, rawRequest('PUT', path(session.id), rawPartHeaders(SLOT2, { 'content-length': String(PART) }),
      slotBytes(SLOT2).subarray(0, 1000)), { halfClose: true, timeoutMs: 5000 });
    if (reply.answered) expectBoxErrorOrParserRefusal(reply, { status: [400, 416] });
    expect(await storedParts(session.id)).toEqual(session.parts);
    expect((await putSlot(session.id, SLOT2)).status).toBe(200);
  });

  it('answers 400 or 416 to a part sent as application/json, and stores nothing', async () => {
    const session = await freshSession();
    const reply = await putSlot(session.id, SLOT2, { 'content-type': 'application/json' });
    expectBoxError(reply, { status: [400, 416] });
    expect(await storedParts(session.id)).toEqual(session.parts);
  });
});

describe('PUT part with a broken Authorization', () => {
  const BROKEN_AUTHORIZATIONS: Array<[string, string | undefined]> = [
    ['a 15 KB token', `Bearer ${'A'.repeat(15_000)}`],
    ['a Unicode token (UTF-8)', wire(`Bearer pw_${'文'.repeat(16)}_${'件'.repeat(43)}`)],
    ['two tokens in one value', `Bearer ${'A'.repeat(20)} ${'B'.repeat(20)}`],
    ['another scheme', 'Basic YWxpY2U6c2VjcmV0'],
    ['the scheme alone', 'Bearer'],
    ['an empty value', ''],
  ];
  it.each(BROKEN_AUTHORIZATIONS)('answers 401 to %s and stores nothing', async (label, authorization) => {
    const session = await freshSession();
    expectBoxError(await putSlot(session.id, SLOT2, { authorization }), { status: 401, code: 'unauthorized' }, label);
    expect(await storedParts(session.id)).toEqual(session.parts);
  });

  it.each([...BROKEN_AUTHORIZATIONS, ['no Authorization at all', undefined]])(
    'answers 401 to %s through fetch and a client that writes a whole 8 MiB body first', async (label, authorization) => {
      await expectEarlyAnswers({ authorization }, { status: 401, code: 'unauthorized' }, label);
    });

  it('answers 401 to two Authorization headers, a valid one and a bad one, in either order, and stores nothing', async () => {
    // Node keeps only the first Authorization header; the app must refuse the pair, not pick one.
    // The target is the stored slot 0 with its own bytes, so a wrongly accepted request changes nothing either.
    const session = await freshSession();
    const good = `Bearer ${server.token}`;
    for (const pair of [[good, 'Bearer garbage'], ['Bearer garbage', good]]) {
      const reply = await putSlot(session.id, 0, { authorization: pair });
      expectBoxError(reply, { status: 401, code: 'unauthorized' }, pair.join(' | '));
    }
    expect(await storedParts(session.id)).toEqual(session.parts);
  });

  it('is refused by Node\'s HTTP parser when the token is 100 KB or holds a NUL, and stores nothing', async () => {
    const session = await freshSession();
    expectParserRefusal(await putSlot(session.id, SLOT2, { authorization: `Bearer ${'A'.repeat(100_000)}` }), '100 KB');
    const nul = await rawExchange(server.url, rawRequest('PUT', `/api/2.0/files/upload_sessions/${session.id}`,
      rawPartHeaders(SLOT2, { authorization: `Bearer ${server.token}\u0000`, 'content-length': String(PART) }), slotBytes(SLOT2)));
    expectParserRefusal(nul, 'NUL');
    expect(await storedParts(session.id)).toEqual(session.parts);
  });
});

describe('commit with a broken Digest or body', () => {
  let target: string;
  let targetName: string;
  let parts: Awaited<ReturnType<typeof storedParts>>;
  const rightDigest = () => `sha=${sha1Base64(data)}`;

  beforeAll(async () => {
    targetName = uniqueName('commit-target');
    target = await createSession(targetName);
    for (let offset = 0; offset < SIZE; offset += PART) expect((await putSlot(target, offset)).status).toBe(200);
    parts = await storedParts(target);
  });

  /** The target is still uncommitted and its parts are as uploaded. */
  async function expectTargetUntouched(label: string) {
    expect(await storedParts(target), label).toEqual(parts);
    const items = await send('GET', `${server.api}/folders/0/items?limit=1000`, { token: server.token });
    expect(items.json.entries.map((item: { name: string }) => item.name), `a refused commit made the file: ${label}`).not.toContain(targetName);
  }

  it.each<[string, string, string | undefined]>([
    ['no Digest', 'bad_request', undefined],
    ['an empty Digest', 'bad_request', ''],
    ['sha= alone', 'bad_request', 'sha='],
    ['MD5 only', 'bad_request', `md5=${createHash('md5').update('x').digest('base64')}`],
    ['SHA-256 only', 'bad_request', `sha-256=${createHash('sha256').update('x').digest('base64')}`],
    ['bad base64', 'bad_request', 'sha=not*base64*at*all*here*xx='],
    ['base64 of 19 bytes', 'bad_request', `sha=${base64Of(19)}`],
    ['base64 of 21 bytes', 'bad_request', `sha=${base64Of(21)}`],
    ['Unicode (UTF-8)', 'bad_request', wire('sha=ÄÖÜäöüß文件文件文件文件文件文件文件文件=')],
    ['a 15 KB value', 'bad_request', `sha=${'A'.repeat(15_000)}=`],
    ['the SHA-1 of one part only', 'digest_mismatch', 'ONE_PART'],
  ])('answers %s with 400 %s and does not commit', async (label, code, digest) => {
    const value = digest === 'ONE_PART' ? `sha=${sha1Base64(slotBytes(0))}` : digest;
    const reply = await commit(target, { digest: value, body: JSON.stringify({ parts }) });
    expectBoxError(reply, { status: 400, code }, label);
    await expectTargetUntouched(label);
  });

  it.each<[string, number, string, string, string]>([
    ['truncated JSON', 400, 'bad_request', '{"parts": [', 'application/json'],
    ['JSON with trailing garbage', 400, 'bad_request', '{"parts": []} x', 'application/json'],
    ['single-quoted JSON', 400, 'bad_request', "{'parts': []}", 'application/json'],
    ['a byte-order mark', 400, 'bad_request', '\ufeff{"parts": []}', 'application/json'],
    ['NaN', 400, 'bad_request', 'NaN', 'application/json'],
    ['an empty body', 400, 'bad_request', '', 'application/json'],
    ['null', 400, 'bad_request', 'null', 'application/json'],
    ['a JSON string', 400, 'bad_request', '"parts"', 'application/json'],
    ['a JSON array', 400, 'bad_request', '[]', 'application/json'],
    ['a JSON array around the right object', 400, 'bad_request', JSON.stringify([{ parts: [] }]), 'application/json'],
    ['parts as an object', 400, 'bad_request', '{"parts": {}}', 'application/json'],
    ['parts as a string', 400, 'bad_request', '{"parts": "all"}', 'application/json'],
    ['parts as null', 400, 'bad_request', '{"parts": null}', 'application/json'],
    ['parts as a number', 400, 'bad_request', '{"parts": 4}', 'application/json'],
    ['parts of numbers', 400, 'bad_request', '{"parts": [0, 1, 2, 3]}', 'application/json'],
    ['parts of nulls', 400, 'bad_request', '{"parts": [null, null, null, null]}', 'application/json'],
    ['offsets as strings', 400, 'bad_request', `{"parts": [{"offset": "0", "size": ${PART}}]}`, 'application/json'],
    ['a negative offset', 400, 'bad_request', `{"parts": [{"offset": -${PART}, "size": ${PART}}]}`, 'application/json'],
    ['a fractional offset', 400, 'bad_request', `{"parts": [{"offset": 0.5, "size": ${PART}}]}`, 'application/json'],
    ['an offset of 2^53', 400, 'bad_request', `{"parts": [{"offset": 9007199254740992, "size": ${PART}}]}`, 'application/json'],
    ['an offset of 1e400 (Infinity)', 400, 'bad_request', `{"parts": [{"offset": 1e400, "size": ${PART}}]}`, 'application/json'],
    ['a negative size', 400, 'bad_request', '{"parts": [{"offset": 0, "size": -1}]}', 'application/json'],
    ['a size as a string', 400, 'bad_request', `{"parts": [{"offset": 0, "size": "${PART}"}]}`, 'application/json'],
    ['a numeric part_id', 400, 'bad_request', `{"parts": [{"offset": 0, "size": ${PART}, "part_id": 1}]}`, 'application/json'],
    ['a numeric sha1', 400, 'bad_request', `{"parts": [{"offset": 0, "size": ${PART}, "sha1": 1}]}`, 'application/json'],
    ['parts hidden under __proto__', 400, 'bad_request', '{"__proto__": {"parts": PARTS}}', 'application/json'],
    ['parts hidden under constructor.prototype', 400, 'bad_request', '{"constructor": {"prototype": {"parts": PARTS}}}', 'application/json'],
    ['part fields hidden under __proto__', 400, 'bad_request', `{"parts": [{"__proto__": {"offset": 0, "size": ${PART}}}]}`, 'application/json'],
    ['100,000 nested arrays', 400, 'bad_request', `{"parts": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`, 'application/json'],
    ['100,000 nested objects', 400, 'bad_request', `{"parts": [${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}]}`, 'application/json'],
    ['10,001 parts', 400, 'parts_mismatch', JSON.stringify({ parts: Array.from({ length: 10_001 }, (_, index) => ({ offset: index * PART, size: PART })) }), 'application/json'],
    ['a size of 0', 400, 'parts_mismatch', '{"parts": [{"offset": 0, "size": 0}]}', 'application/json'],
    ['attributes as an array', 400, 'bad_request', '{"parts": PARTS, "attributes": []}', 'application/json'],
    ['attributes as a string', 400, 'bad_request', '{"parts": PARTS, "attributes": "x"}', 'application/json'],
    ['an impossible date', 400, 'bad_request', '{"parts": PARTS, "attributes": {"content_modified_at": "2017-99-99T99:99:99Z"}}', 'application/json'],
    ['a date that is not RFC 3339', 400, 'bad_request', '{"parts": PARTS, "attributes": {"content_modified_at": "yesterday"}}', 'application/json'],
    ['a numeric description', 400, 'bad_request', '{"parts": PARTS, "attributes": {"description": 5}}', 'application/json'],
    ['the right parts sent as text/plain', 400, 'bad_request', '{"parts": PARTS}', 'text/plain'],
    ['the right parts under an invalid media type', 415, 'unsupported_media_type', '{"parts": PARTS}', ';;;'],
  ])('answers %s with %i %s and does not commit', async (label, status, code, body, contentType) => {
    const reply = await commit(target, { digest: rightDigest(), body: body.replaceAll('PARTS', JSON.stringify(parts)), contentType });
    expectBoxError(reply, { status, code }, label);
    await expectTargetUntouched(label);
  });

  it('does not let __proto__ or constructor keys reach any prototype', async () => {
    const polluting = '{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}, "parts": []}';
    for (const url of [sessionUrl(target, '/commit'), `${server.api}/folders`, `${server.upload}/files/upload_sessions`]) {
      const reply = await send('POST', url, { token: server.token, headers: { 'content-type': 'application/json', digest: rightDigest() }, body: polluting });
      expectBoxError(reply, { status: 400 }, url);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await expectTargetUntouched('__proto__');
  });

  it('answers 400 to two Digest headers naming different SHA-1s, whichever comes first, and does not commit', async () => {
    const name = uniqueName('two-digests');
    const session = await createSession(name);
    for (let offset = 0; offset < SIZE; offset += PART) expect((await putSlot(session, offset)).status).toBe(200);
    const listed = await storedParts(session);
    const wrong = `sha=${sha1Base64(Buffer.from('another file'))}`;
    for (const digests of [[rightDigest(), wrong], [wrong, rightDigest()]]) {
      const reply = await commit(session, { digest: digests, body: JSON.stringify({ parts: listed }) });
      expectBoxError(reply, { status: 400, code: ['bad_request', 'digest_mismatch'] }, digests.join(' | '));
    }
    const items = await send('GET', `${server.api}/folders/0/items?limit=1000`, { token: server.token });
    expect(items.json.entries.map((item: { name: string }) => item.name)).not.toContain(name);
  });

  it('still commits the target with the right request afterwards, and the file downloads byte for byte', async () => {
    const reply = await commit(target, { digest: rightDigest(), body: JSON.stringify({ parts }) });
    expect(reply.status, reply.text).toBe(201);
    expect(sha1Hex(await download(reply.json.entries[0].id))).toBe(sha1Hex(data));
  });
});

describe('JSON bodies over the limit (jsonBodyLimit 4096)', () => {
  let small: TestServer;
  beforeAll(async () => {
    small = await startServer({ basePartSize: String(PART), minChunkedSize: '100000', jsonBodyLimit: '4096' });
  });
  afterAll(() => small.close());

  const padded = (body: Record<string, unknown>) => JSON.stringify({ ...body, padding: 'x'.repeat(5000) });

  it.each<[string, string, () => string]>([
    ['POST /folders', '/2.0/folders', () => padded({ name: 'big', parent: { id: '0' } })],
    ['POST /files/upload_sessions', '/api/2.0/files/upload_sessions', () => padded({ folder_id: '0', file_size: SIZE, file_name: 'big.bin' })],
    ['POST /files/upload_sessions/{id}/commit', `/api/2.0/files/upload_sessions/${'A'.repeat(32)}/commit`, () => padded({ parts: [] })],
  ])('answers 413 request_entity_too_large to %s, with or without a Content-Length', async (_label, path, body) => {
    const headers = { 'content-type': 'application/json', digest: `sha=${sha1Base64(data)}` };
    expectBoxError(await send('POST', `${small.url}${path}`, { token: small.token, headers, body: body() }), { status: 413, code: 'request_entity_too_large' });
    expectBoxError(await send('POST', `${small.url}${path}`, { token: small.token, headers, body: body(), chunked: true }), { status: 413, code: 'request_entity_too_large' });
  });

  it('answers 413 at once to a Content-Length of 10 MB without waiting for the body', async () => {
    const reply = await rawExchange(small.url, rawRequest('POST', '/2.0/folders',
      [`authorization: Bearer ${small.token}`, 'content-type: application/json', 'content-length: 10485760'], '{"name":'), { timeoutMs: 3000 });
    expectBoxError(reply, { status: 413, code: 'request_entity_too_large' });
  });

  it('takes a body just under the limit', async () => {
    const body = JSON.stringify({ name: 'just-under', parent: { id: '0' }, padding: 'x'.repeat(3900) });
    expect(body.length).toBeLessThan(4096);
    const reply = await send('POST', `${small.api}/folders`, { token: small.token, headers: { 'content-type': 'application/json' }, body });
    expect(reply.status, reply.text).toBe(201);
  });
});

describe('query strings of list parts and folder items', () => {
  let sessionId: string;
  beforeAll(async () => {
    sessionId = (await freshSession()).id;
  });

  const badOffsets = ['-1', 'abc', '1e3', '0x10', '1.5', '%201', '%2B1', encodeURIComponent('١'), '99999999999999999999', '1&offset=2', '%00', '9007199254740993'];
  const badLimits = ['-5', '0', 'abc', '1e3', '0x10', '1.5', encodeURIComponent('١'), '1&limit=2', '%00', '99999999999999999999'];

  it.each(badOffsets)('answers offset=%s with 400 invalid_offset', async (offset) => {
    for (const url of [sessionUrl(sessionId, `/parts?offset=${offset}`), `${server.api}/folders/0/items?offset=${offset}`]) {
      expectBoxError(await send('GET', url, { token: server.token }), { status: 400, code: 'invalid_offset' }, url);
    }
  });

  it.each(badLimits)('answers limit=%s with 400 invalid_limit', async (limit) => {
    for (const url of [sessionUrl(sessionId, `/parts?limit=${limit}`), `${server.api}/folders/0/items?limit=${limit}`]) {
      expectBoxError(await send('GET', url, { token: server.token }), { status: 400, code: 'invalid_limit' }, url);
    }
  });

  it('refuses part offsets past 10000, serves huge folder offsets as an empty page and clamps huge limits to 1000', async () => {
    expectBoxError(await send('GET', sessionUrl(sessionId, '/parts?offset=10001'), { token: server.token }), { status: 400, code: 'invalid_offset' });
    const far = await send('GET', `${server.api}/folders/0/items?offset=999999999999999`, { token: server.token });
    expect(far.status).toBe(200);
    expect(far.json.entries).toEqual([]);
    for (const url of [sessionUrl(sessionId, '/parts?limit=999999999999999'), `${server.api}/folders/0/items?limit=999999999999999`]) {
      const reply = await send('GET', url, { token: server.token });
      expect(reply.status, url).toBe(200);
      expect(reply.json.limit, url).toBe(1000);
    }
  });
});

describe('path tricks in upload session ids', () => {
  let existing: { id: string; parts: unknown[] };
  beforeAll(async () => {
    existing = await freshSession();
  });

  const BAD_IDS: Array<[string, string]> = [
    ['%2e%2e', '%2e%2e'],
    ['%2e%2e%2f', '%2e%2e%2f'],
    ['..%2F..%2Fusers%2Fme', '..%2F..%2Fusers%2Fme'],
    ['a NUL', '%00'],
    ['31 hex digits and a NUL', `${'A'.repeat(31)}%00`],
    ['control characters', '%01%02%1b'],
    ['DEL', '%7f'],
    ['CR LF', '%0d%0a'],
    ['a leading space', `%20${'A'.repeat(32)}`],
    ['32 non-hex letters', 'G'.repeat(32)],
    ['31 hex digits', 'A'.repeat(31)],
    ['33 hex digits', 'A'.repeat(33)],
    ['32 fullwidth hex digits', encodeURIComponent('Ａ'.repeat(32))],
    ['32 letters with diaeresis', '%C3%84'.repeat(32)],
    ['500 characters', 'A'.repeat(500)],
    ['1000 characters', 'A'.repeat(1000)],
  ];

  function sessionRoutes(id: string): Array<[string, string, { headers?: Record<string, string>; body?: Buffer | string }]> {
    const base = `${server.upload}/files/upload_sessions/${id}`;
    return [
      ['GET', base, {}],
      ['PUT', base, { headers: slotHeaders(SLOT2), body: slotBytes(SLOT2) }],
      ['DELETE', base, {}],
      ['GET', `${base}/parts`, {}],
      ['POST', `${base}/commit`, { headers: { 'content-type': 'application/json', digest: `sha=${sha1Base64(data)}` }, body: '{"parts": []}' }],
      ['POST', `${base}/log`, { headers: { 'content-type': 'application/json' }, body: '{"event_type": "part_failure"}' }],
    ];
  }

  it.each(BAD_IDS)('answers an id of %s with 400 invalid_upload_session_id on every session route', async (label, id) => {
    for (const [method, url, options] of sessionRoutes(id)) {
      const reply = await send(method, url, { token: server.token, ...options });
      expectBoxError(reply, { status: 400, code: 'invalid_upload_session_id' }, `${label}: ${method} ${url.slice(0, 120)}`);
    }
    expect(await storedParts(existing.id)).toEqual(existing.parts);
  });

  it.each(['%zz', '%', '%E0%A4%A', '%C0%AF'])('answers the bad percent-encoding %s with a Box 400 on every session route', async (id) => {
    for (const [method, url, options] of sessionRoutes(id)) {
      const reply = await send(method, url, { token: server.token, ...options });
      expectBoxError(reply, { status: 400, code: ['bad_request', 'invalid_upload_session_id'] }, `${method} ${url}`);
    }
  });

  it('answers literal ../ segments (sent unnormalised) with a Box 400 or 404, never another resource', async () => {
    for (const path of ['/api/2.0/files/upload_sessions/..', '/api/2.0/files/upload_sessions/../', '/api/2.0/files/upload_sessions/../../users/me',
      `/api/2.0/files/upload_sessions/../upload_sessions/${existing.id}`, '/api/2.0/files/upload_sessions/./', '/api/2.0/files/upload_sessions/%2E%2E/%2E%2E/users/me']) {
      const reply = await send('GET', `${server.url}${path}`, { token: server.token });
      expectBoxError(reply, { status: [400, 404], code: ['invalid_upload_session_id', 'not_found'] }, path);
    }
  });

  it('is refused by Node\'s HTTP parser when the path holds raw control bytes', async () => {
    for (const id of ['\u0000', '\u0001', 'A\tB', '\u007f']) {
      const reply = await rawExchange(server.url, rawRequest('GET', `/api/2.0/files/upload_sessions/${id}`, [`authorization: Bearer ${server.token}`]));
      expectBoxErrorOrParserRefusal(reply, { status: 400 }, JSON.stringify(id));
    }
  });

  it('finds a session by its id in lower case', async () => {
    const lower = existing.id.toLowerCase();
    const status = await send('GET', sessionUrl(lower), { token: server.token });
    expect(status.status, status.text).toBe(200);
    expect(status.json.id).toBe(existing.id);
    const parts = await send('GET', sessionUrl(lower, '/parts'), { token: server.token });
    expect(parts.json.entries).toEqual(existing.parts);
    const retry = await putSlot(lower, 0);
    expect(retry.status, retry.text).toBe(200);
    expect(await storedParts(existing.id)).toEqual(existing.parts);
  });
});

describe('path tricks in file and folder ids', () => {
  const BAD_ITEM_IDS: Array<[string, string]> = [
    ['-1', '-1'], ['1e3', '1e3'], ['0x10', '0x10'], ['..%2F0', '..%2F0'], ['%2E%2E%2F0', '%2E%2E%2F0'], ['of 30 digits', '1'.repeat(30)],
    ['of 19 nines (past 2^63)', '9'.repeat(19)], ['%00', '%00'], ['1%00', '1%00'], ['%201', '%201'], ['1%20', '1%20'], ['+1', '+1'],
    ['1.0', '1.0'], ['of CJK characters', '%E6%96%87'], ['of 1000 characters', 'A'.repeat(1000)],
  ];

  function itemRoutes(id: string): Array<[string, string, { headers?: Record<string, string>; body?: string }]> {
    const multipart = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="attributes"\r\n\r\n{}\r\n--${BOUNDARY}\r\n`
      + `Content-Disposition: form-data; name="file"; filename="f"\r\n\r\nhello\r\n--${BOUNDARY}--\r\n`;
    return [
      ['GET', `${server.api}/files/${id}`, {}],
      ['DELETE', `${server.api}/files/${id}`, {}],
      ['GET', `${server.api}/files/${id}/content`, {}],
      ['POST', `${server.upload}/files/${id}/upload_sessions`, { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ file_size: SIZE }) }],
      ['POST', `${server.upload}/files/${id}/content`, { headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` }, body: multipart }],
      ['GET', `${server.api}/folders/${id}`, {}],
      ['GET', `${server.api}/folders/${id}/items`, {}],
    ];
  }

  it.each(BAD_ITEM_IDS)('answers the id %s with 404 not_found on every file and folder route', async (_label, id) => {
    for (const [method, url, options] of itemRoutes(id)) {
      const reply = await send(method, url, { token: server.token, ...options });
      expectBoxError(reply, { status: 404, code: 'not_found' }, `${method} ${url.slice(0, 120)}`);
    }
  });

  it('answers 404 to the root folder id 0 used as a file id', async () => {
    for (const [method, url, options] of itemRoutes('0').slice(0, 5)) {
      expectBoxError(await send(method, url, { token: server.token, ...options }), { status: 404, code: 'not_found' }, `${method} ${url}`);
    }
  });

  it.each<[string, unknown]>([
    ['"-1"', '-1'], ['"1e3"', '1e3'], ['"0x10"', '0x10'], ['"../0"', '../0'], ['30 digits', '1'.repeat(30)], ['a NUL', '\u0000'],
    ['" 0"', ' 0'], ['"0 "', '0 '], ['an empty string', ''], ['-1', -1], ['1.5', 1.5], ['2^53', 2 ** 53], ['1e21', 1e21],
    ['true', true], ['an object', { id: '0' }], ['an array', ['0']],
  ])('refuses the parent/folder id %s in JSON with a Box 400 or 404 on every creating route', async (label, id) => {
    const before = await send('GET', `${server.api}/folders/0/items?limit=1000`, { token: server.token });
    const attempts: Array<[string, Answer]> = [
      ['POST /files/upload_sessions', await send('POST', `${server.upload}/files/upload_sessions`, { token: server.token, ...json({ folder_id: id, file_size: SIZE, file_name: uniqueName() }) })],
      ['POST /folders', await send('POST', `${server.api}/folders`, { token: server.token, ...json({ name: uniqueName('folder'), parent: { id } }) })],
      ['POST /files/content', await simpleUpload({ name: uniqueName(), parent: { id } })],
    ].map(([route, reply]) => [route as string, reply as Answer]);
    for (const [route, reply] of attempts) {
      expectBoxError(reply, { status: [400, 404], code: ['not_found', 'invalid_folder_id', 'missing_destination', 'bad_request'] }, `${label}: ${route}`);
    }
    const after = await send('GET', `${server.api}/folders/0/items?limit=1000`, { token: server.token });
    expect(after.json.total_count).toBe(before.json.total_count);
  });
});

async function simpleUpload(attributes: unknown, content = 'hello', extraHeaders: Record<string, string> = {}, path = '/files/content') {
  const body = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="attributes"\r\n\r\n${JSON.stringify(attributes)}\r\n`
    + `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\nContent-Type: application/octet-stream\r\n\r\n${content}\r\n--${BOUNDARY}--\r\n`;
  return send('POST', `${server.upload}${path}`, {
    token: server.token, headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, ...extraHeaders }, body: Buffer.from(body, 'utf8'),
  });
}

describe('path tricks in item names', () => {
  const BAD_NAMES: Array<[string, string, string]> = [
    ['a parent reference', '../x', 'item_name_invalid'],
    ['a climb out of the data directory', '../../../../etc/passwd', 'item_name_invalid'],
    ['an absolute path', '/etc/passwd', 'item_name_invalid'],
    ['a slash', 'a/b', 'item_name_invalid'],
    ['a backslash', 'a\\b', 'item_name_invalid'],
    ['a Windows path', 'C:\\Windows\\win.ini', 'item_name_invalid'],
    ['a NUL', 'nul\u0000byte', 'item_name_invalid'],
    ['a bell', 'bell\u0007', 'item_name_invalid'],
    ['an ANSI escape', '\u001b[31mred', 'item_name_invalid'],
    ['a newline', 'two\nlines', 'item_name_invalid'],
    ['a carriage return', 'cr\rname', 'item_name_invalid'],
    ['a tab', 'tab\tname', 'item_name_invalid'],
    ['DEL', 'del\u007f', 'item_name_invalid'],
    ['256 characters', 'x'.repeat(256), 'item_name_too_long'],
    ['100,000 characters', 'x'.repeat(100_000), 'item_name_too_long'],
    ['only spaces', '   ', 'item_name_invalid'],
    ['"."', '.', 'item_name_invalid'],
    ['".."', '..', 'item_name_invalid'],
    ['an empty name', '', 'item_name_invalid'],
    ['a leading space', ' lead', 'item_name_invalid'],
    ['a trailing space', 'trail ', 'item_name_invalid'],
    ['a lone high surrogate', 'a\ud800b', 'item_name_invalid'],
    ['a lone low surrogate', '\udc00', 'item_name_invalid'],
    ['a reversed surrogate pair', '\udc00\ud800', 'item_name_invalid'],
  ];

  function creators(name: string): Array<[string, () => Promise<Answer>]> {
    return [
      ['POST /files/upload_sessions', () => send('POST', `${server.upload}/files/upload_sessions`, { token: server.token, ...json({ folder_id: '0', file_size: SIZE, file_name: name }) })],
      ['POST /files/{id}/upload_sessions', () => send('POST', `${server.upload}/files/${refFile.id}/upload_sessions`, { token: server.token, ...json({ file_size: SIZE, file_name: name }) })],
      ['POST /folders', () => send('POST', `${server.api}/folders`, { token: server.token, ...json({ name, parent: { id: '0' } }) })],
      ['POST /files/content', () => simpleUpload({ name, parent: { id: '0' } })],
    ];
  }

  it.each(BAD_NAMES)('refuses a name with %s on every creating route', async (label, name, code) => {
    const before = await send('GET', `${server.api}/folders/0/items?limit=1000`, { token: server.token });
    for (const [route, create] of creators(name)) {
      const reply = await create();
      // A 100,000-character name makes the JSON body 100 KB, under the 2 MB limit; in a simple upload's
      // attributes it passes the 64 KB field limit, which cuts the JSON short: bad_request there is right too.
      const codes = route === 'POST /files/content' && name.length > 64 * 1024 ? [code, 'bad_request'] : [code];
      expectBoxError(reply, { status: 400, code: codes }, `${label}: ${route}`);
    }
    const after = await send('GET', `${server.api}/folders/0/items?limit=1000`, { token: server.token });
    expect(after.json.total_count).toBe(before.json.total_count);
  });

  it.each<[string, string]>([
    ['accented letters and CJK', 'Ünïcødé 文件.bin'],
    ['an emoji (a surrogate pair)', 'box 📦.bin'],
    ['255 characters', `${'n'.repeat(251)}.bin`],
    ['a leading dot', '.hidden'],
    ['dots inside', 'a..b...c'],
    ['punctuation', "it's (1) [a] {b} #c %d &e +f ;g =h @i.bin"],
  ])('accepts a valid name with %s on every creating route, exactly as given', async (label, name) => {
    // Each route creates in its own place so that the same name is free for every one of them.
    const folder = await send('POST', `${server.api}/folders`, { token: server.token, ...json({ name: uniqueName('valid-names'), parent: { id: '0' } }) });
    expect(folder.status, folder.text).toBe(201);
    const session = await send('POST', `${server.upload}/files/upload_sessions`, { token: server.token, ...json({ folder_id: folder.json.id, file_size: SIZE, file_name: name }) });
    expect(session.status, `${label}: ${session.text}`).toBe(201);
    const created = await send('POST', `${server.api}/folders`, { token: server.token, ...json({ name, parent: { id: folder.json.id } }) });
    expect(created.status, `${label}: ${created.text}`).toBe(201);
    expect(created.json.name).toBe(name);
    const uploaded = await simpleUpload({ name, parent: { id: created.json.id } }, 'named content');
    expect(uploaded.status, `${label}: ${uploaded.text}`).toBe(201);
    expect(uploaded.json.entries[0].name).toBe(name);
    expect((await download(uploaded.json.entries[0].id)).toString()).toBe('named content');
  });

  it('accepts a valid Unicode name for a new version of a file', async () => {
    const uploaded = await simpleUpload({ name: uniqueName('to-rename'), parent: { id: '0' } });
    expect(uploaded.status, uploaded.text).toBe(201);
    const reply = await send('POST', `${server.upload}/files/${uploaded.json.entries[0].id}/upload_sessions`, {
      token: server.token, ...json({ file_size: SIZE, file_name: 'Versión nueva 文件.bin' }),
    });
    expect(reply.status, reply.text).toBe(201);
  });
});

describe('malformed simple uploads (multipart)', () => {
  const part = (name: string, value: string, filename?: string) => `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"`
    + `${filename === undefined ? '' : `; filename="${filename}"`}\r\n\r\n${value}\r\n`;
  const file = part('file', 'hello', 'f.bin');
  const attributes = (value: unknown) => part('attributes', typeof value === 'string' ? value : JSON.stringify(value));
  const end = `--${BOUNDARY}--\r\n`;
  const multipart = `multipart/form-data; boundary=${BOUNDARY}`;

  it.each<[string, string | undefined, string, string]>([
    ['no Content-Type', undefined, attributes({ name: 'a', parent: { id: '0' } }) + file + end, 'bad_request'],
    ['a JSON Content-Type', 'application/json', '{"name": "a", "parent": {"id": "0"}}', 'bad_request'],
    ['multipart without a boundary', 'multipart/form-data', attributes({ name: 'a', parent: { id: '0' } }) + file + end, 'bad_request'],
    ['text/plain', 'text/plain', 'hello', 'bad_request'],
    ['an empty body', multipart, '', 'bad_request'],
    ['only a preamble', multipart, 'garbage without any boundary', 'bad_request'],
    ['only the closing boundary', multipart, end, 'bad_request'],
    ['attributes that are not JSON', multipart, attributes('{name: a}') + file + end, 'bad_request'],
    ['attributes as an array', multipart, attributes([{ name: 'a' }]) + file + end, 'bad_request'],
    ['attributes as a string', multipart, attributes('"a"') + file + end, 'bad_request'],
    ['attributes after the file', multipart, file + attributes({ name: 'a', parent: { id: '0' } }) + end, 'metadata_after_file_contents'],
    ['a file and no attributes', multipart, file + end, 'metadata_after_file_contents'],
    ['attributes and no file', multipart, attributes({ name: 'a', parent: { id: '0' } }) + end, 'bad_request'],
    ['a file part without a filename', multipart, attributes({ name: 'a', parent: { id: '0' } }) + part('file', 'hello') + end, 'bad_request'],
    ['no parent', multipart, attributes({ name: 'a' }) + file + end, 'missing_destination'],
    ['no name', multipart, attributes({ parent: { id: '0' } }) + file + end, 'missing_file_name'],
    ['a numeric name', multipart, attributes({ name: 5, parent: { id: '0' } }) + file + end, 'missing_file_name'],
    ['a bad content_created_at', multipart, attributes({ name: 'a', parent: { id: '0' }, content_created_at: 'soon' }) + file + end, 'bad_request'],
    ['attributes over 64 KB', multipart, attributes({ name: 'a', parent: { id: '0' }, pad: 'x'.repeat(70_000) }) + file + end, 'bad_request'],
  ])('answers %s with 400 %s and creates nothing', async (label, contentType, body, code) => {
    const before = await send('GET', `${server.api}/folders/0/items?limit=1000`, { token: server.token });
    const headers: Record<string, string> = contentType === undefined ? {} : { 'content-type': contentType };
    const reply = await send('POST', `${server.upload}/files/content`, { token: server.token, headers, body });
    expectBoxError(reply, { status: 400, code }, label);
    const after = await send('GET', `${server.api}/folders/0/items?limit=1000`, { token: server.token });
    expect(after.json.total_count).toBe(before.json.total_count);
  });

  it('answers 400 digest_mismatch when Content-MD5 names another SHA-1, and creates nothing', async () => {
    const name = uniqueName('md5');
    const reply = await simpleUpload({ name, parent: { id: '0' } }, 'hello', { 'content-md5': sha1Hex(Buffer.from('not hello')) });
    expectBoxError(reply, { status: 400, code: 'digest_mismatch' });
    const items = await send('GET', `${server.api}/folders/0/items?limit=1000`, { token: server.token });
    expect(items.json.entries.map((item: { name: string }) => item.name)).not.toContain(name);
  });
});

describe('wrong methods and unknown routes', () => {
  // Today every one of these is a Box 404 not_found from the not-found handler; 405 would do as well.
  function cases(): Array<[string, string]> {
    const sid = 'A'.repeat(32);
    return [
      ['PATCH', `/2.0/files/upload_sessions/${sid}`], ['POST', `/api/2.0/files/upload_sessions/${sid}`], ['PATCH', '/2.0/folders/0'],
      ['DELETE', '/2.0/folders/0/items'], ['PUT', `/2.0/files/${refFile.id}/content`], ['PATCH', `/2.0/files/${refFile.id}`],
      ['POST', '/2.0/users/me'], ['DELETE', '/2.0/users/me'], ['GET', `/api/2.0/files/upload_sessions/${sid}/commit`],
      ['PUT', `/api/2.0/files/upload_sessions/${sid}/parts`], ['DELETE', `/api/2.0/files/upload_sessions/${sid}/log`],
      ['GET', '/api/2.0/files/upload_sessions'], ['GET', '/2.0/folders'], ['POST', '/2.0/folders/0/items'], ['PUT', '/2.0/files/content'],
      ['TRACE', '/2.0/users/me'], ['PROPFIND', '/2.0/folders/0'], ['OPTIONS', '/api/2.0/files/upload_sessions'],
      ['GET', '/2.0'], ['GET', '/3.0/users/me'], ['GET', '/api/users/me'], ['GET', '/2.0/nope'],
      ['GET', `/api/2.0/files/upload_sessions/${sid}/parts/extra`], ['GET', `/2.0/files/${refFile.id}/content/extra`],
      ['GET', '/2.0/../2.0/users/me'], ['GET', '/downloads'], ['POST', '/downloads/x'], ['DELETE', '/healthz'], ['POST', '/metrics'],
    ];
  }

  it('answers each with a Box 404 or 405, with or without a token', async () => {
    for (const [method, path] of cases()) {
      const withToken = await send(method, `${server.url}${path}`, { token: server.token });
      expectBoxError(withToken, { status: [404, 405], code: ['not_found', 'method_not_allowed'] }, `${method} ${path}`);
      const without = await send(method, `${server.url}${path}`);
      expectBoxError(without, { status: [401, 404, 405], code: ['unauthorized', 'not_found', 'method_not_allowed'] }, `${method} ${path} (no token)`);
    }
  });

  it('is refused by Node\'s HTTP parser for a method it does not know', async () => {
    const reply = await rawExchange(server.url, rawRequest('FROB', '/2.0/users/me', [`authorization: Bearer ${server.token}`]));
    expectParserRefusal(reply);
  });

  it('answers CONNECT with a Box 404/405 or, as Node does without a connect listener, by closing the connection', async () => {
    const reply = await rawExchange(server.url, rawRequest('CONNECT', '/2.0/users/me', [`authorization: Bearer ${server.token}`]), { timeoutMs: 3000 });
    if (reply.answered) expectBoxError(reply, { status: [404, 405] });
  });
});

describe('the download link and the version parameter', () => {
  let link: string;
  beforeAll(async () => {
    const redirect = await send('GET', `${server.api}/files/${refFile.id}/content`, { token: server.token });
    expect(redirect.status).toBe(302);
    link = String(redirect.headers.location).split('/downloads/')[1]!;
  });

  function tampered(): Array<[string, string]> {
    const [fileId, versionId, expires, mac] = link.split('.') as [string, string, string, string];
    const flip = (text: string) => text.slice(0, -1) + (text.endsWith('A') ? 'B' : 'A');
    return [
      ['garbage', 'garbage'],
      ['a well-formed link with a made-up signature', `1.1.9999999999.${'A'.repeat(43)}`],
      ['the signature changed', `${fileId}.${versionId}.${expires}.${flip(mac)}`],
      ['another file id', `${Number(fileId) + 1}.${versionId}.${expires}.${mac}`],
      ['another version id', `${fileId}.${Number(versionId) + 1}.${expires}.${mac}`],
      ['a later expiry', `${fileId}.${versionId}.${Number(expires) + 3600}.${mac}`],
      ['a character appended', `${link}A`],
      ['a character removed', link.slice(0, -1)],
      ['a NUL appended', `${link}%00`],
      ['a path climbing to the database', '..%2F..%2Fpartway.db'],
      ['Unicode', '%C3%84%E6%96%87'],
      ['400 characters', 'A'.repeat(400)],
      ['600 characters', 'A'.repeat(600)],
      ['2000 characters', `${link}${'A'.repeat(2000)}`],
      ['a bad percent-encoding', '%zz'],
    ];
  }

  it('answers every tampered, garbage or over-long link with a Box 404, and the real link still works', async () => {
    for (const [label, token] of tampered()) {
      const reply = await send('GET', `${server.url}/downloads/${token}`);
      expectBoxError(reply, { status: [400, 404], code: ['not_found', 'bad_request'] }, label);
    }
    const real = await send('GET', `${server.url}/downloads/${link}`);
    expect(real.status).toBe(200);
  });

  it.each(['-1', '..%2F1', '%00', 'abc', '1'.repeat(30), ''])('answers ?version=%s with a Box 404', async (version) => {
    const reply = await send('GET', `${server.api}/files/${refFile.id}/content?version=${version}`, { token: server.token });
    expectBoxError(reply, { status: 404, code: 'not_found' });
  });

  it('answers a repeated version parameter with a Box 400 or 404, not a 500', async () => {
    const reply = await send('GET', `${server.api}/files/${refFile.id}/content?version=1&version=2`, { token: server.token });
    expectBoxError(reply, { status: [400, 404], code: ['bad_request', 'not_found', 'invalid_parameter'] });
  });
});

describe('after every hostile request above', () => {
  it('the committed reference file still downloads byte for byte', async () => {
    const info = await send('GET', `${server.api}/files/${refFile.id}`, { token: server.token });
    expect(info.status).toBe(200);
    expect(info.json).toMatchObject({ size: SIZE, sha1: refFile.sha1 });
    expect((await download(refFile.id)).equals(data)).toBe(true);
  });
});
