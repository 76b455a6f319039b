/**
 * Interop: the legacy box-node-sdk 3.8.2 (installed as `box-node-sdk-legacy`) against a real Partway over loopback.
 * See ../../../shared/spec/SDK-REQUESTS.md §3, §4, §7 and BOX-API.md §8.2 for what this SDK sends.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import BoxSDK from 'box-node-sdk-legacy';
import type { TestServer } from '../helpers/partway.js';
import {
  MiB, PART_SIZE, RequestLog, contentRange, digestStream, maxOverlap, partLayout, scratchDir, sha1Base64, sha1Hex, shape,
  streamOf, type LoggedRequest, type Scratch, type SourceFile,
} from './support.js';

type LegacyClient = ReturnType<BoxSDK['getBasicClient']>;

/** The few fields of the SDK's ChunkedUploader these tests use (its typings return `any`). */
interface ChunkedUploader {
  start(): PromiseLike<unknown>;
  on(event: 'chunkError' | 'error', listener: (error: unknown) => void): unknown;
}

/** Box's JSON shapes as the legacy SDK hands them back (plain parsed JSON). */
interface BoxFile {
  type: string;
  id: string;
  name: string;
  size: number;
  sha1: string;
  etag: string;
  parent: { id: string } | null;
  file_version: { id: string };
  path_collection: { total_count: number; entries: Array<{ id: string }> };
}
interface BoxFiles {
  total_count: number;
  entries: BoxFile[];
}
interface BoxPart {
  part_id: string;
  offset: number;
  size: number;
  sha1: string;
}

