import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { BoxClient, BoxDeveloperTokenAuth } from 'box-node-sdk';
import { pino, type Logger } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AdvancingClock, call, partRequest, sha1Base64, sha1Hex, startServer, type Reply, type TestServer } from '../helpers/partway.js';
import { SHARED_BACKENDS, startSharedServer } from '../helpers/shared-backends.js';
import { HookReceiver, refuse, type HookDelivery } from '../helpers/hook-receiver.js';

// The operator's blocking hooks (pre-create, pre-commit) over real HTTP: a receiver on loopback that
// checks every signature, and a stand-in virus scanner that reads the bytes through content_url.

const SECRET = 'hook-secret-for-tests';
const PART_SIZE = 5 * 1024 * 1024;
/** Two parts (the smallest S3 allows, and a short last one), so the scanner reads joined bytes. */
const FILE_SIZE = PART_SIZE + 1_000_000;
const MARKER = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR';
const TIMEOUT_SECONDS = 2;
const HOOK_LINK_MARGIN_MS = 5_000;

type Start = (settings: Record<string, string>, clock: AdvancingClock) => Promise<TestServer>;

function hookSettings(receiver: HookReceiver, more: Record<string, string> = {}): Record<string, string> {
  return {
    hookUrl: receiver.url, hookSecret: SECRET, hookTimeout: String(TIMEOUT_SECONDS),
    basePartSize: String(PART_SIZE), minChunkedSize: '1000000', ...more,
  };
}

/** Random bytes with the scanner's marker inside (or not). */
function content(infected: boolean): Buffer {
  const data = randomBytes(FILE_SIZE);
  if (infected) data.write(MARKER, PART_SIZE + 1234, 'latin1');
  return data;
}

/** A scanner: fetches content_url and refuses when the bytes hold the marker. */
function scanner(options: { abort?: boolean; seen?: Buffer[] } = {}) {
  return async (delivery: HookDelivery) => {
    if (delivery.event !== 'pre-commit') return { status: 204 };
    const response = await fetch(delivery.body.content_url);
    const bytes = Buffer.from(await response.arrayBuffer());
    options.seen?.push(bytes);
    return bytes.includes(Buffer.from(MARKER, 'latin1'))
      ? refuse('EICAR-Test-Signature found', { abort: options.abort ?? false })
      : { status: 200, body: JSON.stringify({ allow: true }) };
  };
}

/** A session with every part of `data` uploaded; `commit()` sends Box's commit. */
async function uploadedSession(server: TestServer, data: Buffer, name: string) {
  const created = await call('POST', `${server.upload}/files/upload_sessions`, {
    token: server.token, json: { folder_id: '0', file_size: data.length, file_name: name },
  });
  expect(created.status).toBe(201);
  const { id, part_size: partSize } = created.json as { id: string; part_size: number };
  const parts: unknown[] = [];
  for (let offset = 0; offset < data.length; offset += partSize) {
    const size = Math.min(partSize, data.length - offset);
    const part = await call('PUT', `${server.upload}/files/upload_sessions/${id}`, partRequest(data, offset, size, server.token));
    expect(part.status).toBe(200);
    parts.push(part.json.part);
  }
  const commit = () => call('POST', `${server.upload}/files/upload_sessions/${id}/commit`, {
    token: server.token, headers: { digest: `sha=${sha1Base64(data)}` }, json: { parts },
  });
  return { id, commit };
}

async function simpleUpload(server: TestServer, data: Buffer, name: string, path = '/files/content'): Promise<Reply> {
  const form = new FormData();
  form.append('attributes', JSON.stringify(path === '/files/content' ? { name, parent: { id: '0' } } : {}));
  form.append('file', new Blob([data]), 'file');
  const response = await fetch(`${server.upload}${path}`, { method: 'POST', body: form, headers: { authorization: `Bearer ${server.token}` } });
  const text = await response.text();
  return { status: response.status, headers: Object.fromEntries(response.headers), json: text === '' ? undefined : JSON.parse(text), text };
}

async function rootNames(server: TestServer): Promise<string[]> {
  const items = await call('GET', `${server.api}/folders/0/items`, { token: server.token });
  return (items.json.entries as { name: string }[]).map((entry) => entry.name);
}

function expectRefusal(reply: Reply, hook: string, message: string): void {
  expect(reply.status).toBe(403);
  expect(reply.json).toMatchObject({
    type: 'error', status: 403, code: 'forbidden_by_policy', message: 'The server\'s upload policy refused this request',
    context_info: { hook, message }, request_id: expect.any(String),
  });
}

