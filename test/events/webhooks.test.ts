import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhooksManager } from 'box-node-sdk/managers/webhooks';
import { signDelivery } from '../../src/events/signature.js';
import { WebhookKeys } from '../../src/core/webhook-keys.js';
import { call, createFolder, partRequest, randomData, sha1Base64, startServer, uploadSmallFile, type TestServer } from '../helpers/partway.js';
import { freshSchema, TEST_DATABASE_URL } from '../helpers/postgres.js';
import { Receiver, settle, type Received } from './receiver.js';

const ALL_ITEM_TRIGGERS = [
  'FILE.UPLOADED', 'FILE.TRASHED', 'FILE.DELETED', 'FILE.RESTORED', 'FILE.RENAMED', 'FILE.MOVED', 'FILE.COPIED',
  'FOLDER.CREATED', 'FOLDER.TRASHED', 'FOLDER.DELETED', 'FOLDER.RESTORED', 'FOLDER.RENAMED', 'FOLDER.MOVED',
];
const PART = 64 * 1024;

/** Each backend the events must work on: the outbox is rows of the metadata store. */
const BACKENDS: Array<[string, () => Promise<{ settings: Record<string, string>; drop(): Promise<void> }>]> = [
  ['SQLite', async () => ({ settings: {}, drop: async () => {} })],
];
if (TEST_DATABASE_URL) {
  BACKENDS.push(['PostgreSQL', async () => {
    const schema = await freshSchema();
    return { settings: { databaseUrl: schema.url }, drop: () => schema.drop() };
  }]);
}

