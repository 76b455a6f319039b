import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, randomData, sha1Hex, startServer, type TestServer, uploadSmallFile } from '../helpers/partway.js';

/** `POST /files/{id}/copy` and `POST /folders/{id}/copy`; a copy shares the blob, which outlives either side's deletion. */

let server: TestServer;

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

const upload = (name: string, parentId?: string, data?: Buffer) => uploadSmallFile(server, name, parentId, data);

const api = (method: string, path: string, json?: unknown, token = server.token) => call(method, `${server.api}${path}`, { token, json });

async function contentOf(fileId: string): Promise<Buffer> {
  const redirect = await api('GET', `/files/${fileId}/content`);
  expect(redirect.status).toBe(302);
  return Buffer.from(await (await fetch(String(redirect.headers.location))).arrayBuffer());
}

describe('copies', () => {
  it('copies a file: a new id with the same content, which survives deleting the source for good', async () => {
    const data = randomData(4000);
    const source = await upload('original.bin', '0', data);
    const folder = (await api('POST', '/folders', { name: 'copies', parent: { id: '0' } })).json;
    const copy = await call('POST', `${server.upload}/files/${source.id}/copy`, { token: server.token, json: { parent: { id: folder.id } } });
    expect(copy.status).toBe(201);
    expect(copy.json).toMatchObject({ type: 'file', name: 'original.bin', sha1: sha1Hex(data), size: 4000, parent: { id: folder.id } });
    expect(copy.json.id).not.toBe(source.id);
    const renamed = await api('POST', `/files/${source.id}/copy`, { parent: { id: '0' }, name: 'second.bin' });
    expect(renamed.json).toMatchObject({ name: 'second.bin', parent: { id: '0' } });

    expect((await api('DELETE', `/files/${source.id}`)).status).toBe(204);
    expect((await api('DELETE', `/files/${source.id}/trash`)).status).toBe(204);
    await server.partway.janitor.sweep();
    expect(sha1Hex(await contentOf(copy.json.id))).toBe(sha1Hex(data));
    expect(sha1Hex(await contentOf(renamed.json.id))).toBe(sha1Hex(data));
  });

  it('copies a folder with everything in it, and refuses a copy into itself, a taken name and bad bodies', async () => {
    const top = (await api('POST', '/folders', { name: 'album', parent: { id: '0' } })).json;
    const inner = (await api('POST', '/folders', { name: 'disc 1', parent: { id: top.id } })).json;
    const track = await upload('track.flac', inner.id);
    const copy = await api('POST', `/folders/${top.id}/copy`, { parent: { id: '0' }, name: 'album (copy)' });
    expect(copy.status).toBe(201);
    expect(copy.json).toMatchObject({ type: 'folder', name: 'album (copy)', parent: { id: '0' } });
    const innerCopy = (await api('GET', `/folders/${copy.json.id}/items`)).json.entries[0];
    expect(innerCopy).toMatchObject({ type: 'folder', name: 'disc 1' });
    expect(innerCopy.id).not.toBe(inner.id);
    const trackCopy = (await api('GET', `/folders/${innerCopy.id}/items`)).json.entries[0];
    expect(trackCopy).toMatchObject({ type: 'file', name: 'track.flac', sha1: track.sha1 });

    expect((await api('POST', `/folders/${top.id}/copy`, { parent: { id: inner.id } })).json)
      .toMatchObject({ status: 400, code: 'cyclical_folder_structure' });
    expect((await api('POST', `/folders/${top.id}/copy`, { parent: { id: '0' } })).json)
      .toMatchObject({ status: 409, code: 'item_name_in_use', context_info: { conflicts: { id: top.id } } });
    expect((await api('POST', `/files/${track.id}/copy`, {})).json).toMatchObject({ type: 'error', status: 400 });
    expect((await api('POST', `/files/${track.id}/copy`, { parent: { id: '0' }, name: 'a/b' })).json).toMatchObject({ code: 'item_name_invalid' });
    expect((await api('POST', `/files/${track.id}/copy`, { parent: { id: '123456789' } })).json).toMatchObject({ status: 404 });
    expect((await api('POST', '/folders/0/copy', { parent: { id: top.id } })).json).toMatchObject({ status: 403 });
  });

  it("answers 404 for another user's items and folders, never 403", async () => {
    const file = await upload('private.bin');
    const bob = await server.tokenFor('bob');
    expect((await api('POST', `/files/${file.id}/copy`, { parent: { id: '0' } }, bob)).json).toMatchObject({ status: 404, code: 'not_found' });
    const bobs = (await api('POST', '/folders', { name: 'bobs', parent: { id: '0' } }, bob)).json;
    expect((await api('POST', `/files/${file.id}/copy`, { parent: { id: bobs.id } })).json).toMatchObject({ status: 404, code: 'not_found' });
  });
});

describe('versions', () => {
  it('lists the previous versions, newest first, not the current one', async () => {
    const first = randomData(10);
    const file = await upload('versioned.txt', '0', first);
    expect((await api('GET', `/files/${file.id}/versions`)).json).toMatchObject({ total_count: 0, entries: [] });
    const second = randomData(20);
    const form = new FormData();
    form.append('attributes', JSON.stringify({}));
    form.append('file', new Blob([second]), 'file');
    const response = await fetch(`${server.upload}/files/${file.id}/content`, { method: 'POST', body: form, headers: { authorization: `Bearer ${server.token}` } });
    expect(response.status).toBe(201);
    const third = randomData(30);
    const form3 = new FormData();
    form3.append('attributes', JSON.stringify({}));
    form3.append('file', new Blob([third]), 'file');
    const current = ((await (await fetch(`${server.upload}/files/${file.id}/content`, { method: 'POST', body: form3, headers: { authorization: `Bearer ${server.token}` } })).json()) as any).entries[0];
    const versions = await call('GET', `${server.upload}/files/${file.id}/versions`, { token: server.token });
    expect(versions.status).toBe(200);
    expect(versions.json.total_count).toBe(2);
    expect(versions.json.entries).toMatchObject([
      { type: 'file_version', sha1: sha1Hex(second), size: 20, name: 'versioned.txt' },
      { type: 'file_version', id: file.file_version.id, sha1: sha1Hex(first), size: 10 },
    ]);
    expect(versions.json.entries.map((entry: { id: string }) => entry.id)).not.toContain(current.file_version.id);
    const bob = await server.tokenFor('bob');
    expect((await api('GET', `/files/${file.id}/versions`, undefined, bob)).json).toMatchObject({ status: 404, code: 'not_found' });
  });
});
