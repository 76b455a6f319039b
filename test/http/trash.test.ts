import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdvancingClock, call, createFolder, randomData, startServer, type TestServer, uploadSmallFile } from '../helpers/partway.js';

/** The trash: DELETE moves items there; list, show, restore, delete for good; the janitor empties it after its lifetime. */

const DAY = 24 * 3600;
let server: TestServer;
const clock = new AdvancingClock();

beforeAll(async () => {
  server = await startServer({ trashLifetime: String(2 * DAY) }, { now: clock.now });
});
afterAll(() => server.close());

const upload = (name: string, parentId?: string, data?: Buffer, on = server) => uploadSmallFile(on, name, parentId, data);

const folder = (name: string, parentId?: string) => createFolder(server, name, parentId);

const api = (method: string, path: string, json?: unknown, token = server.token) => call(method, `${server.api}${path}`, { token, json });
const names = (reply: { json: { entries: Array<{ name: string }> } }) => reply.json.entries.map((entry) => entry.name);

describe('the trash', () => {
  it('a deleted file leaves its folder, frees its name, is 404 trashed, shows in the trash and comes back by POST', async () => {
    const file = await upload('report.txt');
    expect((await api('DELETE', `/files/${file.id}`)).status).toBe(204);
    expect((await api('GET', `/files/${file.id}`)).json).toMatchObject({ type: 'error', status: 404, code: 'trashed' });
    expect((await api('GET', `/files/${file.id}/content`)).status).toBe(404);
    expect(names(await api('GET', '/folders/0/items'))).not.toContain('report.txt');

    const shown = await api('GET', `/files/${file.id}/trash`);
    expect(shown.json).toMatchObject({ type: 'file', id: file.id, name: 'report.txt', item_status: 'trashed', sha1: file.sha1 });
    expect(shown.json.trashed_at).toMatch(/Z$/);
    const trash = await call('GET', `${server.upload}/folders/trash/items?fields=name,item_status`, { token: server.token });
    expect(trash.json.entries).toContainEqual({ type: 'file', id: file.id, etag: '0', name: 'report.txt', item_status: 'trashed' });

    // The name is free while the file is in the trash; restoring into the taken name is 409, under another name it works.
    const again = await upload('report.txt');
    const clash = await api('POST', `/files/${file.id}`);
    expect(clash.json).toMatchObject({ status: 409, code: 'item_name_in_use', context_info: { conflicts: { id: again.id } } });
    const restored = await api('POST', `/files/${file.id}`, { name: 'report (old).txt' });
    expect(restored.status).toBe(201);
    expect(restored.json).toMatchObject({ id: file.id, name: 'report (old).txt', item_status: 'active', trashed_at: null, parent: { id: '0' } });
    expect((await api('GET', `/files/${file.id}/trash`)).status).toBe(404);
    const download = await call('GET', `${server.api}/files/${file.id}/content`, { token: server.token });
    expect(download.status).toBe(302);
  });

  it('a folder with items goes only with recursive=true, takes its subtree along and brings it back', async () => {
    const top = await folder('project');
    const inner = await folder('inner', top.id);
    const file = await upload('deep.txt', inner.id);
    const refused = await api('DELETE', `/folders/${top.id}`);
    expect(refused.json).toMatchObject({ type: 'error', status: 409, code: 'folder_not_empty' });
    expect((await api('DELETE', `/folders/${top.id}?recursive=false`)).status).toBe(409);
    expect((await api('DELETE', `/folders/${top.id}?recursive=yes`)).json).toMatchObject({ status: 400 });
    expect((await api('DELETE', `/folders/${top.id}?recursive=true`)).status).toBe(204);

    for (const path of [`/folders/${top.id}`, `/folders/${inner.id}`, `/files/${file.id}`, `/folders/${inner.id}/items`]) {
      expect((await api('GET', path)).json, path).toMatchObject({ status: 404, code: 'trashed' });
    }
    // Only the deleted folder is in the trash; what went with it is not, and comes back with it.
    const trash = names(await api('GET', '/folders/trash/items?limit=1000'));
    expect(trash).toContain('project');
    expect(trash).not.toContain('inner');
    expect((await api('GET', `/folders/${inner.id}/trash`)).status).toBe(404);
    expect((await api('POST', `/files/${file.id}`)).status).toBe(404);
    expect((await api('GET', `/folders/${top.id}/trash`)).json).toMatchObject({ type: 'folder', name: 'project', item_status: 'trashed' });
    // Nothing can be created in a trashed folder.
    expect((await api('POST', '/folders', { name: 'late', parent: { id: inner.id } })).status).toBe(404);

    const restored = await api('POST', `/folders/${top.id}`);
    expect(restored.status).toBe(201);
    expect(restored.json).toMatchObject({ type: 'folder', id: top.id, item_status: 'active' });
    const shown = await api('GET', `/files/${file.id}`);
    expect(shown.json.path_collection.entries.map((entry: { id: string }) => entry.id)).toEqual(['0', top.id, inner.id]);

    const empty = await folder('empty');
    expect((await api('DELETE', `/folders/${empty.id}`)).status).toBe(204);
    expect((await api('DELETE', '/folders/0?recursive=true')).json).toMatchObject({ status: 403 });
  });

  it('restores into parent.id when asked, and refuses a folder that is gone', async () => {
    const from = await folder('from');
    const file = await upload('moving.txt', from.id);
    expect((await api('DELETE', `/files/${file.id}`)).status).toBe(204);
    expect((await api('DELETE', `/folders/${from.id}`)).status).toBe(204);
    expect((await api('POST', `/files/${file.id}`)).json).toMatchObject({ status: 404, code: 'not_found' });
    const to = await folder('to');
    const restored = await api('POST', `/files/${file.id}`, { parent: { id: to.id } });
    expect(restored.json).toMatchObject({ id: file.id, parent: { id: to.id } });
  });

  it('deleting for good frees the bytes; the trash counts against space_used until then', async () => {
    const data = randomData(5000);
    const file = await upload('big.bin', '0', data);
    const before = (await api('GET', '/users/me')).json.space_used;
    expect((await api('DELETE', `/files/${file.id}`)).status).toBe(204);
    expect((await api('GET', '/users/me')).json.space_used).toBe(before);
    expect((await api('DELETE', `/files/${file.id}/trash`)).status).toBe(204);
    expect((await api('GET', '/users/me')).json.space_used).toBe(before - 5000);
    expect((await api('GET', `/files/${file.id}/trash`)).status).toBe(404);
    expect((await api('DELETE', `/files/${file.id}/trash`)).status).toBe(404);
    expect((await api('POST', `/files/${file.id}`)).status).toBe(404);
    // A live file is not in the trash: it cannot be deleted for good.
    const live = await upload('live.txt');
    expect((await api('DELETE', `/files/${live.id}/trash`)).status).toBe(404);
  });

  it('the janitor deletes for good what stayed in the trash past PARTWAY_TRASH_LIFETIME, and its blob', async () => {
    const blobCount = async () => (await readdir(join(server.dataDir, 'blobs'), { recursive: true })).length;
    const top = await folder('old-stuff');
    const file = await upload('old.bin', top.id, randomData(3000));
    const kept = await upload('recent.bin', '0', randomData(3000));
    expect((await api('DELETE', `/folders/${top.id}?recursive=true`)).status).toBe(204);
    clock.advance(DAY * 1000);
    expect((await api('DELETE', `/files/${kept.id}`)).status).toBe(204);
    const blobsBefore = await blobCount();
    clock.advance(DAY * 1000 + 1000);
    await server.partway.janitor.sweep();
    expect((await api('GET', `/folders/${top.id}/trash`)).status).toBe(404);
    expect((await api('GET', `/files/${file.id}`)).status).toBe(404);
    expect((await api('GET', `/files/${kept.id}/trash`)).status).toBe(200);
    expect(await blobCount()).toBeLessThan(blobsBefore);
  });

  it("answers 404 for another user's items on every trash route, never 403, and bad bodies with Box errors", async () => {
    const file = await upload('alice-only.txt');
    const bob = await server.tokenFor('bob');
    expect((await api('DELETE', `/files/${file.id}`, undefined, bob)).json).toMatchObject({ status: 404, code: 'not_found' });
    expect((await api('DELETE', `/files/${file.id}`)).status).toBe(204);
    for (const [method, path] of [['GET', `/files/${file.id}/trash`], ['POST', `/files/${file.id}`], ['DELETE', `/files/${file.id}/trash`]]) {
      expect((await api(method!, path!, undefined, bob)).json, `${method} ${path}`).toMatchObject({ status: 404, code: 'not_found' });
    }
    expect(names(await api('GET', '/folders/trash/items', undefined, bob))).not.toContain('alice-only.txt');
    expect((await api('POST', `/files/${file.id}`, { name: 7 })).json).toMatchObject({ type: 'error', status: 400 });
    expect((await api('POST', `/files/${file.id}`, { name: 'a/b' })).json).toMatchObject({ status: 400, code: 'item_name_invalid' });
    expect((await api('GET', '/folders/trash/items?limit=abc')).json).toMatchObject({ status: 400, code: 'invalid_limit' });
  });
});
