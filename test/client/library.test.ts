import { closeSync, openSync, truncateSync, utimesSync, writeSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AbortedError, BoxApiError, PartwayClient, SourceChangedError, VerificationError, type ResumeState, type RetryPolicy, type UploadProgress,
} from '../../src/client/index.js';
import { tempDir } from '../helpers/cli.js';
import { BEHIND_FAULT_PROXY, FaultProxy } from '../helpers/fault-proxy.js';
import { call, randomData, sha1Hex, startServer, type TestServer } from '../helpers/partway.js';
import { ServerWatch } from '../helpers/server-watch.js';

const PART = 256 * 1024;
const SIZE = 16 * PART + 1234; // 17 parts, the last one short
const TOTAL_PARTS = 17;
const THRESHOLD = 1_000_000;
/** Retries quickly, so that tests with injected faults stay short (Retry-After still wins). */
const FAST_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 20, maxDelayMs: 5_000 };
const PART_PUT = /^\/api\/2\.0\/files\/upload_sessions\/[0-9A-F]+$/;

let server: TestServer;
let proxy: FaultProxy;
let watch: ServerWatch;
let dir: { path: string; remove(): Promise<void> };
let data: Buffer;
let dataPath: string;
let counter = 0;
const clients: PartwayClient[] = [];

