import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createFolder, startServer, type TestServer, uploadSmallFile } from '../helpers/partway.js';

/** `PUT /files/{id}` and `PUT /folders/{id}`: rename, move, description, content time, If-Match, the subtree rule. */

let server: TestServer;

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

const upload = (name: string, parentId?: string, data?: Buffer) => uploadSmallFile(server, name, parentId, data);

const folder = (name: string, parentId?: string) => createFolder(server, name, parentId);

const put = (path: string, json: unknown, headers: Record<string, string> = {}, token = server.token) =>
  call('PUT', `${server.api}${path}`, { token, json, headers });

describe('PUT /files/{id}', () => {
  it('renames, moves, describes and sets the content time, on both bases; the content and version stay', async () => {
    const file = await upload('draft.txt');
    const target = await folder('moved-here');
    const changed = await put(`/files/${file.id}`, {
      name: 'final.txt', parent: { id: target.id }, description: 'the final one', content_modified_at: '2020-01-02T03:04:05Z',
    }, { 'if-match': file.etag });
    expect(changed.status).toBe(200);
    expect(changed.json).toMatchObject({
      type: 'file', id: file.id, name: 'final.txt', description: 'the final one', content_modified_at: '2020-01-02T03:04:05Z',
      parent: { id: target.id }, sha1: file.sha1, size: file.size, file_version: { id: file.file_version.id }, etag: '1',
      path_collection: { total_count: 2, entries: [{ id: '0' }, { id: target.id }] },
    });
    const listed = await call('GET', `${server.api}/folders/${target.id}/items`, { token: server.token });
    expect(listed.json.entries.map((item: { name: string }) => item.name)).toEqual(['final.txt']);
    const root = await call('GET', `${server.api}/folders/0/items?limit=1000`, { token: server.token });
    expect(root.json.entries.map((item: { id: string }) => item.id)).not.toContain(file.id);

    // The upload host's base works too, and `fields` picks the answer's fields; back to the root by "0".
    const back = await call('PUT', `${server.upload}/files/${file.id}?fields=name,parent`, { token: server.token, json: { parent: { id: '0' } } });
    expect(back.status).toBe(200);
    expect(back.json).toMatchObject({ type: 'file', id: file.id, name: 'final.txt', parent: { id: '0' } });
    expect(back.json.description).toBeUndefined();
  });

  it('a stale If-Match is 412 and changes nothing', async () => {
    const file = await upload('guarded.txt');
    const stale = await put(`/files/${file.id}`, { name: 'other.txt' }, { 'if-match': '5' });
    expect(stale.status).toBe(412);
    expect(stale.json).toMatchObject({ type: 'error', status: 412, code: 'precondition_failed' });
    expect((await call('GET', `${server.api}/files/${file.id}`, { token: server.token })).json.name).toBe('guarded.txt');
  });

  it('refuses a taken name (409 with the conflict), a bad name, a missing parent and bad bodies with Box errors', async () => {
    const file = await upload('one.txt');
    const other = await upload('two.txt');
    const clash = await put(`/files/${file.id}`, { name: 'TWO.txt' });
    expect(clash.status).toBe(409);
    expect(clash.json).toMatchObject({ code: 'item_name_in_use', context_info: { conflicts: { type: 'file', id: other.id } } });
    expect((await put(`/files/${file.id}`, { name: 'a/b' })).json).toMatchObject({ status: 400, code: 'item_name_invalid' });
    expect((await put(`/files/${file.id}`, { parent: { id: '987654321' } })).json).toMatchObject({ status: 404, code: 'not_found' });
    expect((await put(`/files/${file.id}`, { parent: { id: other.id } })).json).toMatchObject({ status: 404, code: 'not_found' });
    expect((await put(`/files/${file.id}`, { parent: { id: 'x y' } })).json).toMatchObject({ status: 404, code: 'not_found' });
    for (const body of [{ name: 5 }, { parent: {} }, { content_modified_at: 'yesterday' }, { content_modified_at: '2020-13-45T00:00:00Z' }, [1]]) {
      const refused = await put(`/files/${file.id}`, body);
      expect(refused.json, JSON.stringify(body)).toMatchObject({ type: 'error', status: 400 });
    }
    const renamedToItself = await put(`/files/${file.id}`, { name: 'ONE.txt' });
    expect(renamedToItself.status).toBe(200);
    expect(renamedToItself.json).toMatchObject({ id: file.id, name: 'ONE.txt' });
  });

  it('a body-less PUT answers the file unchanged but for its etag', async () => {
    const file = await upload('plain.txt');
    const answered = await call('PUT', `${server.api}/files/${file.id}`, { token: server.token });
    expect(answered.status).toBe(200);
    expect(answered.json).toMatchObject({ id: file.id, name: 'plain.txt', etag: '1', sha1: file.sha1 });
  });
});

describe('PUT /folders/{id}', () => {
  it('renames and moves a folder with its subtree', async () => {
    const top = await folder('top');
    const inner = await folder('inner', top.id);
    const file = await upload('deep.txt', inner.id);
    const home = await folder('home');
    const moved = await put(`/folders/${top.id}`, { name: 'Top', parent: { id: home.id } });
    expect(moved.status).toBe(200);
    expect(moved.json).toMatchObject({ type: 'folder', id: top.id, name: 'Top', parent: { id: home.id },
      item_collection: { total_count: 1, entries: [{ id: inner.id }] } });
    const shown = await call('GET', `${server.api}/files/${file.id}`, { token: server.token });
    expect(shown.json.path_collection.entries.map((entry: { id: string }) => entry.id)).toEqual(['0', home.id, top.id, inner.id]);
  });

  it('refuses to move a folder into itself or below it (400 cyclical_folder_structure), and the root (403)', async () => {
    const outer = await folder('outer');
    const below = await folder('below', outer.id);
    for (const target of [outer.id, below.id]) {
      const refused = await put(`/folders/${outer.id}`, { parent: { id: target } });
      expect(refused.json).toMatchObject({ type: 'error', status: 400, code: 'cyclical_folder_structure' });
    }
    expect((await put('/folders/0', { name: 'Everything' })).json).toMatchObject({ status: 403, code: 'access_denied_insufficient_permissions' });
    expect((await put(`/folders/${outer.id}`, { name: 'x' }, { 'if-match': '3' })).status).toBe(412);
    expect((await put(`/folders/${outer.id}`, { name: 'outer-2' }, { 'if-match': '0' })).json.name).toBe('outer-2');
  });

  it("answers 404 for another user's items, never 403, and refuses moving into another user's folder", async () => {
    const file = await upload('mine.txt');
    const mine = await folder('mine');
    const bob = await server.tokenFor('bob');
    expect((await put(`/files/${file.id}`, { name: 'stolen.txt' }, {}, bob)).json).toMatchObject({ status: 404, code: 'not_found' });
    expect((await put(`/folders/${mine.id}`, { name: 'stolen' }, {}, bob)).json).toMatchObject({ status: 404, code: 'not_found' });
    const bobs = await call('POST', `${server.api}/folders`, { token: bob, json: { name: 'bobs', parent: { id: '0' } } });
    expect((await put(`/files/${file.id}`, { parent: { id: bobs.json.id } })).json).toMatchObject({ status: 404, code: 'not_found' });
    expect((await put(`/folders/${mine.id}`, { parent: { id: bobs.json.id } })).json).toMatchObject({ status: 404, code: 'not_found' });
  });
});