describe.each(BACKENDS)('webhooks on %s', (_name, backend) => {
  let server: TestServer;
  let receiver: Receiver;
  let address: string;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    receiver = new Receiver();
    address = `${await receiver.start()}/hook`;
    const chosen = await backend();
    drop = chosen.drop;
    server = await startServer({
      ...chosen.settings, webhookAllowedHosts: '127.0.0.1', eventRetryBase: '50', basePartSize: String(PART), minChunkedSize: '100000',
    });
  });
  afterAll(async () => {
    await server?.close();
    await receiver.close();
    await drop();
  });

  const api = (method: string, path: string, json?: unknown, token = server.token) => call(method, `${server.api}${path}`, { token, json });
  const createWebhook = async (target: { id: string; type: string }, triggers: string[], to = address) => {
    const reply = await api('POST', '/webhooks', { target, address: to, triggers });
    expect(reply.status, reply.text).toBe(201);
    return reply.json;
  };
  /** Deliveries from `start` on, once `count` arrived and no more came for a while. */
  const deliveriesFrom = async (start: number, count: number): Promise<Received[]> => {
    await receiver.waitFor(start + count);
    await settle(300);
    return receiver.received.slice(start);
  };

  it('fires every trigger once per change, with Box\'s webhook_event', async () => {
    const folder = await createFolder(server, 'watched');
    const webhook = await createWebhook({ id: folder.id, type: 'folder' }, ALL_ITEM_TRIGGERS);
    expect(webhook).toMatchObject({ type: 'webhook', target: { id: folder.id, type: 'folder' }, address, triggers: ALL_ITEM_TRIGGERS });
    const start = receiver.received.length;

    const inner = await createFolder(server, 'inner', folder.id); // FOLDER.CREATED
    const file = await uploadSmallFile(server, 'a.txt', inner.id); // FILE.UPLOADED (below the folder: fires too)
    const session = await uploadChunked(server, 'big.bin', folder.id); // FILE.UPLOADED (a commit)
    expect((await api('PUT', `/files/${file.id}`, { name: 'b.txt' })).status).toBe(200); // FILE.RENAMED
    expect((await api('PUT', `/files/${file.id}`, { parent: { id: folder.id } })).status).toBe(200); // FILE.MOVED
    const copy = await api('POST', `/files/${file.id}/copy`, { parent: { id: inner.id }, name: 'c.txt' }); // FILE.COPIED
    expect(copy.status, copy.text).toBe(201);
    expect((await api('DELETE', `/files/${file.id}`)).status).toBe(204); // FILE.TRASHED
    expect((await api('POST', `/files/${file.id}`, {})).status).toBe(201); // FILE.RESTORED
    expect((await api('DELETE', `/files/${file.id}`)).status).toBe(204); // FILE.TRASHED
    expect((await api('DELETE', `/files/${file.id}/trash`)).status).toBe(204); // FILE.DELETED
    expect((await api('PUT', `/folders/${inner.id}`, { name: 'inner2' })).status).toBe(200); // FOLDER.RENAMED
    const other = await createFolder(server, 'other-place', folder.id); // FOLDER.CREATED
    expect((await api('PUT', `/folders/${inner.id}`, { parent: { id: other.id } })).status).toBe(200); // FOLDER.MOVED
    expect((await api('DELETE', `/folders/${other.id}?recursive=true`)).status).toBe(204); // FOLDER.TRASHED
    expect((await api('POST', `/folders/${other.id}`, {})).status).toBe(201); // FOLDER.RESTORED
    expect((await api('DELETE', `/folders/${other.id}?recursive=true`)).status).toBe(204); // FOLDER.TRASHED
    expect((await api('DELETE', `/folders/${other.id}/trash`)).status).toBe(204); // FOLDER.DELETED
    // Outside the folder: no webhook fires.
    await uploadSmallFile(server, 'elsewhere.txt', '0');

    const expected = [
      'FOLDER.CREATED', 'FILE.UPLOADED', 'FILE.UPLOADED', 'FILE.RENAMED', 'FILE.MOVED', 'FILE.COPIED', 'FILE.TRASHED', 'FILE.RESTORED',
      'FILE.TRASHED', 'FILE.DELETED', 'FOLDER.RENAMED', 'FOLDER.CREATED', 'FOLDER.MOVED', 'FOLDER.TRASHED', 'FOLDER.RESTORED',
      'FOLDER.TRASHED', 'FOLDER.DELETED',
    ];
    const got = await deliveriesFrom(start, expected.length);
    expect(got.map((entry) => entry.json.trigger).sort()).toEqual([...expected].sort());
    // One delivery id each, and each event once.
    expect(new Set(got.map((entry) => entry.headers['box-delivery-id'])).size).toBe(expected.length);
    expect(new Set(got.map((entry) => entry.json.id)).size).toBe(expected.length);

    const byTrigger = (trigger: string) => got.filter((entry) => entry.json.trigger === trigger).map((entry) => entry.json);
    for (const event of got.map((entry) => entry.json)) {
      expect(event).toMatchObject({ type: 'webhook_event', webhook: { id: webhook.id, type: 'webhook' }, created_by: { type: 'user', login: 'alice' } });
      expect(event.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    }
    expect(byTrigger('FILE.UPLOADED').map((event) => event.source.id).sort()).toEqual([file.id, session.id].sort());
    expect(byTrigger('FILE.UPLOADED').find((event) => event.source.id === file.id).source).toMatchObject({
      type: 'file', name: 'a.txt', size: 100, sha1: file.sha1, parent: { id: inner.id },
    });
    expect(byTrigger('FILE.RENAMED')[0].source).toMatchObject({ id: file.id, name: 'b.txt' });
    expect(byTrigger('FILE.MOVED')[0].source).toMatchObject({ id: file.id, parent: { id: folder.id } });
    expect(byTrigger('FILE.COPIED')[0].source).toMatchObject({ id: copy.json.id, name: 'c.txt' });
    expect(byTrigger('FILE.DELETED')[0].source).toMatchObject({ id: file.id, type: 'file' });
    expect(byTrigger('FOLDER.CREATED').map((event) => event.source.id).sort()).toEqual([inner.id, other.id].sort());
    expect(byTrigger('FOLDER.MOVED')[0].source).toMatchObject({ id: inner.id, parent: { id: other.id } });
    expect(byTrigger('FOLDER.DELETED')[0].source).toMatchObject({ id: other.id, type: 'folder' });
  });

  it('signs each delivery with both keys; box-node-sdk v10 verifies it', async () => {
    const file = await uploadSmallFile(server, 'signed.txt');
    await createWebhook({ id: file.id, type: 'file' }, ['FILE.RENAMED']);
    const start = receiver.received.length;
    expect((await api('PUT', `/files/${file.id}`, { name: 'signed-2.txt' })).status).toBe(200);
    const [delivery] = await deliveriesFrom(start, 1);
    const headers = delivery!.headers as Record<string, string>;
    expect(headers).toMatchObject({ 'box-signature-version': '1', 'box-signature-algorithm': 'HmacSHA256' });
    const user = (await api('GET', '/users/me')).json;
    const keys = await new WebhookKeys(server.partway.stores.metadata).keysOf(user.id);
    expect(keys.primary).not.toBe(keys.secondary);
    expect(headers['box-signature-primary']).toBe(signDelivery(keys.primary, delivery!.body, headers['box-delivery-timestamp']!));
    expect(headers['box-signature-secondary']).toBe(signDelivery(keys.secondary, delivery!.body, headers['box-delivery-timestamp']!));
    expect(await WebhooksManager.validateMessage(delivery!.body, headers, keys.primary, { secondaryKey: keys.secondary })).toBe(true);
    // Only the secondary known (the primary being rotated): still valid; a wrong key and a changed body are not.
    expect(await WebhooksManager.validateMessage(delivery!.body, headers, 'not-the-key', { secondaryKey: keys.secondary })).toBe(true);
    expect(await WebhooksManager.validateMessage(delivery!.body, headers, 'not-the-key', { secondaryKey: 'nor-this' })).toBe(false);
    expect(await WebhooksManager.validateMessage(delivery!.body.replace('signed-2', 'signed-3'), headers, keys.primary)).toBe(false);
  });

  it('retries a receiver that fails 3 times with the same delivery id, then it is delivered once', async () => {
    const file = await uploadSmallFile(server, 'flaky.txt');
    const flaky = new Receiver();
    const flakyAddress = await flaky.start();
    try {
      flaky.answer = (_request, index) => (index < 3 ? 500 : 200);
      await createWebhook({ id: file.id, type: 'file' }, ['FILE.RENAMED'], flakyAddress);
      expect((await api('PUT', `/files/${file.id}`, { name: 'flaky-2.txt' })).status).toBe(200);
      const got = await flaky.waitFor(4);
      await settle(500);
      expect(flaky.received).toHaveLength(4);
      expect(new Set(got.map((entry) => entry.headers['box-delivery-id'])).size).toBe(1);
      expect(new Set(got.map((entry) => entry.body)).size).toBe(1);
      const metrics = await call('GET', `${server.url}/metrics`, { token: null });
      expect(metrics.text).toMatch(/partway_webhook_deliveries_total\{outcome="retried",kind="webhook"\} [3-9]/);
    } finally {
      await flaky.close();
    }
  });

  it('answers Box\'s errors: a duplicate 409, an unknown trigger 400, another user\'s webhook 404', async () => {
    const file = await uploadSmallFile(server, 'errors.txt');
    const webhook = await createWebhook({ id: file.id, type: 'file' }, ['FILE.TRASHED']);
    const duplicate = await api('POST', '/webhooks', { target: { id: file.id, type: 'file' }, address, triggers: ['FILE.UPLOADED'] });
    expect(duplicate.status).toBe(409);
    expect(duplicate.json).toMatchObject({ type: 'error', status: 409, code: 'conflict' });
    const unknown = await api('POST', '/webhooks', { target: { id: file.id, type: 'file' }, address: `${address}/2`, triggers: ['FILE.EATEN'] });
    expect(unknown.json).toMatchObject({ type: 'error', status: 400, code: 'bad_request' });
    const missingTarget = await api('POST', '/webhooks', { target: { id: '987654321', type: 'file' }, address: `${address}/2`, triggers: ['FILE.TRASHED'] });
    expect(missingTarget.status).toBe(404);
    const malformed = await api('POST', '/webhooks', { target: { id: file.id }, address });
    expect(malformed.json).toMatchObject({ type: 'error', status: 400 });

    const bob = await server.tokenFor('bob');
    for (const [method, body] of [['GET', undefined], ['PUT', { triggers: ['FILE.UPLOADED'] }], ['DELETE', undefined]] as const) {
      const reply = await api(method, `/webhooks/${webhook.id}`, body, bob);
      expect(reply.status, `${method} ${reply.text}`).toBe(404);
    }
    expect((await api('GET', '/webhooks', undefined, bob)).json.entries).toEqual([]);
    // Bob may not watch Alice's file either.
    expect((await api('POST', '/webhooks', { target: { id: file.id, type: 'file' }, address, triggers: ['FILE.TRASHED'] }, bob)).status).toBe(404);
  });

  it('lists by marker, updates, and deletes with WEBHOOK.DELETED', async () => {
    const folder = await createFolder(server, 'listed');
    const made = [];
    for (let index = 0; index < 3; index++) made.push(await createWebhook({ id: folder.id, type: 'folder' }, ['FOLDER.RENAMED'], `${address}/${index}`));
    const seen: string[] = [];
    let marker: string | null = '';
    while (marker !== null) {
      const page: any = (await api('GET', `/webhooks?limit=2${marker ? `&marker=${marker}` : ''}`)).json;
      expect(page.entries.length).toBeLessThanOrEqual(2);
      seen.push(...page.entries.map((entry: any) => entry.id));
      marker = page.next_marker;
    }
    for (const webhook of made) expect(seen).toContain(webhook.id);
    expect(new Set(seen).size).toBe(seen.length);

    const updated = await api('PUT', `/webhooks/${made[0].id}`, { triggers: ['FOLDER.RENAMED', 'WEBHOOK.DELETED'] });
    expect(updated.status, updated.text).toBe(200);
    expect(updated.json.triggers).toEqual(['FOLDER.RENAMED', 'WEBHOOK.DELETED']);
    expect((await api('GET', `/webhooks/${made[0].id}`)).json.triggers).toEqual(['FOLDER.RENAMED', 'WEBHOOK.DELETED']);

    const start = receiver.received.length;
    for (const webhook of made) expect((await api('DELETE', `/webhooks/${webhook.id}`)).status).toBe(204);
    expect((await api('GET', `/webhooks/${made[0].id}`)).status).toBe(404);
    const [deleted] = await deliveriesFrom(start, 1);
    expect(deleted!.json).toMatchObject({ trigger: 'WEBHOOK.DELETED', webhook: { id: made[0].id }, source: { id: made[0].id, type: 'webhook' } });
    // Deleted: no more deliveries for it.
    const after = receiver.received.length;
    expect((await api('PUT', `/folders/${folder.id}`, { name: 'listed-2' })).status).toBe(200);
    await settle(500);
    expect(receiver.received.length).toBe(after);
  });

  it('answers bad input with Box errors, never a 500', async () => {
    const folder = await createFolder(server, 'hostile');
    const target = { id: folder.id, type: 'folder' };
    const cases: Array<[string, string, unknown, number]> = [
      ['POST', '/webhooks', { target, address, triggers: 'FILE.UPLOADED' }, 400],
      ['POST', '/webhooks', { target: { id: {}, type: 'folder' }, address, triggers: ['FILE.UPLOADED'] }, 400],
      ['POST', '/webhooks', { target: { id: folder.id, type: 'user' }, address, triggers: ['FILE.UPLOADED'] }, 400],
      ['POST', '/webhooks', { target, address: 'not a url', triggers: ['FILE.UPLOADED'] }, 400],
      ['POST', '/webhooks', { target, address: `${address}/${'x'.repeat(3000)}`, triggers: ['FILE.UPLOADED'] }, 400],
      ['POST', '/webhooks', { target, address, triggers: [] }, 400],
      ['POST', '/webhooks', { target: { id: 'abc', type: 'file' }, address, triggers: ['FILE.UPLOADED'] }, 404],
      ['GET', '/webhooks?marker=abc', undefined, 400],
      ['GET', '/webhooks?limit=0', undefined, 400],
      ['GET', '/webhooks?limit=-1', undefined, 400],
      ['GET', '/webhooks/abc', undefined, 404],
      ['GET', `/webhooks/${'9'.repeat(30)}`, undefined, 404],
      ['PUT', '/webhooks/abc', { triggers: ['FILE.UPLOADED'] }, 404],
      ['DELETE', '/webhooks/99999999', undefined, 404],
    ];
    for (const [method, path, body, status] of cases) {
      const reply = await api(method, path, body);
      expect(reply.status, `${method} ${path} ${JSON.stringify(body)?.slice(0, 80)}: ${reply.text}`).toBe(status);
      expect(reply.json).toMatchObject({ type: 'error', status });
    }
  });

  it('deletes a webhook with its target deleted for good, with WEBHOOK.DELETED', async () => {
    const file = await uploadSmallFile(server, 'watched-then-gone.txt');
    const webhook = await createWebhook({ id: file.id, type: 'file' }, ['FILE.TRASHED', 'WEBHOOK.DELETED']);
    const start = receiver.received.length;
    expect((await api('DELETE', `/files/${file.id}`)).status).toBe(204);
    expect((await api('GET', `/webhooks/${webhook.id}`)).status).toBe(200);
    expect((await api('DELETE', `/files/${file.id}/trash`)).status).toBe(204);
    const got = await deliveriesFrom(start, 2);
    expect(got.map((entry) => entry.json.trigger).sort()).toEqual(['FILE.TRASHED', 'WEBHOOK.DELETED']);
    expect((await api('GET', `/webhooks/${webhook.id}`)).status).toBe(404);
  });
});

/** A chunked upload (session, parts, commit) of a new file into `folderId`; the committed file's JSON. */
async function uploadChunked(server: TestServer, name: string, folderId: string): Promise<any> {
  const data = randomData(2 * PART + 10);
  const created = await call('POST', `${server.upload}/files/upload_sessions`, { token: server.token, json: { folder_id: folderId, file_size: data.length, file_name: name } });
  expect(created.status, created.text).toBe(201);
  const parts = [];
  for (let offset = 0; offset < data.length; offset += PART) {
    const reply = await call('PUT', `${server.upload}/files/upload_sessions/${created.json.id}`, partRequest(data, offset, Math.min(PART, data.length - offset), server.token));
    expect(reply.status, reply.text).toBe(200);
    parts.push(reply.json.part);
  }
  const commit = await call('POST', `${server.upload}/files/upload_sessions/${created.json.id}/commit`, {
    token: server.token, headers: { digest: `sha=${sha1Base64(data)}` }, json: { parts },
  });
  expect(commit.status, commit.text).toBe(201);
  return commit.json.entries[0];
}