beforeAll(async () => {
  server = await startServer({ basePartSize: String(PART), minChunkedSize: String(THRESHOLD), ...BEHIND_FAULT_PROXY });
  proxy = await FaultProxy.start(server.url);
  watch = new ServerWatch(server);
  dir = await tempDir('partway-library-');
  data = randomData(SIZE);
  dataPath = join(dir.path, 'data.bin');
  await writeFile(dataPath, data);
});
afterAll(async () => {
  watch.detach();
  await proxy.close();
  await server.close();
  await dir.remove();
});
beforeEach(() => {
  proxy.clearRules();
  proxy.resetPeaks();
  proxy.requests.length = 0;
  watch.reset();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

/** A client that goes through the fault proxy. */
function client(retry: RetryPolicy = FAST_RETRY): PartwayClient {
  const created = new PartwayClient({ server: proxy.url, token: server.token, retry });
  clients.push(created);
  return created;
}

const uniqueName = () => `lib-${++counter}.bin`;

async function downloadedSha1(fileId: string): Promise<string> {
  const target = join(dir.path, `download-${++counter}.bin`);
  const result = await client().download(fileId, target);
  const bytes = await readFile(target);
  expect(result.sha1).toBe(sha1Hex(bytes));
  return sha1Hex(bytes);
}

/** Progress only ever grows and its last report is the whole file. */
function expectMonotonic(events: UploadProgress[], size: number, totalParts: number) {
  expect(events.length).toBeGreaterThan(0);
  for (let i = 1; i < events.length; i++) {
    expect(events[i]!.bytesDone).toBeGreaterThanOrEqual(events[i - 1]!.bytesDone);
    expect(events[i]!.partsDone).toBeGreaterThanOrEqual(events[i - 1]!.partsDone);
  }
  for (const event of events) {
    expect(event.totalBytes).toBe(size);
    expect(event.totalParts).toBe(totalParts);
    expect(event.bytesDone).toBeLessThanOrEqual(size);
  }
  expect(events.at(-1)).toEqual({ bytesDone: size, totalBytes: size, partsDone: totalParts, totalParts });
}

async function* inChunks(bytes: Buffer, chunk: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += chunk) yield new Uint8Array(bytes.subarray(offset, offset + chunk));
}

describe('uploading with the library', () => {
  it('uploads from a path, a Blob and a stream of known size, each in parts, verified and byte-identical', async () => {
    const expected = sha1Hex(data);
    const sources = [
      { source: dataPath, name: uniqueName() },
      { source: new Blob([data]), name: uniqueName() },
      // Chunks that do not line up with parts.
      { source: { stream: inChunks(data, 100_003), size: SIZE }, name: uniqueName() },
    ];
    for (const { source, name } of sources) {
      watch.reset();
      const progress: UploadProgress[] = [];
      const result = await client().upload(source, { name, chunkedThreshold: THRESHOLD, onProgress: (event) => progress.push(event) });
      expect(result).toMatchObject({ sha1: expected, size: SIZE, partsSent: TOTAL_PARTS, partsSkipped: 0, resumed: false });
      expect(result.file).toMatchObject({ type: 'file', name, size: SIZE, sha1: expected });
      expect(watch.partsStored()).toBe(TOTAL_PARTS);
      expect(watch.count('POST', /\/commit$/, 201)).toBe(1);
      expectMonotonic(progress, SIZE, TOTAL_PARTS);
      expect(await downloadedSha1(result.file.id)).toBe(expected);
    }
  });

  it('takes the name of a path or a File when none is given, and refuses a nameless stream', async () => {
    const named = join(dir.path, `${uniqueName()}`);
    await writeFile(named, data.subarray(0, 5000));
    const fromPath = await client().upload(named);
    expect(fromPath.file.name).toBe(named.split('/').at(-1));
    const fromFile = await client().upload(new File([data.subarray(0, 5000)], 'from-a-file.bin'));
    expect(fromFile.file.name).toBe('from-a-file.bin');
    await expect(client().upload({ stream: inChunks(data.subarray(0, 10), 4), size: 10 })).rejects.toMatchObject({ kind: 'usage' });
  });

  it('sends files under the threshold through the simple upload, in one request', async () => {
    const small = randomData(300_000);
    const progress: UploadProgress[] = [];
    const result = await client().upload(new Blob([small]), { name: uniqueName(), onProgress: (event) => progress.push(event) });
    expect(result).toMatchObject({ sha1: sha1Hex(small), size: small.length, sessionId: undefined, partsSent: 1, partsSkipped: 0, resumed: false });
    expect(watch.count('POST', /^\/api\/2\.0\/files\/content$/, 201)).toBe(1);
    expect(watch.count(undefined, /upload_sessions/)).toBe(0);
    expectMonotonic(progress, small.length, 1);
    expect(await downloadedSha1(result.file.id)).toBe(sha1Hex(small));

    // 20,000,000 bytes is Box's threshold: just under it is still one request.
    watch.reset();
    const justUnder = await client().upload({ stream: inChunks(Buffer.alloc(19_999_999, 7), 4 * 1024 * 1024), size: 19_999_999 }, { name: uniqueName() });
    expect(justUnder.sessionId).toBeUndefined();
    expect(watch.count('POST', /^\/api\/2\.0\/files\/content$/, 201)).toBe(1);
    expect(watch.count(undefined, /upload_sessions/)).toBe(0);
    // And exactly 20,000,000 bytes takes an upload session.
    watch.reset();
    const atThreshold = await client().upload({ stream: inChunks(Buffer.alloc(20_000_000, 7), 4 * 1024 * 1024), size: 20_000_000 }, { name: uniqueName() });
    expect(atThreshold.sessionId).toBeDefined();
    expect(watch.count('POST', /\/files\/upload_sessions$/, 201)).toBe(1);
    expect(watch.count('POST', /^\/api\/2\.0\/files\/content$/)).toBe(0);
  });

  it('uploads and downloads an empty file', async () => {
    const progress: UploadProgress[] = [];
    const result = await client().upload(new Blob([]), { name: uniqueName(), onProgress: (event) => progress.push(event) });
    expect(result).toMatchObject({ size: 0, sha1: sha1Hex(Buffer.alloc(0)), sessionId: undefined });
    expect(result.file).toMatchObject({ size: 0, sha1: sha1Hex(Buffer.alloc(0)) });
    expect(progress.at(-1)).toMatchObject({ bytesDone: 0, totalBytes: 0 });
    const target = join(dir.path, `empty-${++counter}.bin`);
    expect(await client().download(result.file.id, target)).toMatchObject({ size: 0, resumedFrom: 0 });
    expect((await stat(target)).size).toBe(0);
  });

  it('falls back to the simple upload when the server\'s chunked minimum is above the client\'s', async () => {
    const bytes = randomData(700_000);
    const result = await client().upload(new Blob([bytes]), { name: uniqueName(), chunkedThreshold: 500_000 });
    expect(result).toMatchObject({ sha1: sha1Hex(bytes), sessionId: undefined, partsSent: 1 });
    expect(watch.count('POST', /\/files\/upload_sessions$/, 400)).toBe(1);
    expect(watch.count('POST', /^\/api\/2\.0\/files\/content$/, 201)).toBe(1);
  });

  it('works with Box\'s layout of two base URLs, and needs one of the two layouts', async () => {
    const boxLayout = new PartwayClient({ baseUrl: `${proxy.url}/`, uploadUrl: `${proxy.url}/api`, token: server.token, retry: FAST_RETRY });
    clients.push(boxLayout);
    const result = await boxLayout.upload(dataPath, { name: uniqueName(), chunkedThreshold: THRESHOLD });
    expect(result.sha1).toBe(sha1Hex(data));
    expect((await boxLayout.me()).name).toBe('alice');
    expect(() => new PartwayClient({ token: server.token })).toThrow(TypeError);
    expect(() => new PartwayClient({ baseUrl: proxy.url, token: server.token })).toThrow(TypeError);
  });

  it('keeps several parts in flight with concurrency 4, and never more than the concurrency', async () => {
    // Part bodies reach the server slowly, so parts sent together are in flight there together.
    const slowBodies = proxy.rule({ method: 'PUT', path: PART_PUT, throttleRequest: { chunkBytes: 64 * 1024, intervalMs: 15 } });
    const four = await client().upload(dataPath, { name: uniqueName(), concurrency: 4, chunkedThreshold: THRESHOLD });
    expect(four.partsSent).toBe(TOTAL_PARTS);
    expect(watch.peakInFlight('PUT')).toBeGreaterThan(1);
    expect(watch.peakInFlight('PUT')).toBeLessThanOrEqual(4);
    expect(proxy.peakInFlight('PUT')).toBeGreaterThan(1);
    expect(proxy.peakInFlight('PUT')).toBeLessThanOrEqual(4);

    // Late answers are enough to show the bound, and cheaper.
    slowBodies.remove();
    proxy.rule({ method: 'PUT', path: PART_PUT, delayResponseMs: 20 });
    const eightParts = data.subarray(0, 8 * PART);
    for (const concurrency of [1, 2]) {
      watch.reset();
      proxy.resetPeaks();
      const result = await client().upload(new Blob([eightParts]), { name: uniqueName(), concurrency, chunkedThreshold: THRESHOLD });
      expect(result).toMatchObject({ sha1: sha1Hex(eightParts), partsSent: 8 });
      expect(proxy.peakInFlight('PUT')).toBeGreaterThanOrEqual(1);
      expect(proxy.peakInFlight('PUT')).toBeLessThanOrEqual(concurrency);
      expect(watch.peakInFlight('PUT')).toBeLessThanOrEqual(concurrency);
    }
  });

  it('calls onState once the session exists and waits for it before sending the first part', async () => {
    const seen: Array<{ state: ResumeState; putsBefore: number; putsAfter: number }> = [];
    const result = await client().upload(dataPath, {
      name: uniqueName(), chunkedThreshold: THRESHOLD,
      onState: async (state) => {
        const putsBefore = watch.count('PUT');
        // Persisting can be slow; nothing may be sent before it is done.
        await new Promise((resolve) => setTimeout(resolve, 150));
        seen.push({ state, putsBefore, putsAfter: watch.count('PUT') });
      },
    });
    expect(seen).toHaveLength(1);
    const [{ state, putsBefore, putsAfter }] = seen as [typeof seen[number]];
    expect(putsBefore).toBe(0);
    expect(putsAfter).toBe(0);
    expect(watch.count('POST', /\/files\/upload_sessions$/, 201)).toBe(1);
    expect(state).toMatchObject({ sessionId: result.sessionId, partSize: PART, totalParts: TOTAL_PARTS, fileSize: SIZE });
    expect(state.sessionEndpoints.upload_part).toBe(`${proxy.url}/api/2.0/files/upload_sessions/${result.sessionId}`);
    expect(Date.parse(state.expiresAt)).toBeGreaterThan(Date.now());
  });

  it('stops on an AbortSignal with AbortedError; the saved state resumes and sends only the missing parts', async () => {
    // Answers to parts come late, so the abort lands while parts are in flight.
    const slow = proxy.rule({ method: 'PUT', path: PART_PUT, delayResponseMs: 40 });
    const stop = new AbortController();
    let saved: ResumeState | undefined;
    const first: UploadProgress[] = [];
    const name = uniqueName();
    const aborted = client().upload(dataPath, {
      name, chunkedThreshold: THRESHOLD, concurrency: 4, signal: stop.signal,
      onState: (state) => { saved = state; },
      onProgress: (event) => {
        first.push(event);
        if (event.partsDone >= 4) stop.abort();
      },
    });
    await expect(aborted).rejects.toBeInstanceOf(AbortedError);
    await expect(aborted).rejects.toMatchObject({ kind: 'aborted' });
    expect(saved).toBeDefined();
    expect(watch.count('POST', /\/commit$/)).toBe(0);
    slow.remove();

    // Whatever reached the server before the abort is kept there; the rest is missing.
    await proxy.idle();
    await watch.idle();
    const held = await client().listParts(saved!);
    expect(held.length).toBeGreaterThanOrEqual(4);
    expect(held.length).toBeLessThan(TOTAL_PARTS);

    watch.reset();
    const progress: UploadProgress[] = [];
    const result = await client().upload(dataPath, {
      name, chunkedThreshold: THRESHOLD, resume: saved, onProgress: (event) => progress.push(event),
    });
    expect(result).toMatchObject({
      resumed: true, sessionId: saved!.sessionId, partsSkipped: held.length, partsSent: TOTAL_PARTS - held.length, sha1: sha1Hex(data),
    });
    expect(watch.partsStored()).toBe(TOTAL_PARTS - held.length);
    expect(watch.count('PUT')).toBe(TOTAL_PARTS - held.length);
    expect(watch.count('POST', /\/files\/upload_sessions$/)).toBe(0);
    expectMonotonic(progress, SIZE, TOTAL_PARTS);
    expect(await downloadedSha1(result.file.id)).toBe(sha1Hex(data));
  });

  it('refuses to resume a session with different bytes of the same size, and commits nothing', async () => {
    const stop = new AbortController();
    let saved: ResumeState | undefined;
    const name = uniqueName();
    await expect(client().upload(dataPath, {
      name, chunkedThreshold: THRESHOLD, concurrency: 1, signal: stop.signal,
      onState: (state) => { saved = state; },
      onProgress: (event) => { if (event.partsDone >= 2) stop.abort(); },
    })).rejects.toBeInstanceOf(AbortedError);
    await proxy.idle();
    await watch.idle();
    expect((await client().listParts(saved!)).length).toBeGreaterThanOrEqual(2);

    watch.reset();
    const other = randomData(SIZE);
    await expect(client().upload(new Blob([other]), { name, chunkedThreshold: THRESHOLD, resume: saved }))
      .rejects.toBeInstanceOf(SourceChangedError);
    expect(watch.count('POST', /\/commit$/)).toBe(0);
    const listed = await call('GET', `${server.api}/folders/0/items`, { token: server.token });
    expect(listed.json.entries.map((item: { name: string }) => item.name)).not.toContain(name);
  });

  it('answers a resume of a session that was already committed with that file, sending nothing again', async () => {
    // A crash between the commit and forgetting the saved state: the re-run must not upload twice.
    let saved: ResumeState | undefined;
    const name = uniqueName();
    const first = await client().upload(dataPath, { name, chunkedThreshold: THRESHOLD, onState: (state) => { saved = state; } });
    watch.reset();
    const again = await client().upload(dataPath, { name, chunkedThreshold: THRESHOLD, resume: saved });
    expect(again).toMatchObject({ resumed: true, partsSent: 0, partsSkipped: TOTAL_PARTS, sessionId: first.sessionId, sha1: sha1Hex(data) });
    expect(again.file.id).toBe(first.file.id);
    expect(watch.count('PUT')).toBe(0);
    expect(watch.count('POST', /\/files\/upload_sessions$/)).toBe(0);
    const listed = await call('GET', `${server.api}/folders/0/items`, { token: server.token });
    expect(listed.json.entries.filter((item: { name: string }) => item.name === name)).toHaveLength(1);
  });

  it('refuses to commit a file that was modified while it was read', async () => {
    const path = join(dir.path, `${uniqueName()}`);
    await writeFile(path, data);
    let touched = false;
    const upload = client().upload(path, {
      name: uniqueName(), chunkedThreshold: THRESHOLD, concurrency: 2,
      onProgress: (event) => {
        if (touched || event.partsDone < 2) return;
        touched = true;
        // Same size, other bytes near the end, and a new modification time.
        const handle = openSync(path, 'r+');
        writeSync(handle, randomData(1000), 0, 1000, SIZE - 5000);
        closeSync(handle);
        const later = new Date(Date.now() + 10_000);
        utimesSync(path, later, later);
      },
    });
    await expect(upload).rejects.toBeInstanceOf(SourceChangedError);
    await expect(upload).rejects.toMatchObject({ kind: 'changed' });
    expect(watch.count('POST', /\/commit$/)).toBe(0);
  });

  it('refuses a file that became shorter while it was read, committing nothing', async () => {
    // The path's parts are read into shared buffers and hashed on worker threads: a read that comes
    // up short must still fail the upload, and the buffers in flight must not leak into a commit.
    const path = join(dir.path, `${uniqueName()}`);
    await writeFile(path, data);
    let cut = false;
    const upload = client().upload(path, {
      name: uniqueName(), chunkedThreshold: THRESHOLD, concurrency: 1,
      onProgress: (event) => {
        if (cut || event.partsDone < 2) return;
        cut = true;
        truncateSync(path, 5 * PART + 10);
      },
    });
    await expect(upload).rejects.toBeInstanceOf(SourceChangedError);
    await proxy.idle();
    await watch.idle();
    expect(watch.count('POST', /\/commit$/)).toBe(0);
  });

  it('hashes a path read into reused buffers the same as its bytes, whatever the concurrency', async () => {
    for (const concurrency of [1, 3, 8]) {
      const result = await client().upload(dataPath, { name: uniqueName(), chunkedThreshold: THRESHOLD, concurrency });
      expect({ sha1: result.sha1, size: result.size, parts: result.partsSent, stored: result.file.sha1 })
        .toEqual({ sha1: sha1Hex(data), size: SIZE, parts: TOTAL_PARTS, stored: sha1Hex(data) });
    }
  });

  it('refuses a stream that ends early or runs long, committing nothing', async () => {
    const short = client().upload({ stream: inChunks(data.subarray(0, SIZE - 5000), 65_536), size: SIZE }, { name: uniqueName(), chunkedThreshold: THRESHOLD });
    await expect(short).rejects.toBeInstanceOf(SourceChangedError);
    const long = client().upload({ stream: inChunks(Buffer.concat([data, randomData(5000)]), 65_536), size: SIZE }, { name: uniqueName(), chunkedThreshold: THRESHOLD });
    await expect(long).rejects.toBeInstanceOf(SourceChangedError);
    const longSmall = client().upload({ stream: inChunks(randomData(2000), 500), size: 1000 }, { name: uniqueName() });
    await expect(longSmall).rejects.toBeInstanceOf(SourceChangedError);
    await proxy.idle();
    await watch.idle();
    expect(watch.count('POST', /\/commit$/)).toBe(0);
    expect(watch.count('POST', /\/files\/content$/)).toBe(0);
  });

  it('leaves no part upload running once it has failed on a source that ended early', async () => {
    // Parts in flight when the source fails must be stopped (or awaited) before the promise settles.
    proxy.rule({ method: 'PUT', path: PART_PUT, delayResponseMs: 2_000 });
    const own = new PartwayClient({ server: proxy.url, token: server.token, retry: FAST_RETRY });
    const failing = own.upload({ stream: inChunks(data.subarray(0, 3 * PART), 65_536), size: SIZE }, {
      name: uniqueName(), chunkedThreshold: THRESHOLD, concurrency: 4,
    });
    await expect(failing).rejects.toBeInstanceOf(SourceChangedError);
    const settledAt = Date.now();
    // Closing the client waits for whatever it still has running.
    await own.close();
    await proxy.idle();
    // Each part upload was either cut off by the client (no answer delivered) or done before upload() settled.
    const answeredLater = proxy.requests.filter((entry) => entry.method === 'PUT' && entry.status !== undefined && entry.endedAt! > settledAt);
    expect(answeredLater.map((entry) => `${entry.method} ${entry.url} ${entry.status}`)).toEqual([]);
  });

  it('surfaces a name clash as BoxApiError 409 item_name_in_use, for a session and for a simple upload', async () => {
    const name = uniqueName();
    const first = await client().upload(dataPath, { name, chunkedThreshold: THRESHOLD });
    const chunked = client().upload(dataPath, { name, chunkedThreshold: THRESHOLD });
    await expect(chunked).rejects.toBeInstanceOf(BoxApiError);
    await expect(chunked).rejects.toMatchObject({ status: 409, code: 'item_name_in_use', kind: 'api' });
    const clash = await chunked.catch((error: BoxApiError) => error);
    expect((clash as BoxApiError).contextInfo).toMatchObject({ conflicts: { id: first.file.id } });

    const simple = client().upload(new Blob([randomData(1000)]), { name });
    await expect(simple).rejects.toMatchObject({ status: 409, code: 'item_name_in_use' });
  });

  it('uploads a new version of a file through an upload session', async () => {
    const original = await client().upload(new Blob([randomData(1000)]), { name: uniqueName() });
    expect(original.file.etag).toBe('0');
    const version = await client().upload(dataPath, { newVersionOf: original.file.id, chunkedThreshold: THRESHOLD });
    expect(version.sessionId).toBeDefined();
    expect(version.file).toMatchObject({ id: original.file.id, name: original.file.name, etag: '1', size: SIZE, sha1: sha1Hex(data) });
    expect(await downloadedSha1(original.file.id)).toBe(sha1Hex(data));
  });
});

describe('the library against a server that fails for a while', () => {
  it('retries 503s and 429s (waiting out Retry-After) and still commits a byte-identical file', async () => {
    const busy = { status: 503, body: { type: 'error', status: 503, code: 'unavailable', message: 'Try again' } };
    const create = proxy.rule({ method: 'POST', path: /\/files\/upload_sessions$/, times: 1, respond: busy });
    const parts = proxy.rule({ method: 'PUT', path: PART_PUT, times: 3, respond: busy });
    // Box answers 202 to a commit while it still processes parts: wait, then commit again.
    const processing = proxy.rule({ method: 'POST', path: /\/commit$/, times: 1, respond: { status: 202, headers: { 'retry-after': '0' } } });
    const commit = proxy.rule({
      method: 'POST', path: /\/commit$/, times: 1,
      respond: { status: 429, headers: { 'retry-after': '1' }, body: { type: 'error', status: 429, code: 'rate_limit_exceeded', message: 'Slow down' } },
    });
    const result = await client().upload(dataPath, { name: uniqueName(), chunkedThreshold: THRESHOLD });
    expect(result).toMatchObject({ sha1: sha1Hex(data), partsSent: TOTAL_PARTS });
    expect([create.hits, parts.hits, processing.hits, commit.hits]).toEqual([1, 3, 1, 1]);
    // Every part reached the server once, after the answers the proxy made up.
    expect(watch.partsStored()).toBe(TOTAL_PARTS);
    expect(watch.count('POST', /\/commit$/, 201)).toBe(1);

    const commits = proxy.requests.filter((entry) => entry.method === 'POST' && /\/commit$/.test(entry.url));
    expect(commits.map((entry) => entry.status)).toEqual([202, 429, 201]);
    expect(commits[2]!.startedAt - commits[1]!.endedAt!).toBeGreaterThanOrEqual(900);
    expect(await downloadedSha1(result.file.id)).toBe(sha1Hex(data));
  });

  it('sends a part again when the connection broke after the server stored it, and the server takes the repeat', async () => {
    const dropped = proxy.rule({ method: 'PUT', path: PART_PUT, times: 2, dropResponse: true });
    const result = await client().upload(dataPath, { name: uniqueName(), chunkedThreshold: THRESHOLD });
    expect(dropped.hits).toBe(2);
    expect(result).toMatchObject({ sha1: sha1Hex(data), partsSent: TOTAL_PARTS });
    // The server answered 200 to both sends of the two parts whose first answer was lost.
    expect(watch.partsStored()).toBe(TOTAL_PARTS + 2);
    expect(proxy.count({ method: 'PUT', status: 200 })).toBe(TOTAL_PARTS);
    expect(await downloadedSha1(result.file.id)).toBe(sha1Hex(data));
  });

  it('downloads through 503s from the API and the download link, byte-identical', async () => {
    const uploaded = await client().upload(dataPath, { name: uniqueName(), chunkedThreshold: THRESHOLD });
    const api = proxy.rule({ method: 'GET', path: /^\/2\.0\/files\/\d+\/content$/, times: 2, respond: { status: 503 } });
    const link = proxy.rule({ method: 'GET', path: /^\/downloads\//, times: 1, respond: { status: 502 } });
    expect(await downloadedSha1(uploaded.file.id)).toBe(sha1Hex(data));
    expect([api.hits, link.hits]).toEqual([2, 1]);
  });

  it('waits out Retry-After on a 429 from the download link before asking again', async () => {
    const uploaded = await client().upload(new Blob([randomData(50_000)]), { name: uniqueName() });
    proxy.rule({
      method: 'GET', path: /^\/downloads\//, times: 1,
      respond: { status: 429, headers: { 'retry-after': '2' }, body: { type: 'error', status: 429, code: 'rate_limit_exceeded', message: 'Slow down' } },
    });
    await downloadedSha1(uploaded.file.id);
    const links = proxy.requests.filter((entry) => entry.method === 'GET' && entry.url.startsWith('/downloads/'));
    expect(links.map((entry) => entry.status)).toEqual([429, 200]);
    expect(links[1]!.startedAt - links[0]!.endedAt!).toBeGreaterThanOrEqual(1900);
  });

  it('gives up after the attempts the policy allows, with the server\'s BoxApiError', async () => {
    proxy.rule({ method: 'POST', path: /\/files\/upload_sessions$/, respond: { status: 503, body: { type: 'error', status: 503, code: 'unavailable', message: 'Down' } } });
    const failing = client({ attempts: 3, baseDelayMs: 10, maxDelayMs: 50 }).upload(dataPath, { name: uniqueName(), chunkedThreshold: THRESHOLD });
    await expect(failing).rejects.toMatchObject({ status: 503, code: 'unavailable' });
    expect(proxy.count({ method: 'POST', path: /\/files\/upload_sessions$/ })).toBe(3);
    expect(watch.count('POST', /upload_sessions/)).toBe(0);
  });
});

describe('downloading with the library', () => {
  it('stops on an AbortSignal, keeps the partial file, and resumes from it with Range', async () => {
    const uploaded = await client().upload(dataPath, { name: uniqueName(), chunkedThreshold: THRESHOLD });
    const target = join(dir.path, `resumed-${++counter}.bin`);
    const slow = proxy.rule({ method: 'GET', path: /^\/downloads\//, throttle: { chunkBytes: 32 * 1024, intervalMs: 10 } });
    const stop = new AbortController();
    const first = client().download(uploaded.file.id, target, {
      signal: stop.signal, onProgress: (event) => { if (event.bytesDone >= 1024 * 1024) stop.abort(); },
    });
    await expect(first).rejects.toBeInstanceOf(AbortedError);
    slow.remove();
    const partialSize = (await stat(`${target}.partial`)).size;
    expect(partialSize).toBeGreaterThanOrEqual(1024 * 1024);
    expect(partialSize).toBeLessThan(SIZE);
    await expect(stat(target)).rejects.toMatchObject({ code: 'ENOENT' });

    proxy.requests.length = 0;
    const progress: number[] = [];
    const result = await client().download(uploaded.file.id, target, { onProgress: (event) => progress.push(event.bytesDone) });
    expect(result.resumedFrom).toBe(partialSize);
    expect(result.sha1).toBe(sha1Hex(data));
    expect(sha1Hex(await readFile(target))).toBe(sha1Hex(data));
    expect(proxy.requests.find((entry) => entry.url.startsWith('/downloads/'))?.headers.range).toBe(`bytes=${partialSize}-`);
    expect(progress.at(-1)).toBe(SIZE);
    await expect(stat(`${target}.partial`)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(`${target}.partial.json`)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('drops a partial file of another version of the file and starts from the beginning', async () => {
    const uploaded = await client().upload(dataPath, { name: uniqueName(), chunkedThreshold: THRESHOLD });
    const target = join(dir.path, `versions-${++counter}.bin`);
    const slow = proxy.rule({ method: 'GET', path: /^\/downloads\//, throttle: { chunkBytes: 32 * 1024, intervalMs: 10 } });
    const stop = new AbortController();
    await expect(client().download(uploaded.file.id, target, {
      signal: stop.signal, onProgress: (event) => { if (event.bytesDone >= 512 * 1024) stop.abort(); },
    })).rejects.toBeInstanceOf(AbortedError);
    slow.remove();
    expect((await stat(`${target}.partial`)).size).toBeGreaterThan(0);

    const next = randomData(SIZE);
    await client().upload(new Blob([next]), { newVersionOf: uploaded.file.id, chunkedThreshold: THRESHOLD });
    const result = await client().download(uploaded.file.id, target);
    expect(result).toMatchObject({ resumedFrom: 0, sha1: sha1Hex(next), size: SIZE });
    expect(sha1Hex(await readFile(target))).toBe(sha1Hex(next));
  });

  it('refuses bytes that arrive damaged with VerificationError and leaves no file behind', async () => {
    const uploaded = await client().upload(dataPath, { name: uniqueName(), chunkedThreshold: THRESHOLD });
    const target = join(dir.path, `damaged-${++counter}.bin`);
    proxy.rule({ method: 'GET', path: /^\/downloads\//, times: 1, corruptResponseAt: 300_000 });
    const damaged = client().download(uploaded.file.id, target);
    await expect(damaged).rejects.toBeInstanceOf(VerificationError);
    await expect(damaged).rejects.toMatchObject({ kind: 'verification' });
    for (const path of [target, `${target}.partial`, `${target}.partial.json`]) await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
    // Asked again, it gets the right bytes.
    expect((await client().download(uploaded.file.id, target)).sha1).toBe(sha1Hex(data));
  });
});

describe('downloading from a link on another origin', () => {
  it('does not send the bearer token to it', async () => {
    // The server hands out download links on its public URL, here a proxy of its own.
    const front = await FaultProxy.start('http://127.0.0.1:1');
    const other = await startServer({ publicUrl: front.url });
    front.setTarget(other.url);
    const direct = new PartwayClient({ server: other.url, token: other.token, retry: FAST_RETRY });
    try {
      const small = randomData(70_000);
      const uploaded = await direct.upload(new Blob([small]), { name: 'elsewhere.bin' });
      const target = join(dir.path, `elsewhere-${++counter}.bin`);
      expect((await direct.download(uploaded.file.id, target)).sha1).toBe(sha1Hex(small));
      const links = front.requests.filter((entry) => entry.url.startsWith('/downloads/'));
      expect(links).toHaveLength(1);
      expect(links[0]!.status).toBe(200);
      expect(links[0]!.headers.authorization).toBeUndefined();
    } finally {
      await direct.close();
      await front.close();
      await other.close();
    }
  });
});
