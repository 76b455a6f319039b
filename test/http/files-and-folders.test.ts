import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdvancingClock, call, randomData, sha1Hex, startServer, type TestServer } from '../helpers/partway.js';

let server: TestServer;
/** Download links live 2 s here; the expiry test moves this clock past that instead of sleeping. */
const clock = new AdvancingClock();

beforeAll(async () => {
  server = await startServer({ basePartSize: '65536', minChunkedSize: '100000', downloadLinkTtl: '2' }, { now: clock.now });
});
afterAll(() => server.close());

/** Box's simple upload, as box-node-sdk v10 sends it: attributes first, then the file. */
async function simpleUpload(name: string, data: Buffer, parentId = '0', token = server.token, path = '/files/content') {
  const form = new FormData();
  form.append('attributes', JSON.stringify({ name, parent: { id: parentId } }));
  form.append('file', new Blob([data]), 'file');
  const response = await fetch(`${server.upload}${path}`, {
    method: 'POST', body: form, headers: { authorization: `Bearer ${token}`, 'content-md5': sha1Hex(data) },
  });
  return { status: response.status, json: await response.json() as any };
}

describe('folders', () => {
  it('gives every user a root folder "0" and creates, shows and lists folders', async () => {
    const root = await call('GET', `${server.api}/folders/0`, { token: server.token });
    expect(root.status).toBe(200);
    expect(root.json).toMatchObject({ type: 'folder', id: '0', name: 'All Files', parent: null, path_collection: { total_count: 0 } });

    const created = await call('POST', `${server.api}/folders`, { token: server.token, json: { name: 'Projects', parent: { id: '0' } } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ type: 'folder', name: 'Projects', parent: { id: '0' }, path_collection: { total_count: 1 } });
    const child = await call('POST', `${server.api}/folders`, { token: server.token, json: { name: 'Q4', parent: { id: created.json.id } } });
    expect(child.json.path_collection.entries.map((entry: { id: string }) => entry.id)).toEqual(['0', created.json.id]);

    const clash = await call('POST', `${server.api}/folders`, { token: server.token, json: { name: 'projects', parent: { id: '0' } } });
    expect(clash.status).toBe(409);
    expect(clash.json).toMatchObject({ code: 'item_name_in_use', context_info: { conflicts: { type: 'folder', id: created.json.id } } });

    const shown = await call('GET', `${server.api}/folders/${created.json.id}`, { token: server.token });
    expect(shown.json.item_collection).toMatchObject({ total_count: 1, entries: [{ type: 'folder', id: child.json.id, name: 'Q4' }] });
  });

  it('pages folder items, folders first and then by name', async () => {
    const folder = await call('POST', `${server.api}/folders`, { token: server.token, json: { name: 'paged', parent: { id: '0' } } });
    for (const name of ['b.txt', 'a.txt', 'c.txt']) expect((await simpleUpload(name, randomData(100), folder.json.id)).status).toBe(201);
    await call('POST', `${server.api}/folders`, { token: server.token, json: { name: 'z-folder', parent: { id: folder.json.id } } });
    const page = await call('GET', `${server.api}/folders/${folder.json.id}/items?offset=1&limit=2`, { token: server.token });
    expect(page.json).toMatchObject({ total_count: 4, offset: 1, limit: 2 });
    expect(page.json.entries.map((item: { name: string }) => item.name)).toEqual(['a.txt', 'b.txt']);
    const all = await call('GET', `${server.api}/folders/${folder.json.id}/items`, { token: server.token });
    expect(all.json.entries.map((item: { name: string }) => item.name)).toEqual(['z-folder', 'a.txt', 'b.txt', 'c.txt']);
  });

  it('answers 404 for unknown folders and 400 for bad folder requests', async () => {
    expect((await call('GET', `${server.api}/folders/424242`, { token: server.token })).status).toBe(404);
    expect((await call('GET', `${server.api}/folders/abc`, { token: server.token })).status).toBe(404);
    expect((await call('POST', `${server.api}/folders`, { token: server.token, json: { name: 'x' } })).status).toBe(400);
    expect((await call('POST', `${server.api}/folders`, { token: server.token, json: { name: 'a/b', parent: { id: '0' } } })).json.code).toBe('item_name_invalid');
    expect((await call('POST', `${server.api}/folders`, { token: server.token, headers: { 'content-type': 'application/json' }, body: '{not json' })).json.code).toBe('bad_request');
  });
});

