import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { randomData, sha1Base64, sha1Hex, startServer, type TestServer } from '../helpers/partway.js';
import { crashRecorder, expectBoxError, send, wire } from '../helpers/security.js';

/**
 * Property-based fuzzing of the two requests that write: PUT part and commit. Whatever the headers and
 * body, the answer is one of the expected statuses (never a 5xx or a hang), every error is Box's
 * ClientError, and stored data changes only when the request was a valid one: a part whose range,
 * digest and bytes all agree, or a commit of exactly the stored parts with the file's SHA-1.
 */

const PART = 4096;
const SIZE = 5 * PART + 100; // six slots, the last one 100 bytes
const SLOTS = 6;
const RUNS = Number(process.env.PARTWAY_FUZZ_RUNS ?? 150);
const SEED = process.env.PARTWAY_FUZZ_SEED === undefined ? undefined : Number(process.env.PARTWAY_FUZZ_SEED);

const PUT_STATUSES = [200, 400, 404, 409, 410, 412, 413, 416];
const COMMIT_STATUSES = [201, 202, 400, 404, 409, 410, 412, 413, 416];

interface StoredPart { part_id: string; offset: number; size: number; sha1: string }

let server: TestServer;
let data: Buffer;
let counter = 0;
const crashes = crashRecorder();

const offsetOf = (slot: number) => slot * PART;
const sizeOf = (slot: number) => Math.min(PART, SIZE - slot * PART);
const slotBytes = (slot: number) => data.subarray(offsetOf(slot), offsetOf(slot) + sizeOf(slot));

beforeAll(async () => {
  crashes.start();
  server = await startServer({ basePartSize: String(PART), minChunkedSize: '10000' });
  data = randomData(SIZE);
});
afterAll(async () => {
  crashes.stop();
  await server.close();
});
afterEach(() => crashes.check());

async function createSession(name: string): Promise<string> {
  const reply = await send('POST', `${server.upload}/files/upload_sessions`, {
    token: server.token, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ folder_id: '0', file_size: SIZE, file_name: name }),
  });
  expect(reply.status, reply.text).toBe(201);
  return reply.json.id as string;
}

async function putGoodPart(sessionId: string, slot: number): Promise<StoredPart> {
  const bytes = slotBytes(slot);
  const reply = await send('PUT', `${server.upload}/files/upload_sessions/${sessionId}`, {
    token: server.token, body: bytes,
    headers: { 'content-range': `bytes ${offsetOf(slot)}-${offsetOf(slot) + bytes.length - 1}/${SIZE}`, digest: `sha=${sha1Base64(bytes)}` },
  });
  expect(reply.status, reply.text).toBe(200);
  return reply.json.part;
}

async function storedParts(sessionId: string): Promise<StoredPart[]> {
  const reply = await send('GET', `${server.upload}/files/upload_sessions/${sessionId}/parts?limit=1000`, { token: server.token });
  expect(reply.status, reply.text).toBe(200);
  return reply.json.entries;
}

/** What node:http will put in a header: the UTF-8 bytes of `text`, without the bytes no header may hold. */
function headerValue(text: string): string {
  // eslint-disable-next-line no-control-regex
  return wire(text).replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, '');
}

/** The base64 SHA-1s named by `sha=` instances of a Digest header (RFC 3230: comma-separated). */
function namedSha1s(digest: string | undefined): string[] {
  if (digest === undefined) return [];
  return digest.split(',').flatMap((instance) => {
    const at = instance.indexOf('=');
    return at > 0 && instance.slice(0, at).trim().toLowerCase() === 'sha' ? [instance.slice(at + 1).trim()] : [];
  });
}

/** Deterministic bytes, so that a failing case shrinks and replays. */
function patternBytes(length: number, seed: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let index = 0; index < length; index++) bytes[index] = (seed + index * 31 + (index >> 7)) & 0xff;
  return bytes;
}

const slotArb = fc.integer({ min: 0, max: SLOTS - 1 });

const numberText = fc.oneof(
  fc.constantFrom('0', '1', String(PART), String(PART - 1), String(2 * PART), String(SIZE), String(SIZE - 1), String(SIZE + 1),
    '-1', '-0', '00', '+1', '1.0', '1e3', '0x10', ' 1', '9007199254740991', '9007199254740992', '9007199254740993',
    '18446744073709551616', '١', '１', '', '*'),
  fc.nat({ max: 3 * SIZE }).map(String),
  fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String),
);

