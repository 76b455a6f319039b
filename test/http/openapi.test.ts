import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createPartway, type Partway } from '../../src/server.js';

/**
 * `/openapi.json` is generated from the same route schemas that validate requests: every route the
 * server registers is in it, and Box's own example requests (../shared/spec/BOX-API.md) validate
 * against it. A request its schema refuses gets the code Box gives, with Box's precedence when several
 * fields are wrong (these answers are the same as when each route checked its input by hand).
 */

let partway: Partway;
let dataDir: string;
let url: string;
const routes: Array<{ method: string; path: string }> = [];
/** Routes left out of the description on purpose: the web uploader's static files, if it was built. */
const hidden: string[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'partway-openapi-'));
  partway = await createPartway(loadConfig({ port: '0', dataDir, logLevel: 'silent' }, {}), false);
  // Added before the server starts, so it sees every route the plugins register.
  partway.app.addHook('onRoute', (route) => {
    if (route.schema?.hide) {
      hidden.push(route.url);
      return;
    }
    for (const method of [route.method].flat()) {
      // Fastify adds a HEAD route for each GET; the GET describes both.
      if (method !== 'HEAD') routes.push({ method: method.toLowerCase(), path: route.url.replace(/:(\w+)/g, '{$1}') });
    }
  });
  url = await partway.listen();
});
afterAll(async () => {
  await partway.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function openApi(): Promise<{ openapi: string; paths: Record<string, Record<string, any>> }> {
  const answer = await fetch(`${url}/openapi.json`);
  expect(answer.status).toBe(200);
  return answer.json() as never;
}

function bodyValidator(doc: Awaited<ReturnType<typeof openApi>>, method: string, path: string) {
  const schema = doc.paths[path]?.[method]?.requestBody?.content?.['application/json']?.schema;
  expect(schema, `${method} ${path} has a JSON body schema`).toBeTypeOf('object');
  return new Ajv({ allowUnionTypes: true }).compile(schema);
}

describe('/openapi.json', () => {
  it('is served without a token and describes every route the server registers', async () => {
    const doc = await openApi();
    expect(doc.openapi).toMatch(/^3\./);
    expect(routes.length).toBeGreaterThan(20);
    const missing = routes.filter(({ method, path }) => doc.paths[path]?.[method] === undefined);
    expect(missing).toEqual([]);
    expect(hidden.filter((path) => !/^\/(index\.html|favicon\.svg|assets\/[^/]+)?$/.test(path))).toEqual([]);
    for (const path of ['/2.0/files/upload_sessions', '/api/2.0/files/upload_sessions/{id}/commit', '/downloads/{token}', '/openapi.json']) {
      expect(Object.keys(doc.paths), path).toContain(path);
    }
  });

  it('asks for a bearer token on the API routes and not on the signed download links', async () => {
    const doc = await openApi();
    expect(doc.paths['/2.0/folders']!.post.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/downloads/{token}']!.get.security).toBeUndefined();
  });

  it('accepts Box\'s example bodies for session creation, version sessions, commit and folder creation', async () => {
    const doc = await openApi();
    const examples: Array<[string, string, unknown]> = [
      ['post', '/api/2.0/files/upload_sessions', { folder_id: '0', file_size: 104857600, file_name: 'Project.mov' }],
      ['post', '/api/2.0/files/{id}/upload_sessions', { file_size: 104857600, file_name: 'Project.mov' }],
      ['post', '/api/2.0/files/{id}/upload_sessions', { file_size: 104857600 }],
      ['post', '/api/2.0/files/upload_sessions/{id}/commit', {
        parts: [
          { part_id: 'BFDF5379', offset: 0, size: 8388608, sha1: '134b65991ed521fcfe4724b7d814ab8ded5185dc' },
          { part_id: 'E8A3ED8E', offset: 8388608, size: 1611392, sha1: '234b65934ed521fcfe3424b7d814ab8ded5185dc' },
        ],
        attributes: { content_modified_at: '2017-04-08T00:58:08Z' },
      }],
      // The Android and legacy Java SDKs send parts without sha1.
      ['post', '/api/2.0/files/upload_sessions/{id}/commit', { parts: [{ part_id: 'BFDF5379', offset: 0, size: 8388608 }] }],
      ['post', '/2.0/folders', { name: 'New Folder', parent: { id: '0' } }],
    ];
    for (const [method, path, body] of examples) {
      const validate = bodyValidator(doc, method, path);
      expect(validate(body), `${method} ${path} ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it('refuses the bodies the routes refuse', async () => {
    const doc = await openApi();
    const refused: Array<[string, string, unknown]> = [
      ['post', '/api/2.0/files/upload_sessions', { folder_id: '0', file_size: '104857600', file_name: 'Project.mov' }],
      ['post', '/api/2.0/files/upload_sessions', { folder_id: '0', file_name: 'Project.mov' }],
      ['post', '/api/2.0/files/upload_sessions/{id}/commit', { parts: [{ part_id: 'BFDF5379', offset: -1, size: 8388608 }] }],
      ['post', '/api/2.0/files/upload_sessions/{id}/commit', { attributes: {} }],
      ['post', '/2.0/folders', { name: 'New Folder' }],
    ];
    for (const [method, path, body] of refused) {
      expect(bodyValidator(doc, method, path)(body), `${method} ${path} ${JSON.stringify(body)}`).toBe(false);
    }
  });
});

describe('a request its route\'s schema refuses', () => {
  const SIZE = 100 * 1024 * 1024;
  let token: string;
  beforeAll(async () => {
    token = (await partway.tokens.create('alice')).token;
  });

  async function post(path: string, body: unknown) {
    const answer = await fetch(`${url}${path}`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    return { status: answer.status, json: await answer.json() as { type: string; code: string; request_id: string } };
  }

  it.each<[string, unknown, string]>([
    ['a bad folder_id before a missing file_size', { folder_id: true, file_name: 'a' }, 'invalid_folder_id'],
    ['a missing folder_id before a bad file_size', { file_size: 'x', file_name: 'a' }, 'missing_destination'],
    ['a null folder_id as missing', { folder_id: null, file_size: SIZE, file_name: 'a' }, 'missing_destination'],
    ['an empty folder_id as invalid', { folder_id: '', file_size: SIZE, file_name: 'a' }, 'invalid_folder_id'],
    ['a negative folder_id as invalid', { folder_id: -1, file_size: SIZE, file_name: 'a' }, 'invalid_folder_id'],
    ['a null file_size as missing', { folder_id: '0', file_size: null, file_name: 'a' }, 'missing_file_size'],
    ['a bad file_size before a bad file_name', { folder_id: '0', file_size: 'x', file_name: 5 }, 'invalid_file_size'],
    ['a null file_name as missing', { folder_id: '0', file_size: SIZE, file_name: null }, 'missing_file_name'],
    ['a file_name that is not a string', { folder_id: '0', file_size: SIZE, file_name: ['a'] }, 'item_name_invalid'],
    ['a body that is not an object', [{ folder_id: '0', file_size: SIZE, file_name: 'a' }], 'bad_request'],
  ])('answers session creation with %s with Box\'s code', async (_label, body, code) => {
    const answer = await post('/api/2.0/files/upload_sessions', body);
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ type: 'error', status: 400, code });
  });

  it('answers a version session with a file_name that is not a string with item_name_invalid, and takes a null one', async () => {
    expect((await post('/api/2.0/files/1/upload_sessions', { file_size: SIZE, file_name: 5 })).json.code).toBe('item_name_invalid');
    expect((await post('/api/2.0/files/1/upload_sessions', { file_size: SIZE, file_name: null })).json.code).toBe('not_found');
  });

  it('answers a bad offset before a bad limit', async () => {
    const answer = await fetch(`${url}/2.0/folders/0/items?limit=abc&offset=1e3`, { headers: { authorization: `Bearer ${token}` } });
    expect(answer.status).toBe(400);
    expect(await answer.json()).toMatchObject({ code: 'invalid_offset' });
  });

  it('answers a commit whose parts are not Box\'s shape with bad_request before looking for the session', async () => {
    const answer = await post('/api/2.0/files/upload_sessions/F971964745A5CD0C001BBE4E58196BFD/commit', { parts: [{ offset: 0, size: '5' }] });
    expect(answer).toMatchObject({ status: 400, json: { code: 'bad_request' } });
  });

  it.each<[string, unknown, string]>([
    ['no parent before no name', { name: 5 }, 'missing_destination'],
    ['a parent without an id', { parent: {}, name: 'a.txt' }, 'missing_destination'],
    ['a parent id that is neither string nor number', { parent: { id: true }, name: 'a.txt' }, 'missing_destination'],
    ['no name', { parent: { id: '0' } }, 'missing_file_name'],
    ['a name that is not a string', { parent: { id: '0' }, name: null }, 'missing_file_name'],
    ['a date that is not RFC 3339', { parent: { id: '0' }, name: 'a.txt', content_created_at: 'yesterday' }, 'bad_request'],
    ['attributes that are not an object', ['a.txt'], 'bad_request'],
  ])('answers a simple upload with %s with Box\'s code', async (_label, attributes, code) => {
    const form = new FormData();
    form.append('attributes', JSON.stringify(attributes));
    form.append('file', new Blob(['hello']), 'a.txt');
    const answer = await fetch(`${url}/api/2.0/files/content`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
    expect(answer.status).toBe(400);
    expect(await answer.json()).toMatchObject({ type: 'error', status: 400, code });
  });
});
