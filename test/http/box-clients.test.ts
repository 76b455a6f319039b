import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, randomData, sha1Hex, startServer, type TestServer } from '../helpers/partway.js';

/** The parts of Box's API that rclone and the ContentUploader rely on beyond the upload itself. */
let server: TestServer;

beforeAll(async () => {
  server = await startServer({ storageQuota: '1000000', maxFileSize: '500000', corsOrigins: 'https://app.example' });
});
afterAll(() => server.close());

async function simpleUpload(name: string, data: Buffer, parentId = '0', query = '') {
  const form = new FormData();
  form.append('attributes', JSON.stringify({ name, parent: { id: parentId }, content_modified_at: '2020-01-02T03:04:05Z' }));
  form.append('file', new Blob([data]), 'file');
  const response = await fetch(`${server.upload}/files/content${query}`, {
    method: 'POST', body: form, headers: { authorization: `Bearer ${server.token}` },
  });
  return { status: response.status, json: await response.json() as any };
}

async function newFolder(name: string, parentId = '0'): Promise<string> {
  const created = await call('POST', `${server.api}/folders`, { token: server.token, json: { name, parent: { id: parentId } } });
  expect(created.status).toBe(201);
  return created.json.id as string;
}

const preflight = (json: unknown, path = '/files/content', token: string | null = server.token, headers: Record<string, string> = {}) =>
  call('OPTIONS', `${server.api}${path}`, { token, json, headers });

