/**
 * Interop: box-node-sdk 10.x (Box's generated TypeScript SDK) against a real Partway over loopback.
 * See ../../../shared/spec/SDK-REQUESTS.md §1, §2, §7 and BOX-API.md §8.1 for what this SDK sends.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoxClient, BoxDeveloperTokenAuth } from 'box-node-sdk';
import type { UploadPart } from 'box-node-sdk/schemas';
import type { TestServer } from '../helpers/partway.js';
import {
  MiB, PART_SIZE, RequestLog, contentRange, digestStream, maxOverlap, partLayout, scratchDir, sha1Base64, sha1Hex, shape,
  streamOf, type Scratch, type SourceFile,
} from './support.js';

/** The interop tests, run against a server from `start` (one per backend). */
export function describeV10Interop(backend: string, start: () => Promise<TestServer>): void {
  let server: TestServer;
  let scratch: Scratch;
  let log: RequestLog;
  /** Box's layout: API at `url`, uploads at `url/api`. */
  let client: BoxClient;
  /** Everything on one base URL: uploads go to `url/2.0/...`. */
  let singleBaseClient: BoxClient;

  beforeAll(async () => {
    server = await start();
    scratch = await scratchDir();
    log = new RequestLog(server.partway.app.server);
    const auth = new BoxDeveloperTokenAuth({ token: server.token });
    client = new BoxClient({ auth }).withCustomBaseUrls({
      baseUrl: server.url, uploadUrl: `${server.url}/api`, oauth2Url: `${server.url}/oauth2`,
    });
    singleBaseClient = new BoxClient({ auth }).withCustomBaseUrls({
      baseUrl: server.url, uploadUrl: server.url, oauth2Url: `${server.url}/oauth2`,
    });
  });

  afterAll(async () => {
    log?.detach();
    await server?.close();
    await scratch?.remove();
  });

  /** Downloads a file with the SDK and returns the SHA-1 and length of what arrived. */
  async function download(sdk: BoxClient, fileId: string, version?: string) {
    const stream = await sdk.downloads.downloadFile(fileId, version === undefined ? {} : { queryParams: { version } });
    expect(stream).toBeDefined();
    return digestStream(stream!);
  }

  /** Runs uploadBigFile on `source` and checks the file info, the download and what went over the wire. */
  async function uploadBigFileRoundTrip(sdk: BoxClient, source: SourceFile, name: string, uploadPrefix: '/api/2.0' | '/2.0') {
    const mark = log.mark();
    const file = await sdk.chunkedUploads.uploadBigFile(streamOf(source), name, source.size, '0');
    const uploadRequests = log.since(mark);

    expect(file.type).toBe('file');
    expect(file.name).toBe(name);
    expect(file.size).toBe(source.size);
    expect(file.sha1).toBe(source.sha1);
    expect(file.parent?.id).toBe('0');

    // create, the parts strictly one after another in offset order, list parts, commit.
    const layout = partLayout(source.size);
    const sessionId = uploadRequests[1]!.url.split('/').pop()!;
    const session = `${uploadPrefix}/files/upload_sessions/{session}`;
    expect(shape(uploadRequests, { '{session}': sessionId })).toEqual([
      `POST ${uploadPrefix}/files/upload_sessions -> 201`,
      ...layout.map(() => `PUT ${session} -> 200`),
      `GET ${session}/parts -> 200`,
      `POST ${session}/commit -> 201`,
    ]);
    const puts = uploadRequests.filter((request) => request.method === 'PUT');
    expect(puts.map((put) => put.headers['content-range'])).toEqual(layout.map((part) => contentRange(part.offset, part.size, source.size)));
    for (const put of puts) {
      // node-fetch streams the part: chunked transfer encoding, no Content-Length, lower-case `sha=`.
      expect(put.headers['transfer-encoding']).toBe('chunked');
      expect(put.headers['content-length']).toBeUndefined();
      expect(put.headers.digest).toMatch(/^sha=[A-Za-z0-9+/]{27}=$/);
    }
    expect(maxOverlap(puts)).toBe(1);
    expect(uploadRequests.at(-1)!.headers.digest).toBe(`sha=${source.sha1Base64}`);

    const info = await sdk.files.getFileById(file.id);
    expect(info).toMatchObject({ id: file.id, type: 'file', name, size: source.size, sha1: source.sha1, etag: '0' });
    expect(info.parent?.id).toBe('0');
    expect(info.pathCollection?.entries.map((folder) => folder.id)).toEqual(['0']);

    const downloadMark = log.mark();
    expect(await download(sdk, file.id)).toEqual({ sha1: source.sha1, size: source.size });
    // Box's way: a 302 from the API to a signed link, which the SDK follows.
    expect(shape(log.since(downloadMark), { '{file}': file.id })).toEqual([
      'GET /2.0/files/{file}/content -> 302',
      'GET /downloads/{link} -> 200',
    ]);
    return file;
  }

  /** Uploads `data` to a session with uploadFilePart: the last part alone first, then the rest at once, highest offset first. */
  async function uploadPartsOutOfOrder(sdk: BoxClient, sessionId: string, data: Buffer) {
    const layout = partLayout(data.length);
    const send = async ({ offset, size }: { offset: number; size: number }) => {
      const bytes = data.subarray(offset, offset + size);
      const uploaded = await sdk.chunkedUploads.uploadFilePart(sessionId, Readable.from([bytes]), {
        digest: `sha=${sha1Base64(bytes)}`,
        contentRange: contentRange(offset, size, data.length),
      });
      expect(uploaded.part).toMatchObject({ offset, size, sha1: sha1Hex(bytes) });
      expect(uploaded.part?.partId).toEqual(expect.any(String));
      return uploaded.part!;
    };
    const last = await send(layout.at(-1)!);
    const rest = await Promise.all(layout.slice(0, -1).reverse().map(send));
    return [last, ...rest].sort((a, b) => a.offset! - b.offset!);
  }

  describe(`box-node-sdk v10 (generated SDK) against Partway on ${backend}`, () => {
    it('uploadBigFile stores a 30 MiB file in the root, and its info and download match the source byte for byte', async () => {
      const source = await scratch.randomFile('v10-30m.bin', 30 * MiB);
      expect(source.size).toBe(31_457_280);
      const file = await uploadBigFileRoundTrip(client, source, 'v10-30m.bin', '/api/2.0');
      await client.files.deleteFileById(file.id);
    });

    it('uploadBigFile stores a 100 MiB file (twelve 8 MiB parts and a 4 MiB one) that downloads byte-identical', async () => {
      const source = await scratch.randomFile('v10-100m.bin', 100 * MiB);
      expect(source.size).toBe(104_857_600);
      expect(partLayout(source.size).map((part) => part.size)).toEqual([...Array(12).fill(PART_SIZE), 4 * MiB]);
      const file = await uploadBigFileRoundTrip(client, source, 'v10-100m.bin', '/api/2.0');
      await client.files.deleteFileById(file.id);
    });

    it('uploadBigFile through a client with one base URL stores a file that is an exact multiple of the part size', async () => {
      const source = await scratch.randomFile('v10-24m.bin', 3 * PART_SIZE);
      expect(partLayout(source.size).map((part) => part.size)).toEqual([PART_SIZE, PART_SIZE, PART_SIZE]);
      const file = await uploadBigFileRoundTrip(singleBaseClient, source, 'v10-exact-multiple.bin', '/2.0');
      await singleBaseClient.files.deleteFileById(file.id);
    });

    it('a new session advertises absolute session_endpoints under the base URL the client used, and DELETE aborts it', async () => {
      const created = await client.chunkedUploads.createFileUploadSession({ folderId: '0', fileSize: 31_457_280, fileName: 'v10-endpoints.bin' });
      expect(created).toMatchObject({ type: 'upload_session', partSize: PART_SIZE, totalParts: 4, numPartsProcessed: 0 });
      expect(created.sessionExpiresAt).toBeDefined();
      const base = `${server.url}/api/2.0/files/upload_sessions/${created.id}`;
      expect(created.sessionEndpoints).toMatchObject({
        uploadPart: base, commit: `${base}/commit`, abort: base, listParts: `${base}/parts`, status: base, logEvent: `${base}/log`,
      });

      const single = await singleBaseClient.chunkedUploads.createFileUploadSession({ folderId: '0', fileSize: 31_457_280, fileName: 'v10-endpoints-single.bin' });
      const singleBase = `${server.url}/2.0/files/upload_sessions/${single.id}`;
      expect(single.sessionEndpoints).toMatchObject({ uploadPart: singleBase, commit: `${singleBase}/commit`, listParts: `${singleBase}/parts` });

      const mark = log.mark();
      await client.chunkedUploads.deleteFileUploadSessionById(created.id!);
      await singleBaseClient.chunkedUploads.deleteFileUploadSessionByUrl(single.sessionEndpoints!.abort!);
      expect(shape(log.since(mark))).toEqual([
        `DELETE /api/2.0/files/upload_sessions/${created.id} -> 204`,
        `DELETE /2.0/files/upload_sessions/${single.id} -> 204`,
      ]);
      await expect(client.chunkedUploads.getFileUploadSessionById(created.id!)).rejects.toMatchObject({ responseInfo: { statusCode: 404 } });
      await expect(client.chunkedUploads.getFileUploadSessionById(single.id!)).rejects.toMatchObject({ responseInfo: { statusCode: 404 } });
    });

    it('individual calls: parts sent in parallel and out of order are listed, committed, and the committed session can still be deleted', async () => {
      const data = randomBytes(30 * MiB);
      const name = 'v10-manual.bin';
      const session = await client.chunkedUploads.createFileUploadSession({ folderId: '0', fileSize: data.length, fileName: name });
      const sessionId = session.id!;
      expect(session).toMatchObject({ partSize: PART_SIZE, totalParts: 4, numPartsProcessed: 0 });

      const fetched = await client.chunkedUploads.getFileUploadSessionById(sessionId);
      expect(fetched).toMatchObject({ id: sessionId, totalParts: 4, partSize: PART_SIZE, numPartsProcessed: 0 });

      const mark = log.mark();
      const parts = await uploadPartsOutOfOrder(client, sessionId, data);
      const puts = log.since(mark);
      // The short last part landed first; the other three went up together.
      expect(puts.map((put) => put.headers['content-range'])[0]).toBe('bytes 25165824-31457279/31457280');
      expect(puts.slice(1).map((put) => put.headers['content-range']).sort()).toEqual([
        'bytes 0-8388607/31457280', 'bytes 16777216-25165823/31457280', 'bytes 8388608-16777215/31457280',
      ]);
      expect(puts.every((put) => put.status === 200)).toBe(true);
      expect(parts.map((part) => part.offset)).toEqual([0, 8_388_608, 16_777_216, 25_165_824]);
      expect(new Set(parts.map((part) => part.partId)).size).toBe(4);

      const afterParts = await client.chunkedUploads.getFileUploadSessionById(sessionId);
      expect(afterParts.numPartsProcessed).toBe(4);

      // No query: every part, in offset order; total_count counts the whole session.
      const listed = await client.chunkedUploads.getFileUploadSessionParts(sessionId);
      expect(listed.totalCount).toBe(4);
      expect(listed.entries).toEqual(parts);
      // offset/limit page through the same offset-ordered list.
      const page = await client.chunkedUploads.getFileUploadSessionParts(sessionId, { queryParams: { offset: 1, limit: 2 } });
      expect(page).toMatchObject({ totalCount: 4, offset: 1, limit: 2 });
      expect(page.entries).toEqual(parts.slice(1, 3));
      const byUrl = await client.chunkedUploads.getFileUploadSessionPartsByUrl(session.sessionEndpoints!.listParts!, { queryParams: { offset: 3, limit: 1000 } });
      expect(byUrl).toMatchObject({ totalCount: 4, offset: 3 });
      expect(byUrl.entries).toEqual(parts.slice(3));

      const committed = await client.chunkedUploads.createFileUploadSessionCommit(sessionId, { parts }, { digest: `sha=${sha1Base64(data)}` });
      expect(committed?.totalCount).toBe(1);
      const file = committed!.entries![0]!;
      expect(file).toMatchObject({ type: 'file', name, size: data.length, sha1: sha1Hex(data), etag: '0' });
      expect(file.parent?.id).toBe('0');
      expect(await download(client, file.id)).toEqual({ sha1: sha1Hex(data), size: data.length });

      // Box's own SDK test deletes the session after committing it; that must succeed and leave the file alone.
      const deleteMark = log.mark();
      await client.chunkedUploads.deleteFileUploadSessionById(sessionId);
      expect(shape(log.since(deleteMark))).toEqual([`DELETE /api/2.0/files/upload_sessions/${sessionId} -> 204`]);
      expect(await client.files.getFileById(file.id)).toMatchObject({ id: file.id, size: data.length, sha1: sha1Hex(data) });

      await client.files.deleteFileById(file.id);
      await expect(client.files.getFileById(file.id)).rejects.toMatchObject({ responseInfo: { statusCode: 404 } });
    });

    it('createFileUploadSessionForExistingFile uploads a new version: same id, etag "0" becomes "1", the download gives the new bytes and ?version= the old ones', async () => {
      const original = await scratch.randomFile('v10-version-1.bin', 20 * MiB);
      const file = await client.chunkedUploads.uploadBigFile(streamOf(original), 'v10-versioned.bin', original.size, '0');
      expect(file.etag).toBe('0');
      const firstVersionId = file.fileVersion?.id;
      expect(firstVersionId).toEqual(expect.any(String));

      const data = randomBytes(25 * MiB);
      const mark = log.mark();
      const session = await client.chunkedUploads.createFileUploadSessionForExistingFile(file.id, { fileSize: data.length });
      expect(shape(log.since(mark), { '{file}': file.id })).toEqual(['POST /api/2.0/files/{file}/upload_sessions -> 201']);
      expect(session).toMatchObject({ partSize: PART_SIZE, totalParts: 4, numPartsProcessed: 0 });

      const parts = await uploadPartsOutOfOrder(client, session.id!, data);
      const committed = await client.chunkedUploads.createFileUploadSessionCommitByUrl(
        session.sessionEndpoints!.commit!, { parts }, { digest: `sha=${sha1Base64(data)}` });
      const version = committed!.entries![0]!;
      expect(version).toMatchObject({ id: file.id, name: 'v10-versioned.bin', size: data.length, sha1: sha1Hex(data), etag: '1' });
      expect(version.fileVersion?.id).not.toBe(firstVersionId);

      expect(await client.files.getFileById(file.id)).toMatchObject({ id: file.id, etag: '1', size: data.length, sha1: sha1Hex(data) });
      expect(await download(client, file.id)).toEqual({ sha1: sha1Hex(data), size: data.length });
      // The first version is still there for ?version=.
      expect(await download(client, file.id, firstVersionId)).toEqual({ sha1: original.sha1, size: original.size });
      await client.files.deleteFileById(file.id);
    });

    it('a session created in a subfolder made with createFolder commits the file into that folder', async () => {
      const folder = await client.folders.createFolder({ name: 'v10 subfolder', parent: { id: '0' } });
      expect(folder).toMatchObject({ type: 'folder', name: 'v10 subfolder' });
      expect(folder.parent?.id).toBe('0');

      // Exactly Box's minimum size for a chunked upload: two full parts and a short one.
      const data = randomBytes(20_000_000);
      const name = 'in-subfolder.bin';
      const session = await client.chunkedUploads.createFileUploadSession({ folderId: folder.id, fileSize: data.length, fileName: name });
      expect(session).toMatchObject({ partSize: PART_SIZE, totalParts: 3, numPartsProcessed: 0 });

      // The …ByUrl calls use the absolute URLs the server advertised.
      const endpoints = session.sessionEndpoints!;
      const parts: UploadPart[] = [];
      for (const { offset, size } of partLayout(data.length)) {
        const bytes = data.subarray(offset, offset + size);
        const uploaded = await client.chunkedUploads.uploadFilePartByUrl(endpoints.uploadPart!, Readable.from([bytes]), {
          digest: `sha=${sha1Base64(bytes)}`, contentRange: contentRange(offset, size, data.length),
        });
        parts.push(uploaded.part!);
      }
      expect(parts.map((part) => part.size)).toEqual([PART_SIZE, PART_SIZE, 20_000_000 - 2 * PART_SIZE]);
      expect((await client.chunkedUploads.getFileUploadSessionByUrl(endpoints.status!)).numPartsProcessed).toBe(3);
      expect((await client.chunkedUploads.getFileUploadSessionPartsByUrl(endpoints.listParts!)).entries).toEqual(parts);

      const committed = await client.chunkedUploads.createFileUploadSessionCommitByUrl(endpoints.commit!, { parts }, { digest: `sha=${sha1Base64(data)}` });
      const file = committed!.entries![0]!;
      expect(file).toMatchObject({ name, size: data.length, sha1: sha1Hex(data) });
      expect(file.parent?.id).toBe(folder.id);

      const info = await client.files.getFileById(file.id);
      expect(info.parent?.id).toBe(folder.id);
      expect(info.pathCollection?.entries.map((entry) => entry.id)).toEqual(['0', folder.id]);
      const items = await client.folders.getFolderItems(folder.id);
      expect(items.entries?.map((item) => [item.type, item.id])).toEqual([['file', file.id]]);
      expect(await download(client, file.id)).toEqual({ sha1: sha1Hex(data), size: data.length });
    });
  });

  describe('the preflight check (OPTIONS /files/content)', () => {
    it('preflightFileUploadCheck says where to upload, uploadWithPreflightCheck uploads there, and a taken name is a 409 naming the file', async () => {
      const folder = await client.folders.createFolder({ name: 'preflight', parent: { id: '0' } });
      const data = randomBytes(5000);
      const check = { name: 'checked.txt', size: data.length, parent: { id: folder.id } };
      const url = await client.uploads.preflightFileUploadCheck(check);
      expect(url.uploadUrl).toBe(`${server.url}/api/2.0/files/content`);

      const uploaded = await client.uploads.uploadWithPreflightCheck({ attributes: check, file: Readable.from([data]) });
      const file = uploaded.entries![0]!;
      expect(file).toMatchObject({ name: 'checked.txt', size: data.length, sha1: sha1Hex(data) });
      expect(file.parent?.id).toBe(folder.id);

      await expect(client.uploads.preflightFileUploadCheck(check)).rejects.toMatchObject({
        // v10 keeps the code as the JSON text it read (quoted).
        responseInfo: { statusCode: 409, code: expect.stringContaining('item_name_in_use'), contextInfo: { conflicts: { id: file.id, type: 'file' } } },
      });
      await expect(singleBaseClient.uploads.preflightFileUploadCheck({ ...check, parent: { id: '987654321' } }))
        .rejects.toMatchObject({ responseInfo: { statusCode: 404 } });
    });
  });

  describe('changing items: update, copy, versions, trash and restore', () => {
    it('updateFileById renames and moves, copyFile copies, getFileVersions lists the previous versions', async () => {
      const folder = await client.folders.createFolder({ name: 'v10-changes', parent: { id: '0' } });
      const data = randomBytes(3000);
      const file = (await client.uploads.uploadFile({ attributes: { name: 'v10-draft.txt', parent: { id: '0' } }, file: Readable.from([data]) })).entries![0]!;
      const updated = await client.files.updateFileById(file.id, { requestBody: { name: 'v10-final.txt', parent: { id: folder.id }, description: 'final' } });
      expect(updated).toMatchObject({ id: file.id, name: 'v10-final.txt', description: 'final', sha1: sha1Hex(data) });
      expect(updated.parent?.id).toBe(folder.id);
      await expect(client.files.updateFileById(file.id, { requestBody: { name: 'x.txt' }, headers: { ifMatch: '99' } }))
        .rejects.toMatchObject({ responseInfo: { statusCode: 412 } });

      const copy = await client.files.copyFile(file.id, { parent: { id: '0' }, name: 'v10-copy.txt' });
      expect(copy).toMatchObject({ name: 'v10-copy.txt', sha1: sha1Hex(data) });
      expect(copy.id).not.toBe(file.id);
      const folderCopy = await client.folders.copyFolder(folder.id, { parent: { id: '0' }, name: 'v10-changes (copy)' });
      expect(folderCopy.name).toBe('v10-changes (copy)');
      const renamedFolder = await client.folders.updateFolderById(folderCopy.id, { requestBody: { name: 'v10-renamed' } });
      expect(renamedFolder.name).toBe('v10-renamed');

      await client.uploads.uploadFileVersion(file.id, { attributes: { name: 'v10-final.txt' }, file: Readable.from([randomBytes(10)]) });
      const versions = await client.fileVersions.getFileVersions(file.id);
      expect(versions.totalCount).toBe(1);
      expect(versions.entries![0]).toMatchObject({ id: file.fileVersion!.id, sha1: sha1Hex(data) });
    });

    it('deleteFileById and deleteFolderById trash; getTrashedItems lists; restore and delete for good', async () => {
      const folder = await client.folders.createFolder({ name: 'v10-trash', parent: { id: '0' } });
      const file = (await client.uploads.uploadFile({ attributes: { name: 'v10-gone.txt', parent: { id: folder.id } }, file: Readable.from([randomBytes(100)]) })).entries![0]!;
      await expect(client.folders.deleteFolderById(folder.id)).rejects.toMatchObject({ responseInfo: { statusCode: 409 } });
      await client.files.deleteFileById(file.id);
      const trashedFile = await client.trashedFiles.getTrashedFileById(file.id);
      expect(trashedFile).toMatchObject({ id: file.id, name: 'v10-gone.txt' });
      const restored = await client.trashedFiles.restoreFileFromTrash(file.id);
      expect(restored).toMatchObject({ id: file.id, name: 'v10-gone.txt' });
      await client.folders.deleteFolderById(folder.id, { queryParams: { recursive: true } });
      const trash = await client.trashedItems.getTrashedItems();
      expect(trash.entries!.map((item) => item.id)).toContain(folder.id);
      const back = await client.trashedFolders.restoreFolderFromTrash(folder.id);
      expect(back).toMatchObject({ id: folder.id, name: 'v10-trash' });
      await client.folders.deleteFolderById(folder.id, { queryParams: { recursive: true } });
      await client.trashedFolders.deleteTrashedFolderById(folder.id);
      const after = await client.trashedItems.getTrashedItems();
      expect(after.entries!.map((item) => item.id)).not.toContain(folder.id);
    });
  });
}
