import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { PartwayClient } from '../../src/client/index.js';
import { loadConfig } from '../../src/config.js';
import { Tokens } from '../../src/core/tokens.js';
import { partway } from '../../src/fastify-plugin.js';
import { openStores, type Stores } from '../../src/stores/open.js';
import { call, randomData, sha1Hex } from '../helpers/partway.js';
import { runCli } from '../helpers/process.js';

/** A host app with routes, parsers and errors of its own, logging JSON lines into `lines`. */
function hostApp(lines: string[]): FastifyInstance {
  const sink = new Writable({ write(chunk, _encoding, done) { lines.push(...String(chunk).trim().split('\n')); done(); } });
  const app = Fastify({ loggerInstance: pino({ level: 'info' }, sink) }) as unknown as FastifyInstance;
  app.get('/hello', async () => ({ hello: 'world' }));
  app.post('/echo', async (req) => req.body);
  app.get('/boom', async () => { throw new Error('boom'); });
  return app;
}

let host: FastifyInstance | undefined;
let stores: Stores | undefined;
let dataDir: string | undefined;

afterEach(async () => {
  await host?.close();
  await stores?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  host = stores = dataDir = undefined;
});

describe('partway/fastify: the API inside a host app', () => {
  it('serves Box\'s API under the host\'s prefix with stores passed in, on the host\'s logger, and a real client uploads through it', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'partway-embed-'));
    const settings = { dataDir, basePartSize: String(1024 * 1024), minChunkedSize: '1000' };
    stores = await openStores(loadConfig(settings, {}));
    const token = (await new Tokens(stores.metadata).create('hana')).token;
    const lines: string[] = [];
    host = hostApp(lines);
    await host.register(partway, { prefix: '/files', settings, stores });
    const url = await host.listen({ port: 0, host: '127.0.0.1' });

    const me = await call('GET', `${url}/files/2.0/users/me`, { token });
    expect(me.status).toBe(200);
    expect(me.json).toMatchObject({ type: 'user', name: 'hana' });
    expect(me.headers['box-request-id']).toBeTypeOf('string');
    // The host's logger carries the API's requests, under the host's request ids.
    const logged = lines.map((line) => JSON.parse(line) as { reqId?: string; req?: { url?: string } });
    expect(logged.some((entry) => entry.req?.url === '/files/2.0/users/me' && entry.reqId === me.headers['box-request-id'])).toBe(true);

    // Box's errors inside the prefix: token, schema (no coercion), unknown route.
    const anonymous = await call('GET', `${url}/files/2.0/users/me`, { token: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.json).toMatchObject({ type: 'error', status: 401 });
    const badSize = await call('POST', `${url}/files/api/2.0/files/upload_sessions`, { token, json: { folder_id: '0', file_size: '3000', file_name: 'a.bin' } });
    expect(badSize.json).toMatchObject({ type: 'error', status: 400, code: 'invalid_file_size' });
    const unknown = await call('GET', `${url}/files/2.0/no/such/route`, { token });
    expect(unknown.json).toMatchObject({ type: 'error', status: 404, code: 'not_found' });

    // A chunked upload by the client library (parts streamed, not parsed), and its download through the signed link.
    const data = randomData(3 * 1024 * 1024 + 17);
    const client = new PartwayClient({ server: `${url}/files`, token });
    const uploaded = await client.upload({ stream: (async function* () { yield data; })(), size: data.length, name: 'embedded.bin' }, { chunkedThreshold: 1000 });
    expect(uploaded.partsSent).toBe(4);
    expect(uploaded.file.sha1).toBe(sha1Hex(data));
    const content = await request(`${url}/files/2.0/files/${uploaded.file.id}/content`, { headers: { authorization: `Bearer ${token}` } });
    expect(content.statusCode).toBe(302);
    await content.body.dump();
    expect(String(content.headers.location)).toMatch(new RegExp(`^${url}/files/downloads/`));
    const downloaded = await request(String(content.headers.location));
    expect(sha1Hex(Buffer.from(await downloaded.body.arrayBuffer()))).toBe(sha1Hex(data));
    await client.close();
  });

  it('leaves the host\'s own routes, body parsing, errors and 404s as they were', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'partway-embed-'));
    host = hostApp([]);
    await host.register(partway, { prefix: '/files', settings: { dataDir } });
    const url = await host.listen({ port: 0, host: '127.0.0.1' });

    const hello = await call('GET', `${url}/hello`);
    expect(hello.json).toEqual({ hello: 'world' });
    expect(hello.headers['box-request-id']).toBeUndefined();
    const echo = await call('POST', `${url}/echo`, { json: { parsed: [1, 2] } });
    expect(echo.json).toEqual({ parsed: [1, 2] });
    // Fastify's own error shapes, not Box's.
    const badJson = await call('POST', `${url}/echo`, { headers: { 'content-type': 'application/json' }, body: '{nope' });
    expect(badJson.status).toBe(400);
    expect(badJson.json).toMatchObject({ statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' });
    expect(badJson.json.type).toBeUndefined();
    const boom = await call('GET', `${url}/boom`);
    expect(boom.json).toEqual({ statusCode: 500, error: 'Internal Server Error', message: 'boom' });
    const missing = await call('GET', `${url}/nowhere`);
    expect(missing.json).toEqual({ statusCode: 404, error: 'Not Found', message: 'Route GET:/nowhere not found' });
    // A body type the host has no parser for is still refused by the host, though the API streams any.
    const octets = await call('POST', `${url}/echo`, { headers: { 'content-type': 'application/octet-stream' }, body: 'bytes' });
    expect(octets.status).toBe(415);
  });

  it('opens its stores from the settings, so a token made by `partway token create` on the same data directory works', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'partway-embed-'));
    const token = (await runCli(['token', 'create', '--user', 'ines', '--data-dir', dataDir])).stdout.trim();
    host = hostApp([]);
    await host.register(partway, { prefix: '/box', settings: { dataDir } });
    const url = await host.listen({ port: 0, host: '127.0.0.1' });
    expect((await call('GET', `${url}/box/2.0/users/me`, { token })).json).toMatchObject({ name: 'ines' });
    const created = await call('POST', `${url}/box/api/2.0/files/upload_sessions`, { token, json: { folder_id: '0', file_size: 30_000_000, file_name: 'big.bin' } });
    expect(created.status).toBe(201);
    expect(created.json.session_endpoints.upload_part).toBe(`${url}/box/api/2.0/files/upload_sessions/${created.json.id}`);
    expect((await call('GET', `${url}/box/healthz`)).status).toBe(200);
  });
});