describe('preflight check (OPTIONS /files/content)', () => {
  it('answers 200 with where to upload when the upload would be accepted, under both prefixes', async () => {
    const folder = await newFolder('preflight-ok');
    const ok = await preflight({ name: 'new.bin', parent: { id: folder }, size: 1000 });
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ upload_url: `${server.url}/api/2.0/files/content`, upload_token: null });
    const upload = await call('OPTIONS', `${server.upload}/files/content/`, { token: server.token, json: { name: 'x', parent: { id: '0' } } });
    expect(upload.status).toBe(200);
  });

  it('runs the upload checks: name in use (with the conflict), name rules, folder, size and quota', async () => {
    const folder = await newFolder('preflight-checks');
    const existing = await simpleUpload('taken.txt', randomData(10), folder);
    const clash = await preflight({ name: 'TAKEN.txt', parent: { id: folder }, size: 5 });
    expect(clash.status).toBe(409);
    expect(clash.json).toMatchObject({
      type: 'error', code: 'item_name_in_use', context_info: { conflicts: { type: 'file', id: existing.json.entries[0].id, sha1: existing.json.entries[0].sha1 } },
    });
    expect((await preflight({ name: 'a/b', parent: { id: folder } })).json.code).toBe('item_name_invalid');
    expect((await preflight({ name: 'x'.repeat(256), parent: { id: folder } })).json.code).toBe('item_name_too_long');
    expect((await preflight({ name: 'x', parent: { id: '424242' } })).status).toBe(404);
    expect((await preflight({ name: 'x', parent: { id: folder }, size: 500_001 })).json).toMatchObject({ status: 403, code: 'file_size_limit_exceeded' });
    expect((await preflight({ name: 'x', parent: { id: folder }, size: -1 })).json.code).toBe('invalid_file_size');
    expect((await preflight({ name: 'x' })).json.code).toBe('missing_destination');
    expect((await preflight({ parent: { id: folder } })).json.code).toBe('missing_file_name');
    expect((await preflight([1, 2])).json.code).toBe('bad_request');
    expect((await preflight({ name: 'x', parent: { id: folder } }, '/files/content', null)).status).toBe(401);
  });

  it('refuses a size that would pass the quota, counting what is stored', async () => {
    const folder = await newFolder('preflight-quota');
    // Enough stored that what is left is under the largest file size.
    for (const name of ['fill-1.bin', 'fill-2.bin']) expect((await simpleUpload(name, randomData(300_000), folder)).status).toBe(201);
    const used = (await call('GET', `${server.api}/users/me`, { token: server.token })).json.space_used as number;
    expect((await preflight({ name: 'fits.bin', parent: { id: folder }, size: 1_000_000 - used })).status).toBe(200);
    const over = await preflight({ name: 'over.bin', parent: { id: folder }, size: 1_000_000 - used + 1 });
    expect(over.json).toMatchObject({ status: 403, code: 'storage_limit_exceeded' });
  });

  it('checks a new version (OPTIONS /files/{id}/content): the file, a rename clash, its size; 404 for another user', async () => {
    const folder = await newFolder('preflight-version');
    const file = (await simpleUpload('v.txt', randomData(10), folder)).json.entries[0];
    await simpleUpload('other.txt', randomData(10), folder);
    const ok = await preflight({ size: 20 }, `/files/${file.id}/content`);
    expect(ok.json).toEqual({ upload_url: `${server.url}/api/2.0/files/${file.id}/content`, upload_token: null });
    expect((await preflight({}, `/files/${file.id}/content`)).status).toBe(200);
    expect((await preflight({ name: 'OTHER.txt' }, `/files/${file.id}/content`)).json.code).toBe('item_name_in_use');
    expect((await preflight({ size: 600_000 }, `/files/${file.id}/content`)).json.code).toBe('file_size_limit_exceeded');
    expect((await preflight({ size: 20 }, `/files/${file.id}/content`, await server.tokenFor('mallory'))).status).toBe(404);
    expect((await preflight({ name: 'x', parent: { id: folder } }, '/files/content', await server.tokenFor('mallory'))).status).toBe(404);
  });

  it('a real CORS preflight is still answered as one; the check itself carries CORS headers', async () => {
    const cors = await call('OPTIONS', `${server.api}/files/content`, {
      token: null,
      headers: {
        origin: 'https://app.example', 'access-control-request-method': 'OPTIONS',
        'access-control-request-headers': 'authorization,content-type,x-box-client-name,x-box-client-version,x-box-client-event-info',
      },
    });
    expect(cors.status).toBe(204);
    expect(cors.headers['access-control-allow-origin']).toBe('https://app.example');
    const allowed = String(cors.headers['access-control-allow-headers']).split(',').map((name) => name.trim());
    expect(allowed).toEqual(expect.arrayContaining(['x-box-client-name', 'x-box-client-version', 'x-box-client-event-info', 'digest', 'content-md5']));

    const check = await preflight({ name: 'cors.bin', parent: { id: '0' } }, '/files/content', server.token, { origin: 'https://app.example' });
    expect(check.status).toBe(200);
    expect(check.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(String(check.headers['access-control-expose-headers'])).toContain('box-request-id');
    expect(check.json.upload_url).toBe(`${server.url}/api/2.0/files/content`);
    // Any other OPTIONS that is not a CORS preflight is no route.
    expect((await call('OPTIONS', `${server.api}/folders/0`, { token: server.token, headers: { origin: 'https://app.example' } })).json.code).toBe('not_found');
  });
});