/** The interop tests, run against a server from `start` (one per backend). */
export function describeLegacyInterop(backend: string, start: () => Promise<TestServer>): void {
  let server: TestServer;
  let scratch: Scratch;
  let log: RequestLog;
  /** Box's layout: API at `url`, uploads at `url/api`. */
  let client: LegacyClient;
  /** Everything on one base URL. */
  let singleBaseClient: LegacyClient;

  function legacyClient(apiRootURL: string, uploadAPIRootURL: string, token: string): LegacyClient {
    const sdk = new BoxSDK({
      clientID: 'partway-interop',
      clientSecret: 'not-used-with-a-developer-token',
      apiRootURL,
      uploadAPIRootURL,
      // The default agent is https.Agent, which refuses http:// URLs.
      request: { agentClass: http.Agent, agentOptions: { keepAlive: true }, strictSSL: false },
    } as unknown as ConstructorParameters<typeof BoxSDK>[0]);
    return sdk.getBasicClient(token);
  }

  beforeAll(async () => {
    server = await start();
    scratch = await scratchDir();
    log = new RequestLog(server.partway.app.server);
    client = legacyClient(server.url, `${server.url}/api`, server.token);
    singleBaseClient = legacyClient(server.url, server.url, server.token);
  });

  afterAll(async () => {
    log?.detach();
    await server?.close();
    await scratch?.remove();
  });

  /**
   * Runs a ChunkedUploader to the end. A failed part only emits `chunkError` (the upload then never
   * finishes), so that rejects too instead of waiting for the test timeout.
   */
  function runUploader(uploader: ChunkedUploader): Promise<BoxFiles> {
    return new Promise((resolve, reject) => {
      uploader.on('chunkError', (error) => reject(new Error(`a part failed: ${String((error as Error)?.message ?? error)}`)));
      uploader.on('error', (event) => reject((event as { error?: unknown })?.error ?? event));
      uploader.start().then((result) => resolve(result as BoxFiles), reject);
    });
  }

  async function download(sdk: LegacyClient, fileId: string) {
    const stream = await sdk.files.getReadStream(fileId) as Readable;
    return digestStream(stream);
  }

  /** Checks the part PUTs the legacy SDK sent: `SHA=` digests, Content-Length bodies, every part once. */
  function expectLegacyParts(puts: readonly LoggedRequest[], fileSize: number) {
    const layout = partLayout(fileSize);
    expect(puts.map((put) => put.headers['content-range']).sort())
      .toEqual(layout.map((part) => contentRange(part.offset, part.size, fileSize)).sort());
    for (const put of puts) {
      const [, first, last] = /^bytes (\d+)-(\d+)\//.exec(put.headers['content-range']!)!;
      expect(put.status).toBe(200);
      expect(put.headers.digest).toMatch(/^SHA=[A-Za-z0-9+/]{27}=$/);
      expect(put.headers['content-length']).toBe(String(Number(last) - Number(first) + 1));
      expect(put.headers['transfer-encoding']).toBeUndefined();
    }
  }

  /** getChunkedUploader + start on `source`, then files.get and getReadStream, checking what went over the wire. */
  async function chunkedUploaderRoundTrip(source: SourceFile, name: string) {
    const mark = log.mark();
    const uploader = await client.files.getChunkedUploader('0', source.size, name, streamOf(source), { parallelism: 4 }) as ChunkedUploader;
    const committed = await runUploader(uploader);
    const requests = log.since(mark);

    expect(committed.total_count).toBe(1);
    const file = committed.entries[0]!;
    expect(file).toMatchObject({ type: 'file', name, size: source.size, sha1: source.sha1, etag: '0' });
    expect(file.parent?.id).toBe('0');

    // It ignores session_endpoints and builds the URLs from uploadAPIRootURL; it never lists parts.
    const sessionId = requests[1]!.url.split('/').pop()!;
    const layout = partLayout(source.size);
    expect(shape(requests, { '{session}': sessionId })).toEqual([
      'POST /api/2.0/files/upload_sessions -> 201',
      ...layout.map(() => 'PUT /api/2.0/files/upload_sessions/{session} -> 200'),
      'POST /api/2.0/files/upload_sessions/{session}/commit -> 201',
    ]);
    const puts = requests.filter((request) => request.method === 'PUT');
    expectLegacyParts(puts, source.size);
    expect(requests.at(-1)!.headers.digest).toBe(`SHA=${source.sha1Base64}`);

    const info = await client.files.get(file.id) as BoxFile;
    expect(info).toMatchObject({ id: file.id, type: 'file', name, size: source.size, sha1: source.sha1, etag: '0' });
    expect(info.parent?.id).toBe('0');

    const downloadMark = log.mark();
    expect(await download(client, file.id)).toEqual({ sha1: source.sha1, size: source.size });
    // getReadStream requires Box's 302 and follows the Location itself.
    expect(shape(log.since(downloadMark), { '{file}': file.id })).toEqual([
      'GET /2.0/files/{file}/content -> 302',
      'GET /downloads/{link} -> 200',
    ]);
    return { file, puts };
  }

  describe(`box-node-sdk 3.8.2 (legacy SDK) against Partway on ${backend}`, () => {
    it('the ChunkedUploader with parallelism 4 stores a 30 MiB file whose info and download match the source byte for byte', async () => {
      const source = await scratch.randomFile('legacy-30m.bin', 30 * MiB);
      expect(source.size).toBe(31_457_280);
      const { file } = await chunkedUploaderRoundTrip(source, 'legacy-30m.bin');
      await client.files.delete(file.id);
      await expect(client.files.get(file.id)).rejects.toMatchObject({ statusCode: 404 });
    });

    it('the ChunkedUploader stores a 100 MiB file with parts uploaded concurrently, and it downloads byte-identical', async () => {
      const source = await scratch.randomFile('legacy-100m.bin', 100 * MiB);
      expect(source.size).toBe(104_857_600);
      const { file, puts } = await chunkedUploaderRoundTrip(source, 'legacy-100m.bin');
      expect(puts).toHaveLength(13);
      expect(maxOverlap(puts)).toBeGreaterThan(1);
      expect(maxOverlap(puts)).toBeLessThanOrEqual(4);
      await client.files.delete(file.id);
    });

    it('getNewVersionChunkedUploader replaces the content: same id, etag "0" becomes "1", getReadStream gives the new bytes and the old version on request', async () => {
      const original = await scratch.randomFile('legacy-version-1.bin', 20 * MiB);
      const first = await runUploader(await client.files.getChunkedUploader('0', original.size, 'legacy-versioned.bin', streamOf(original), { parallelism: 4 }) as ChunkedUploader);
      const file = first.entries[0]!;
      expect(file).toMatchObject({ etag: '0', sha1: original.sha1 });

      const replacement = await scratch.randomFile('legacy-version-2.bin', 25 * MiB);
      const mark = log.mark();
      const uploader = await client.files.getNewVersionChunkedUploader(file.id, replacement.size, streamOf(replacement), { parallelism: 4 }) as ChunkedUploader;
      const committed = await runUploader(uploader);
      const requests = log.since(mark);
      expect(shape(requests.slice(0, 1), { '{file}': file.id })).toEqual(['POST /api/2.0/files/{file}/upload_sessions -> 201']);
      expectLegacyParts(requests.filter((request) => request.method === 'PUT'), replacement.size);

      const version = committed.entries[0]!;
      expect(version).toMatchObject({ id: file.id, name: 'legacy-versioned.bin', size: replacement.size, sha1: replacement.sha1, etag: '1' });
      expect(version.file_version.id).not.toBe(file.file_version.id);
      expect(await client.files.get(file.id)).toMatchObject({ id: file.id, etag: '1', size: replacement.size, sha1: replacement.sha1 });
      expect(await download(client, file.id)).toEqual({ sha1: replacement.sha1, size: replacement.size });
      const previous = await client.files.getReadStream(file.id, { version: file.file_version.id }) as Readable;
      expect(await digestStream(previous)).toEqual({ sha1: original.sha1, size: original.size });
      await client.files.delete(file.id);
    });

    it('individual calls: parts uploaded in parallel and out of order, then commitUploadSession without parts lists them itself', async () => {
      const data = randomBytes(30 * MiB);
      const name = 'legacy-manual.bin';
      const session = await singleBaseClient.files.createUploadSession('0', data.length, name);
      expect(session).toMatchObject({ type: 'upload_session', part_size: PART_SIZE, total_parts: 4, num_parts_processed: 0 });
      const sessionId = session.id as string;

      const layout = partLayout(data.length);
      const send = async ({ offset, size }: { offset: number; size: number }) => {
        const bytes = data.subarray(offset, offset + size);
        const uploaded = await singleBaseClient.files.uploadPart(sessionId, bytes, offset, data.length) as { part: BoxPart };
        expect(uploaded.part).toMatchObject({ offset, size, sha1: sha1Hex(bytes) });
        return uploaded.part;
      };
      const mark = log.mark();
      // The short last part first, then the other three at once, highest offset first.
      await send(layout.at(-1)!);
      await Promise.all(layout.slice(0, -1).reverse().map(send));
      const puts = log.since(mark);
      expect(puts[0]!.headers['content-range']).toBe('bytes 25165824-31457279/31457280');
      expectLegacyParts(puts, data.length);
      expect(puts.every((put) => put.url === `/2.0/files/upload_sessions/${sessionId}`)).toBe(true);

      expect(await singleBaseClient.files.getUploadSession(sessionId)).toMatchObject({ id: sessionId, num_parts_processed: 4, total_parts: 4 });

      const commitMark = log.mark();
      const committed = await singleBaseClient.files.commitUploadSession(sessionId, sha1Base64(data), {}) as BoxFiles;
      const commitRequests = log.since(commitMark);
      expect(commitRequests.map((request) => `${request.method} ${request.url} -> ${request.status}`)).toEqual([
        `GET /2.0/files/upload_sessions/${sessionId}/parts?limit=1000&offset=0 -> 200`,
        `POST /2.0/files/upload_sessions/${sessionId}/commit -> 201`,
      ]);
      expect(commitRequests[1]!.headers.digest).toBe(`SHA=${sha1Base64(data)}`);

      const file = committed.entries[0]!;
      expect(committed.total_count).toBe(1);
      expect(file).toMatchObject({ type: 'file', name, size: data.length, sha1: sha1Hex(data), etag: '0' });
      expect(file.parent?.id).toBe('0');
      expect(await singleBaseClient.files.get(file.id)).toMatchObject({ id: file.id, size: data.length, sha1: sha1Hex(data) });
      expect(await download(singleBaseClient, file.id)).toEqual({ sha1: sha1Hex(data), size: data.length });
    });

    it('abortUploadSession discards a session with a part in it, after which the session is gone', async () => {
      const data = randomBytes(20 * MiB);
      const session = await client.files.createUploadSession('0', data.length, 'legacy-aborted.bin');
      const sessionId = session.id as string;
      await client.files.uploadPart(sessionId, data.subarray(0, PART_SIZE), 0, data.length);

      const mark = log.mark();
      await client.files.abortUploadSession(sessionId);
      const [abort] = log.since(mark);
      expect(shape([abort!], { '{session}': sessionId })).toEqual(['DELETE /api/2.0/files/upload_sessions/{session} -> 204']);
      expect(abort!.headers['content-length']).toBe('0');

      await expect(client.files.getUploadSession(sessionId)).rejects.toMatchObject({ statusCode: 404 });
      await expect(client.files.uploadPart(sessionId, data.subarray(PART_SIZE, 2 * PART_SIZE), PART_SIZE, data.length))
        .rejects.toMatchObject({ statusCode: 404 });
      // The name was never taken: a new upload under it works.
      const again = await client.files.createUploadSession('0', data.length, 'legacy-aborted.bin');
      expect(again.id).not.toBe(sessionId);
      await client.files.abortUploadSession(again.id);
    });
  });
}