/** A Content-Range: right for the chosen slot, off by a little, built from odd pieces, junk or none. */
const contentRangeArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'slot' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('off' as const), a: fc.integer({ min: -2, max: 2 }), b: fc.integer({ min: -2, max: 2 }), c: fc.integer({ min: -2, max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('otherSlot' as const), slot: slotArb }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'absent' as const }) },
  { weight: 4, arbitrary: fc.oneof(pieceRangeArb(), fc.string({ unit: 'binary', maxLength: 40 })).map((text) => ({ kind: 'text' as const, text })) },
);

type RangeSpec = typeof contentRangeArb extends fc.Arbitrary<infer T> ? T : never;

function rangeFor(spec: RangeSpec, slot: number): string | undefined {
  const first = offsetOf(slot);
  const last = first + sizeOf(slot) - 1;
  switch (spec.kind) {
    case 'slot': return `bytes ${first}-${last}/${SIZE}`;
    case 'off': return `bytes ${first + spec.a}-${last + spec.b}/${SIZE + spec.c}`;
    case 'otherSlot': return `bytes ${offsetOf(spec.slot)}-${offsetOf(spec.slot) + sizeOf(spec.slot) - 1}/${SIZE}`;
    case 'absent': return undefined;
    case 'text': return headerValue(spec.text);
  }
}

function pieceRangeArb() {
  return fc.record({
      unit: fc.constantFrom('bytes', 'Bytes', 'BYTES', 'items', '', 'bytes=', 'byte'),
      gap: fc.constantFrom(' ', '  ', '', '\t', '='),
      first: numberText,
      dash: fc.constantFrom('-', '--', '\u2013', ' - ', ''),
      last: numberText,
      slash: fc.constantFrom('/', '', ' / ', '//'),
      total: numberText,
    }).map((piece) => `${piece.unit}${piece.gap}${piece.first}${piece.dash}${piece.last}${piece.slash}${piece.total}`);
}

const digestKindArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('body', 'bodyUpper', 'multi') },
  { weight: 4, arbitrary: fc.constantFrom('slot', 'other', 'md5', 'sha256', 'empty', 'shaEmpty', 'b64_19', 'b64_21', 'hex', 'absent') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map((junk) => `junk:${junk}`) },
);

function digestFor(kind: string, body: Buffer, slot: number): string | undefined {
  switch (kind) {
    case 'body': return `sha=${sha1Base64(body)}`;
    case 'bodyUpper': return `SHA=${sha1Base64(body)}`;
    case 'slot': return `sha=${sha1Base64(slotBytes(slot))}`;
    case 'other': return `sha=${sha1Base64(Buffer.concat([body, Buffer.from('!')]))}`;
    case 'md5': return `md5=${createHash('md5').update(body).digest('base64')}`;
    case 'sha256': return `sha-256=${createHash('sha256').update(body).digest('base64')}`;
    case 'empty': return '';
    case 'shaEmpty': return 'sha=';
    case 'b64_19': return `sha=${sha1Base64(body).slice(0, 24)}=`;
    case 'b64_21': return `sha=${Buffer.concat([createHash('sha1').update(body).digest(), Buffer.from([0])]).toString('base64')}`;
    case 'hex': return `sha=${sha1Hex(body)}`;
    case 'multi': return `md5=${createHash('md5').update(body).digest('base64')}, sha=${sha1Base64(body)}`;
    case 'absent': return undefined;
    default: return headerValue(kind.slice('junk:'.length));
  }
}

/** A body: the chosen slot's bytes of `data`, a little shorter or longer, one byte changed, or other bytes. */
const bodyArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'slot' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cut' as const), by: fc.integer({ min: 1, max: 64 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('long' as const), by: fc.integer({ min: 1, max: 64 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pattern' as const), length: fc.integer({ min: 0, max: PART + 64 }), seed: fc.nat(255) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('patternSlot' as const), seed: fc.nat(255) }) },
);

type BodySpec = typeof bodyArb extends fc.Arbitrary<infer T> ? T : never;