describe('fields, item_status and paging', () => {
  const RCLONE_FIELDS = 'type,id,sequence_id,etag,sha1,name,size,created_at,modified_at,content_created_at,content_modified_at,item_status,shared_link,owned_by';

  it('answers only the requested fields plus the base ones, as rclone asks for them', async () => {
    const folder = await newFolder('fields');
    const data = randomData(1234);
    const uploaded = await simpleUpload('f.bin', data, folder, `?fields=${RCLONE_FIELDS}`);
    const file = uploaded.json.entries[0];
    expect(Object.keys(file).sort()).toEqual(RCLONE_FIELDS.split(',').sort());
    expect(file).toMatchObject({ type: 'file', sha1: sha1Hex(data), size: 1234, item_status: 'active', content_modified_at: '2020-01-02T03:04:05Z' });
    await newFolder('sub', folder);

    const listed = await call('GET', `${server.api}/folders/${folder}/items?fields=${RCLONE_FIELDS}&limit=1000&usemarker=true`, { token: server.token });
    expect(listed.status).toBe(200);
    expect(listed.json.next_marker).toBeNull();
    expect(listed.json.entries.map((item: { name: string; item_status: string }) => [item.name, item.item_status])).toEqual([['sub', 'active'], ['f.bin', 'active']]);
    expect(listed.json.entries[1]).toEqual(file);

    const picked = await call('GET', `${server.api}/files/${file.id}?fields=name,parent,path_collection,file_version,modified_by`, { token: server.token });
    expect(Object.keys(picked.json).sort()).toEqual(['etag', 'file_version', 'id', 'modified_by', 'name', 'parent', 'path_collection', 'type']);
    expect(picked.json.parent).toMatchObject({ type: 'folder', id: folder });
    const standard = await call('GET', `${server.api}/files/${file.id}`, { token: server.token });
    expect(standard.json).toMatchObject({ item_status: 'active', sha1: sha1Hex(data), description: '', trashed_at: null });

    const folderOnly = await call('GET', `${server.api}/folders/${folder}?fields=name,item_status`, { token: server.token });
    expect(folderOnly.json).toEqual({ type: 'folder', id: folder, etag: '0', name: 'fields', item_status: 'active' });
  });

  it('pages with markers until next_marker is null, in any sort and direction', async () => {
    const folder = await newFolder('markers');
    const names = ['e.txt', 'a.txt', 'd.txt', 'b.txt', 'c.txt'];
    for (const [index, name] of names.entries()) expect((await simpleUpload(name, randomData(10 + index), folder)).status).toBe(201);
    await newFolder('zz', folder);

    async function walk(query: string): Promise<string[]> {
      const seen: string[] = [];
      let marker: string | null = null;
      for (let pages = 0; pages < 10; pages++) {
        const url = `${server.api}/folders/${folder}/items?usemarker=true&limit=2${query}${marker ? `&marker=${marker}` : ''}`;
        const page = await call('GET', url, { token: server.token });
        expect(page.status).toBe(200);
        expect(page.json).not.toHaveProperty('total_count');
        seen.push(...page.json.entries.map((item: { name: string }) => item.name));
        marker = page.json.next_marker;
        if (marker === null) return seen;
      }
      throw new Error('marker paging did not end');
    }
    expect(await walk('')).toEqual(['zz', 'a.txt', 'b.txt', 'c.txt', 'd.txt', 'e.txt']);
    expect(await walk('&sort=name&direction=DESC')).toEqual(['zz', 'e.txt', 'd.txt', 'c.txt', 'b.txt', 'a.txt']);
    expect(await walk('&sort=size&direction=desc')).toEqual(['zz', 'c.txt', 'b.txt', 'd.txt', 'a.txt', 'e.txt']);

    const offsetPage = await call('GET', `${server.api}/folders/${folder}/items?sort=size&direction=ASC&offset=1&limit=2`, { token: server.token });
    expect(offsetPage.json).toMatchObject({ total_count: 6, offset: 1, limit: 2, order: [{ by: 'type', direction: 'ASC' }, { by: 'size', direction: 'ASC' }] });
    expect(offsetPage.json.entries.map((item: { name: string }) => item.name)).toEqual(['e.txt', 'a.txt']);
    const embedded = await call('GET', `${server.api}/folders/${folder}?sort=name&direction=DESC&limit=2`, { token: server.token });
    expect(embedded.json.item_collection.entries.map((item: { name: string }) => item.name)).toEqual(['zz', 'e.txt']);
  });

  it('refuses bad paging parameters with Box errors', async () => {
    const items = (query: string) => call('GET', `${server.api}/folders/0/items?${query}`, { token: server.token });
    for (const query of ['usemarker=true&marker=not-a-marker', 'usemarker=true&marker=WzEsMiwzXQ', 'sort=colour', 'direction=UP', 'usemarker=maybe', 'fields=a&fields=b']) {
      const reply = await items(query);
      expect(reply.status, query).toBe(400);
      expect(reply.json.type, query).toBe('error');
    }
  });
});

describe('GET /users/me', () => {
  it('reports the space allowed and used and the largest upload', async () => {
    const before = (await call('GET', `${server.api}/users/me`, { token: server.token })).json;
    expect(before).toMatchObject({ type: 'user', name: 'alice', space_amount: 1_000_000, max_upload_size: 500_000 });
    expect((await simpleUpload('counted.bin', randomData(777))).status).toBe(201);
    const after = (await call('GET', `${server.upload}/users/me`, { token: server.token })).json;
    expect(after.space_used).toBe(before.space_used + 777);
  });
});