function describeHooks(label: string, start: Start) {
  describe(`the operator's blocking hooks on ${label}`, () => {
    let receiver: HookReceiver;
    let server: TestServer;
    const clock = new AdvancingClock();

    beforeAll(async () => {
      receiver = await HookReceiver.start(SECRET);
      server = await start(hookSettings(receiver), clock);
    });
    afterAll(async () => {
      await server?.close();
      await receiver?.close();
    });
    afterEach(() => {
      expect(receiver.badSignatures).toBe(0);
      receiver.deliveries.length = 0;
      receiver.answer = () => ({ status: 204 });
    });

    it('sends a signed pre-create for a session, and a refusal answers 403 with the hook\'s message and opens no session', async () => {
      receiver.answer = () => refuse('uploads to the root are closed today');
      const name = `refused-${randomUUID()}.bin`;
      const created = await call('POST', `${server.upload}/files/upload_sessions`, {
        token: server.token, json: { folder_id: '0', file_size: FILE_SIZE, file_name: name },
      });
      expectRefusal(created, 'pre-create', 'uploads to the root are closed today');

      const [delivery] = receiver.of('pre-create');
      expect(delivery!.headers['content-type']).toBe('application/json');
      expect(delivery!.headers['partway-hook-delivery-id']).toBe(delivery!.body.delivery_id);
      expect(new Date(String(delivery!.headers['partway-hook-timestamp'])).toISOString()).toBe(delivery!.headers['partway-hook-timestamp']);
      expect(delivery!.body).toEqual({
        event: 'pre-create', delivery_id: expect.stringMatching(/^[0-9a-f-]{36}$/), created_at: expect.any(String),
        user: { id: expect.any(String), login: 'alice' },
        upload: { kind: 'session', session_id: null, folder_id: '0', file_id: null, name, size: FILE_SIZE },
      });
      expect(await rootNames(server)).not.toContain(name);
    });

    it('lets a session open when the hook answers 2xx with an empty body or {"allow": true}', async () => {
      for (const answer of [{ status: 204 }, { status: 200, body: '{"allow": true}' }]) {
        receiver.answer = () => answer;
        const created = await call('POST', `${server.upload}/files/upload_sessions`, {
          token: server.token, json: { folder_id: '0', file_size: FILE_SIZE, file_name: `allowed-${randomUUID()}.bin` },
        });
        expect(created.status).toBe(201);
        await call('DELETE', `${server.upload}/files/upload_sessions/${created.json.id}`, { token: server.token });
      }
    });

    it('refuses a simple upload at pre-create, before its bytes are read, also with a bare 403', async () => {
      receiver.answer = () => ({ status: 403 });
      const name = `simple-refused-${randomUUID()}.txt`;
      expectRefusal(await simpleUpload(server, randomBytes(1000), name), 'pre-create', '');
      expect(receiver.of('pre-create')[0]!.body.upload).toEqual({ kind: 'simple', session_id: null, folder_id: '0', file_id: null, name, size: null });
      expect(receiver.of('pre-commit')).toEqual([]);
      expect(await rootNames(server)).not.toContain(name);
    });

    it('a scanner reading content_url refuses an infected session: no file appears, the session stays usable and commits once cleared', async () => {
      const seen: Buffer[] = [];
      receiver.answer = scanner({ seen });
      const data = content(true);
      const name = `infected-${randomUUID()}.bin`;
      const session = await uploadedSession(server, data, name);

      const refused = await session.commit();
      expectRefusal(refused, 'pre-commit', 'EICAR-Test-Signature found');
      const [delivery] = receiver.of('pre-commit');
      expect(delivery!.body).toMatchObject({
        event: 'pre-commit', sha1: sha1Hex(data),
        upload: { kind: 'session', session_id: session.id, folder_id: '0', file_id: null, name, size: FILE_SIZE },
      });
      expect(seen[0]!.equals(data)).toBe(true);
      expect(await rootNames(server)).not.toContain(name);
      // The link ended with the hook's answer.
      expect((await fetch(delivery!.body.content_url)).status).toBe(404);

      // A retried commit asks again; the operator lets it through this time.
      const again = await session.commit();
      expectRefusal(again, 'pre-commit', 'EICAR-Test-Signature found');
      receiver.answer = () => ({ status: 204 });
      const committed = await session.commit();
      expect(committed.status).toBe(201);
      expect(committed.json.entries[0]).toMatchObject({ name, size: FILE_SIZE, sha1: sha1Hex(data) });
      expect(receiver.of('pre-commit')).toHaveLength(3);
    });

    it('a clean file goes through the scanner, which reads exactly the joined bytes, also by Range', async () => {
      const data = content(false);
      let ranged: Buffer | undefined;
      receiver.answer = async (delivery) => {
        if (delivery.event !== 'pre-commit') return { status: 204 };
        const part = await fetch(delivery.body.content_url, { headers: { range: `bytes=${PART_SIZE - 5}-${PART_SIZE + 4}` } });
        expect(part.status).toBe(206);
        expect(part.headers.get('etag')).toBe(`"${delivery.body.sha1}"`);
        ranged = Buffer.from(await part.arrayBuffer());
        return scanner()(delivery);
      };
      const name = `clean-${randomUUID()}.bin`;
      const committed = await (await uploadedSession(server, data, name)).commit();
      expect(committed.status).toBe(201);
      expect(ranged!.equals(data.subarray(PART_SIZE - 5, PART_SIZE + 5))).toBe(true);
      expect(await rootNames(server)).toContain(name);
    });

    it('aborts the session when the refusing hook asks for it', async () => {
      receiver.answer = scanner({ abort: true });
      const name = `aborted-${randomUUID()}.bin`;
      const session = await uploadedSession(server, content(true), name);
      expectRefusal(await session.commit(), 'pre-commit', 'EICAR-Test-Signature found');
      const after = await call('GET', `${server.upload}/files/upload_sessions/${session.id}`, { token: server.token });
      expect(after.status).toBe(404);
      expect((await session.commit()).status).toBe(404);
      expect(await rootNames(server)).not.toContain(name);
    });

    it('scans a simple upload after its bytes are stored: an infected one is refused and no file appears, a clean one is stored', async () => {
      receiver.answer = scanner();
      const infected = Buffer.concat([randomBytes(3000), Buffer.from(MARKER, 'latin1'), randomBytes(3000)]);
      const name = `simple-infected-${randomUUID()}.txt`;
      expectRefusal(await simpleUpload(server, infected, name), 'pre-commit', 'EICAR-Test-Signature found');
      const [delivery] = receiver.of('pre-commit');
      expect(delivery!.body).toMatchObject({ sha1: sha1Hex(infected), upload: { kind: 'simple', session_id: null, name, size: infected.length } });
      expect((await fetch(delivery!.body.content_url)).status).toBe(404);
      expect(await rootNames(server)).not.toContain(name);

      const clean = randomBytes(5000);
      const stored = await simpleUpload(server, clean, `simple-clean-${randomUUID()}.txt`);
      expect(stored.status).toBe(201);
      // A new version of that file by simple upload is scanned too, and names the file.
      const fileId = stored.json.entries[0].id as string;
      const version = await simpleUpload(server, infected, '', `/files/${fileId}/content`);
      expectRefusal(version, 'pre-commit', 'EICAR-Test-Signature found');
      expect(receiver.of('pre-commit').at(-1)!.body.upload).toMatchObject({ kind: 'simple', file_id: fileId });
      const file = await call('GET', `${server.api}/files/${fileId}`, { token: server.token });
      expect(file.json).toMatchObject({ sha1: sha1Hex(clean), size: clean.length });
    });

    it('the content link dies once its lifetime (the hook timeout and a margin) ends', async () => {
      const statuses: number[] = [];
      receiver.answer = async (delivery) => {
        if (delivery.event !== 'pre-commit') return { status: 204 };
        statuses.push((await fetch(delivery.body.content_url, { headers: { range: 'bytes=0-0' } })).status);
        clock.advance(TIMEOUT_SECONDS * 1000 + HOOK_LINK_MARGIN_MS + 1000);
        statuses.push((await fetch(delivery.body.content_url, { headers: { range: 'bytes=0-0' } })).status);
        return { status: 204 };
      };
      const committed = await (await uploadedSession(server, content(false), `lifetime-${randomUUID()}.bin`)).commit();
      expect(committed.status).toBe(201);
      expect(statuses).toEqual([206, 404]);
    });

    it('box-node-sdk v10\'s uploadBigFile gets the 403 with the hook\'s message', async () => {
      receiver.answer = scanner();
      const sdk = new BoxClient({ auth: new BoxDeveloperTokenAuth({ token: server.token }) }).withCustomBaseUrls({
        baseUrl: server.url, uploadUrl: `${server.url}/api`, oauth2Url: `${server.url}/oauth2`,
      });
      const data = content(true);
      const name = `sdk-infected-${randomUUID()}.bin`;
      await expect(sdk.chunkedUploads.uploadBigFile(Readable.from([data]), name, data.length, '0')).rejects.toMatchObject({
        // The SDK keeps the code as the JSON it was (quoted).
        responseInfo: { statusCode: 403, code: expect.stringContaining('forbidden_by_policy'), contextInfo: { hook: 'pre-commit', message: 'EICAR-Test-Signature found' } },
      });
      expect(await rootNames(server)).not.toContain(name);
    });
  });
}