function bodyFor(spec: BodySpec, slot: number): Buffer {
  switch (spec.kind) {
    case 'slot': return slotBytes(slot);
    case 'cut': return slotBytes(slot).subarray(0, Math.max(0, sizeOf(slot) - spec.by));
    case 'long': return Buffer.concat([slotBytes(slot), patternBytes(spec.by, spec.by)]);
    case 'flip': {
      const bytes = Buffer.from(slotBytes(slot));
      const at = spec.at % bytes.length;
      bytes[at] = bytes[at]! ^ 0x5a;
      return bytes;
    }
    case 'pattern': return patternBytes(spec.length, spec.seed);
    case 'patternSlot': return patternBytes(sizeOf(slot), spec.seed);
  }
}

const sortParts = (parts: StoredPart[]) => [...parts].sort((a, b) => a.offset - b.offset);

describe('fuzzing PUT part', () => {
  it('answers every request with an expected status and Box errors, and changes stored parts only for a valid part', async () => {
    const reference = await createSession(`fuzz-parts-${++counter}.bin`);
    const known = [await putGoodPart(reference, 0), await putGoodPart(reference, 1)];
    let accepted = 0;

    await fc.assert(fc.asyncProperty(
      fc.record({
        slot: slotArb,
        contentRange: contentRangeArb,
        digestKind: digestKindArb,
        body: bodyArb,
        contentType: fc.constantFrom('application/octet-stream', 'application/octet-stream', undefined, 'application/json', 'text/plain'),
        chunked: fc.boolean(),
      }),
      async ({ slot, contentRange, digestKind, body, contentType, chunked }) => {
        const bytes = bodyFor(body, slot);
        const headers: Record<string, string> = {};
        const range = rangeFor(contentRange, slot);
        const digest = digestFor(digestKind, bytes, slot);
        if (range !== undefined) headers['content-range'] = range;
        if (digest !== undefined) headers.digest = digest;
        if (contentType !== undefined) headers['content-type'] = contentType;
        const label = JSON.stringify({ slot, range, digest, body, contentType, chunked });

        const before = await storedParts(reference);
        const reply = await send('PUT', `${server.upload}/files/upload_sessions/${reference}`, { token: server.token, headers, body: bytes, chunked });
        const after = await storedParts(reference);

        expect(PUT_STATUSES, `${label} -> ${reply.status} ${reply.text}`).toContain(reply.status);
        if (reply.status >= 400) expectBoxError(reply, {}, label);
        if (reply.status === 200) {
          accepted++;
          const part = reply.json.part as StoredPart;
          // A valid part: its range names one slot of this session, its digest these bytes, its body that slot's length.
          const named = /^bytes +(\d+)-(\d+)\/(\d+)$/.exec((range ?? '').trim());
          expect(named, `accepted a part whose Content-Range names no slot: ${label}`).not.toBeNull();
          expect([Number(named![1]), Number(named![2]), Number(named![3])], label).toEqual([part.offset, part.offset + part.size - 1, SIZE]);
          expect(part.offset % PART, label).toBe(0);
          expect(part.size, label).toBe(sizeOf(part.offset / PART));
          expect(bytes.length, label).toBe(part.size);
          expect(part.sha1, label).toBe(sha1Hex(bytes));
          expect(namedSha1s(digest), `accepted a part whose Digest does not name its bytes: ${label}`).toContain(sha1Base64(bytes));
          const prior = before.find((stored) => stored.offset === part.offset);
          if (prior) expect(part, `a retry must answer with the stored part: ${label}`).toEqual(prior);
          expect(after, label).toEqual(sortParts([...before.filter((stored) => stored.offset !== part.offset), part]));
        } else {
          expect(after, `a refused part changed the stored parts: ${label}`).toEqual(before);
        }
        expect(after.slice(0, 2), `the known good parts changed: ${label}`).toEqual(known);
      },
    ), { numRuns: RUNS, seed: SEED, endOnFailure: true });

    // The property holds trivially if nothing is ever accepted: the generator must reach valid parts too.
    expect(accepted).toBeGreaterThan(0);
    console.info(`PUT part fuzz: ${RUNS} requests, ${accepted} accepted as valid parts`);
  });
});