describe('files', () => {
  it('takes a simple multipart upload, shows the file and serves it through a 302 to a signed link', async () => {
    const data = randomData(70_000);
    const uploaded = await simpleUpload('small.bin', data);
    expect(uploaded.status).toBe(201);
    const file = uploaded.json.entries[0];
    expect(file).toMatchObject({ type: 'file', name: 'small.bin', size: data.length, sha1: sha1Hex(data), parent: { id: '0' } });

    const info = await call('GET', `${server.api}/files/${file.id}`, { token: server.token });
    expect(info.json).toMatchObject({ id: file.id, size: data.length, sha1: sha1Hex(data), etag: '0' });

    const redirect = await call('GET', `${server.api}/files/${file.id}/content`, { token: server.token });
    expect(redirect.status).toBe(302);
    const location = String(redirect.headers.location);
    expect(location).toMatch(new RegExp(`^${server.url}/downloads/`));
    const whole = await request(location);
    expect(whole.statusCode).toBe(200);
    expect(whole.headers['content-length']).toBe(String(data.length));
    expect(sha1Hex(Buffer.from(await whole.body.arrayBuffer()))).toBe(sha1Hex(data));

    const part = await request(location, { headers: { range: 'bytes=65530-65545' } });
    expect(part.statusCode).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 65530-65545/${data.length}`);
    expect(Buffer.from(await part.body.arrayBuffer())).toEqual(data.subarray(65530, 65546));

    const suffix = await request(location, { headers: { range: 'bytes=-10' } });
    expect(Buffer.from(await suffix.body.arrayBuffer())).toEqual(data.subarray(data.length - 10));
    const beyond = await request(location, { headers: { range: `bytes=${data.length}-` } });
    expect(beyond.statusCode).toBe(416);
    expect(beyond.headers['content-range']).toBe(`bytes */${data.length}`);
    await beyond.body.dump();
  });

  it('lets a page on any origin read a signed link, which needs no token (CORS *, with the headers a download reads)', async () => {
    const data = randomData(1000);
    const file = (await simpleUpload('cors.bin', data)).json.entries[0];
    const location = String((await call('GET', `${server.api}/files/${file.id}/content`, { token: server.token })).headers.location);
    const reply = await call('GET', location, { token: null, headers: { origin: 'http://files.example:8080', range: 'bytes=0-9' } });
    expect(reply.status).toBe(206);
    expect(reply.headers['access-control-allow-origin']).toBe('*');
    expect(String(reply.headers['access-control-expose-headers'])).toMatch(/content-range.*content-disposition/);
    expect(reply.headers['access-control-allow-credentials']).toBeUndefined();
  });

  it('refuses tampered and expired download links, and a link serves only its own file', async () => {
    const data = randomData(1000);
    const file = (await simpleUpload('signed.bin', data)).json.entries[0];
    const other = (await simpleUpload('other.bin', randomData(1000))).json.entries[0];
    const location = String((await call('GET', `${server.api}/files/${file.id}/content`, { token: server.token })).headers.location);
    const token = location.split('/downloads/')[1]!;
    const [fileId, versionId, expires, mac] = token.split('.');
    const tampered = [
      `${other.id}.${versionId}.${expires}.${mac}`,
      `${fileId}.${versionId}.${Number(expires) + 1000}.${mac}`,
      `${fileId}.${versionId}.${expires}.${mac!.slice(0, -1)}${mac!.endsWith("A") ? "B" : "A"}`,
      'garbage',
    ];
    for (const bad of tampered) {
      const reply = await call('GET', `${server.url}/downloads/${bad}`, { token: null });
      expect(reply.status, bad).toBe(404);
    }
    clock.advance(3100);
    expect((await call('GET', location, { token: null })).status).toBe(404);
  });

  it('refuses a simple upload with a clashing name, a missing parent or attributes after the file', async () => {
    expect((await simpleUpload('dup.txt', randomData(10))).status).toBe(201);
    const clash = await simpleUpload('DUP.txt', randomData(10));
    expect(clash.status).toBe(409);
    expect(clash.json.code).toBe('item_name_in_use');
    expect((await simpleUpload('orphan.txt', randomData(10), '777777')).status).toBe(404);

    const form = new FormData();
    form.append('file', new Blob([randomData(10)]), 'file');
    form.append('attributes', JSON.stringify({ name: 'late.txt', parent: { id: '0' } }));
    const response = await fetch(`${server.upload}/files/content`, { method: 'POST', body: form, headers: { authorization: `Bearer ${server.token}` } });
    expect(response.status).toBe(400);
    expect((await response.json() as any).code).toBe('metadata_after_file_contents');
  });

  it('uploads a new version by simple upload and deletes files', async () => {
    const file = (await simpleUpload('versioned.txt', randomData(100))).json.entries[0];
    const next = randomData(200);
    const version = await simpleUpload('ignored', next, '0', server.token, `/files/${file.id}/content`);
    expect(version.status).toBe(201);
    expect(version.json.entries[0]).toMatchObject({ id: file.id, etag: '1', size: 200, sha1: sha1Hex(next) });

    expect((await call('DELETE', `${server.api}/files/${file.id}`, { token: server.token, headers: { 'if-match': '0' } })).status).toBe(412);
    expect((await call('DELETE', `${server.api}/files/${file.id}`, { token: server.token })).status).toBe(204);
    expect((await call('GET', `${server.api}/files/${file.id}`, { token: server.token })).status).toBe(404);
    expect((await call('DELETE', `${server.api}/files/${file.id}`, { token: server.token })).status).toBe(404);
  });
});

describe('authentication and isolation', () => {
  it('answers 401 with a Box error to a missing, malformed, unknown or revoked token', async () => {
    const revoked = await server.tokenFor('carol');
    expect(await server.partway.tokens.revoke(revoked)).toBe(true);
    for (const authorization of [undefined, 'Basic abc', 'Bearer ', 'Bearer pw_0000000000000000_' + 'A'.repeat(43), `Bearer ${revoked}`]) {
      const reply = await call('GET', `${server.api}/folders/0`, { token: null, headers: authorization ? { authorization } : {} });
      expect(reply.status, authorization).toBe(401);
      expect(reply.json).toMatchObject({ type: 'error', status: 401, code: 'unauthorized' });
      expect(reply.headers['box-request-id']).toBe(reply.json.request_id);
    }
  });

  it("answers 404 to another user's files and folders", async () => {
    const file = (await simpleUpload('private.txt', randomData(10))).json.entries[0];
    const bob = await server.tokenFor('bob');
    for (const [method, path] of [['GET', `/files/${file.id}`], ['GET', `/files/${file.id}/content`], ['DELETE', `/files/${file.id}`],
      ['GET', `/folders/${file.parent.id === '0' ? '1' : file.parent.id}`]] as const) {
      expect((await call(method, `${server.api}${path}`, { token: bob })).status, path).toBe(404);
    }
    expect((await call('POST', `${server.upload}/files/${file.id}/upload_sessions`, { token: bob, json: { file_size: 200_000 } })).status).toBe(404);
  });

  it('answers unknown routes with a Box 404 and tells who the user is', async () => {
    const unknown = await call('GET', `${server.api}/nothing/here`, { token: server.token });
    expect(unknown.status).toBe(404);
    expect(unknown.json.code).toBe('not_found');
    const me = await call('GET', `${server.api}/users/me`, { token: server.token });
    expect(me.json).toMatchObject({ type: 'user', name: 'alice' });
  });
});