describeHooks('SQLite and the local disk', (settings, clock) => startServer(settings, { now: clock.now }));

describe.skipIf(!SHARED_BACKENDS)('with PARTWAY_TEST_DATABASE_URL and PARTWAY_TEST_S3_ENDPOINT', () => {
  describeHooks('PostgreSQL and S3', (settings, clock) => startSharedServer(settings, { now: clock.now }));
});

describe('a hook that fails', () => {
  let receiver: HookReceiver;
  const servers: TestServer[] = [];

  beforeAll(async () => {
    receiver = await HookReceiver.start(SECRET);
  });
  afterAll(async () => {
    for (const server of servers) await server.close();
    await receiver?.close();
  });

  const logLines: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => { logLines.push(line); } }) as Logger;

  async function serverWith(more: Record<string, string>): Promise<TestServer> {
    const server = await startServer(hookSettings(receiver, more), { logger });
    servers.push(server);
    return server;
  }

  it('fails closed by default: a hook that times out or answers 5xx or nonsense gives 503 with Retry-After, and the session is untouched', async () => {
    const server = await serverWith({});
    receiver.answer = () => ({ status: 204 });
    const data = content(false);
    const name = `closed-${randomUUID()}.bin`;
    const session = await uploadedSession(server, data, name);

    for (const answer of [{ status: 204, delayMs: TIMEOUT_SECONDS * 1000 + 500 }, { status: 500 }, { status: 200, body: 'yes please' }, { status: 200, body: '{}' }]) {
      receiver.answer = () => answer;
      const failed = await session.commit();
      expect(failed.status).toBe(503);
      expect(failed.headers['retry-after']).toMatch(/^[0-9]+$/);
      expect(failed.json).toMatchObject({ type: 'error', status: 503, code: 'unavailable', context_info: { hook: 'pre-commit' } });
    }
    expect(await rootNames(server)).not.toContain(name);
    receiver.answer = () => ({ status: 204 });
    expect((await session.commit()).status).toBe(201);

    // Each failure is logged at warn with its delivery id, and the secret is never written.
    const failures = logLines.map((line) => JSON.parse(line)).filter((entry) => entry.msg.startsWith('hook failed'));
    expect(failures.map((entry) => [entry.level, entry.event])).toEqual(Array(4).fill([40, 'pre-commit']));
    expect(failures.map((entry) => entry.deliveryId)).toEqual(receiver.of('pre-commit').slice(0, 4).map((delivery) => delivery.body.delivery_id));
    expect(failures.map((entry) => entry.reason)[0]).toBe('timed out');
    expect(logLines.join('\n')).not.toContain(SECRET);
  });

  it('fails open when set so: a hook that times out lets the upload through', async () => {
    const server = await serverWith({ hookFailure: 'open' });
    receiver.answer = () => ({ status: 204, delayMs: TIMEOUT_SECONDS * 1000 + 500 });
    const name = `open-${randomUUID()}.txt`;
    expect((await simpleUpload(server, randomBytes(100), name)).status).toBe(201);
    expect(await rootNames(server)).toContain(name);
  });

  it('fails closed when the hook cannot be reached at all', async () => {
    // A port the OS handed out and nothing listens on any more.
    const closed = await HookReceiver.start(SECRET);
    const url = closed.url;
    await closed.close();
    const server = await serverWith({ hookUrl: url });
    const created = await call('POST', `${server.upload}/files/upload_sessions`, {
      token: server.token, json: { folder_id: '0', file_size: FILE_SIZE, file_name: `unreachable-${randomUUID()}.bin` },
    });
    expect(created.status).toBe(503);
    expect(created.json).toMatchObject({ code: 'unavailable', context_info: { hook: 'pre-create' } });
  });

  it('sends only the configured events', async () => {
    const server = await serverWith({ hookEvents: 'pre-commit' });
    receiver.deliveries.length = 0;
    receiver.answer = () => refuse('no');
    const name = `filtered-${randomUUID()}.txt`;
    expectRefusal(await simpleUpload(server, randomBytes(100), name), 'pre-commit', 'no');
    expect(receiver.deliveries.map((delivery) => delivery.event)).toEqual(['pre-commit']);

    const quiet = await serverWith({ hookEvents: 'post-commit' });
    receiver.deliveries.length = 0;
    expect((await simpleUpload(quiet, randomBytes(100), name)).status).toBe(201);
    expect(receiver.deliveries).toEqual([]);
    expect(receiver.badSignatures).toBe(0);
  });
});