describe('fuzzing commit', () => {
  it('answers every request with an expected status and Box errors, never changes parts, and commits only a valid request', async () => {
    let target = await completeSession();
    const committedFiles: string[] = [];

    const fieldValue = fc.oneof(
      fc.constantFrom<unknown>(0, -1, PART, 0.5, 2 ** 53, 1e21, '0', null, true, [], {}, 'x', '00000000', '0'.repeat(40)),
      fc.integer(),
      fc.jsonValue({ maxDepth: 2 }),
    );
    const mutationArb = fc.oneof(
      fc.record({ op: fc.constant('drop' as const), at: fc.nat() }),
      fc.record({ op: fc.constant('duplicate' as const), at: fc.nat() }),
      fc.record({ op: fc.constant('swap' as const), at: fc.nat(), to: fc.nat() }),
      fc.record({ op: fc.constant('set' as const), at: fc.nat(), field: fc.constantFrom('offset', 'size', 'part_id', 'sha1', 'extra', '__proto__'), value: fieldValue }),
      fc.record({ op: fc.constant('strip' as const), at: fc.nat(), field: fc.constantFrom('part_id', 'sha1', 'offset', 'size') }),
      fc.record({ op: fc.constant('recase' as const), at: fc.nat(), field: fc.constantFrom('part_id', 'sha1') }),
    );
    type Mutation = typeof mutationArb extends fc.Arbitrary<infer T> ? T : never;

    function mutate(parts: StoredPart[], mutations: Mutation[]): unknown[] {
      const list: Array<Record<string, unknown>> = parts.map((part) => ({ ...part }));
      for (const mutation of mutations) {
        if (list.length === 0) break;
        const at = mutation.at % list.length;
        const entry = list[at]!;
        if (mutation.op === 'drop') list.splice(at, 1);
        else if (mutation.op === 'duplicate') list.push({ ...entry });
        else if (mutation.op === 'swap') [list[at], list[mutation.to % list.length]] = [list[mutation.to % list.length]!, entry];
        // defineProperty, so that "__proto__" becomes a key of the JSON rather than the object's prototype.
        else if (mutation.op === 'set') Object.defineProperty(entry, mutation.field, { value: mutation.value, enumerable: true, writable: true, configurable: true });
        else if (mutation.op === 'strip') delete entry[mutation.field];
        else if (typeof entry[mutation.field] === 'string') {
          const text = entry[mutation.field] as string;
          entry[mutation.field] = text === text.toUpperCase() ? text.toLowerCase() : text.toUpperCase();
        }
      }
      return list;
    }

    await fc.assert(fc.asyncProperty(
      fc.record({
        parts: fc.oneof(
          { weight: 4, arbitrary: fc.array(mutationArb, { maxLength: 3 }).map((mutations) => ({ kind: 'mutated' as const, mutations })) },
          { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => ({ kind: 'any' as const, value })) },
        ),
        shape: fc.oneof({ weight: 3, arbitrary: fc.constant('object') }, { weight: 3, arbitrary: fc.constantFrom('attributes', 'array', 'text') }),
        attributes: fc.oneof(
          fc.constant(undefined),
          fc.record({
            description: fc.oneof(fc.string({ maxLength: 20 }), fc.integer()),
            content_modified_at: fc.constantFrom<unknown>('2017-04-08T00:58:08Z', 'yesterday', '2017-99-99T99:99:99Z', 5, null),
          }, { requiredKeys: [] }),
          fc.jsonValue({ maxDepth: 2 }),
        ),
        text: fc.string({ unit: 'binary', maxLength: 60 }),
        digestKind: fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom('right', 'rightUpper', 'multi') },
          { weight: 4, arbitrary: fc.constantFrom('wrong', 'part', 'md5', 'absent', 'empty', 'b64_19', 'b64_21') },
          { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map((junk) => `junk:${junk}`) },
        ),
        ifMatch: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('0', '1', '*', 'garbage', '') }),
      }),
      async ({ parts: partsSpec, shape, attributes, text, digestKind, ifMatch }) => {
        const stored = await storedParts(target.id);
        const listed = partsSpec.kind === 'mutated' ? mutate(stored, partsSpec.mutations) : partsSpec.value;
        const body = shape === 'object' ? JSON.stringify({ parts: listed })
          : shape === 'attributes' ? JSON.stringify({ parts: listed, attributes })
            : shape === 'array' ? JSON.stringify([{ parts: listed }])
              : text;
        const right = sha1Base64(data);
        const digest = {
          right: `sha=${right}`, rightUpper: `SHA=${right}`, wrong: `sha=${sha1Base64(Buffer.from('wrong'))}`,
          part: `sha=${sha1Base64(slotBytes(0))}`, md5: `md5=${createHash('md5').update(data).digest('base64')}`, absent: undefined,
          empty: '', b64_19: `sha=${right.slice(0, 24)}=`, b64_21: `sha=${Buffer.concat([createHash('sha1').update(data).digest(), Buffer.from([1])]).toString('base64')}`,
          multi: `md5=${createHash('md5').update(data).digest('base64')}, sha=${right}`,
        }[digestKind] ?? (digestKind.startsWith('junk:') ? headerValue(digestKind.slice(5)) : undefined);
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (digest !== undefined) headers.digest = digest;
        if (ifMatch !== undefined) headers['if-match'] = ifMatch;
        const label = JSON.stringify({ body: body.slice(0, 600), digest, ifMatch });

        const wasCommitted = target.committed;
        const reply = await send('POST', `${server.upload}/files/upload_sessions/${target.id}/commit`, { token: server.token, headers, body });
        const after = await storedParts(target.id);

        expect(COMMIT_STATUSES, `${label} -> ${reply.status} ${reply.text}`).toContain(reply.status);
        if (reply.status >= 400) expectBoxError(reply, {}, label);
        expect(after, `a commit changed the stored parts: ${label}`).toEqual(stored);
        if (reply.status === 201) {
          const file = reply.json.entries[0];
          expect(file, label).toMatchObject({ name: target.name, size: SIZE, sha1: sha1Hex(data) });
          expect(namedSha1s(digest), `committed without the file's SHA-1 in Digest: ${label}`).toContain(right);
          if (!wasCommitted) {
            expect(shape === 'object' || shape === 'attributes', label).toBe(true);
            expect(listMatches(listed, stored), `committed with a part list that does not match the stored parts: ${label}`).toBe(true);
            target.committed = true;
            committedFiles.push(file.id);
          }
        }
        // A committed target is replaced, so that later runs can commit again.
        if (target.committed) target = await completeSession();
      },
    ), { numRuns: RUNS, seed: SEED, endOnFailure: true });

    // The property holds trivially if nothing is ever committed: the generator must reach valid commits too.
    expect(committedFiles.length).toBeGreaterThan(0);
    console.info(`commit fuzz: ${RUNS} requests, ${committedFiles.length} valid commits`);
    // Every file committed during the fuzz holds exactly the uploaded bytes.
    for (const fileId of committedFiles) {
      const redirect = await send('GET', `${server.api}/files/${fileId}/content`, { token: server.token });
      expect(redirect.status).toBe(302);
      const content = await send('GET', String(redirect.headers.location));
      expect(content.status).toBe(200);
      expect(content.bytes.equals(data)).toBe(true);
    }
  });
});

/** A complete, uncommitted session: every slot holds its part of `data`. */
async function completeSession(): Promise<{ id: string; name: string; committed: boolean }> {
  const name = `fuzz-commit-${++counter}.bin`;
  const id = await createSession(name);
  for (let slot = 0; slot < SLOTS; slot++) await putGoodPart(id, slot);
  return { id, name, committed: false };
}

/** Whether a commit's part list names exactly the stored parts (ids and SHA-1s compared without case). */
function listMatches(listed: unknown, stored: StoredPart[]): boolean {
  if (!Array.isArray(listed) || listed.length !== stored.length) return false;
  const seen = new Set<number>();
  for (const entry of listed) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return false;
    const part = entry as Record<string, unknown>;
    const match = stored.find((candidate) => candidate.offset === part.offset);
    if (!match || seen.has(match.offset) || part.size !== match.size) return false;
    seen.add(match.offset);
    if (part.part_id !== undefined && (typeof part.part_id !== 'string' || part.part_id.toUpperCase() !== match.part_id.toUpperCase())) return false;
    if (part.sha1 !== undefined && (typeof part.sha1 !== 'string' || part.sha1.toLowerCase() !== match.sha1.toLowerCase())) return false;
  }
  return seen.size === stored.length;
}
