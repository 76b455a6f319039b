import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDelivery } from '../../src/events/signature.js';
import { call, createFolder, startServer, uploadSmallFile, type TestServer } from '../helpers/partway.js';
import { Receiver, settle } from './receiver.js';

describe('webhook addresses the server may not call', () => {
  let server: TestServer;
  let receiver: Receiver;
  let address: string;

  beforeAll(async () => {
    receiver = new Receiver();
    address = await receiver.start();
    // No PARTWAY_WEBHOOK_ALLOWED_HOSTS: only public https addresses.
    server = await startServer({ eventRetryBase: '50' });
  });
  afterAll(async () => {
    await server?.close();
    await receiver.close();
  });

  it('refuses loopback, private, link-local and metadata addresses when the webhook is made', async () => {
    const folder = await createFolder(server, 'guarded');
    for (const refused of [address, address.replace('http:', 'https:'), 'https://169.254.169.254/latest', 'https://10.0.0.8/x', 'https://localhost/x']) {
      const reply = await call('POST', `${server.api}/webhooks`, {
        token: server.token, json: { target: { id: folder.id, type: 'folder' }, address: refused, triggers: ['FILE.UPLOADED'] },
      });
      expect(reply.status, refused).toBe(400);
      expect(reply.json).toMatchObject({ type: 'error', code: 'bad_request' });
    }
  });

  it('refuses again at delivery, and records the delivery as failed without calling', async () => {
    const folder = await createFolder(server, 'slipped-in');
    const user = (await call('GET', `${server.api}/users/me`, { token: server.token })).json;
    // A webhook that got past creation (made while the address was allowed, or its DNS changed since).
    await server.partway.stores.metadata.transact((tx) => tx.insertWebhook({
      ownerId: user.id, targetType: 'folder', targetId: folder.id, address, triggers: ['FILE.UPLOADED'], createdAt: Date.now(),
    }));
    await uploadSmallFile(server, 'x.txt', folder.id);
    await settle(1500);
    expect(receiver.received).toHaveLength(0);
    const metrics = await call('GET', `${server.url}/metrics`, { token: null });
    expect(metrics.text).toMatch(/partway_webhook_deliveries_total\{outcome="failed",kind="webhook"\} 1/);
    expect(metrics.text).toMatch(/partway_webhook_queue_depth 0/);
  });
});

describe('the operator hook\'s post-commit and post-delete', () => {
  let server: TestServer;
  let receiver: Receiver;
  const secret = 'operator-hook-secret';

  beforeAll(async () => {
    receiver = new Receiver();
    const url = `${await receiver.start()}/partway-hook`;
    server = await startServer({ hookUrl: url, hookSecret: secret, hookEvents: 'post-commit,post-delete', eventRetryBase: '50' });
  });
  afterAll(async () => {
    await server?.close();
    await receiver.close();
  });

  it('sends a signed POST for an upload, a move to the trash and a deletion for good, once each', async () => {
    const folder = await createFolder(server, 'hooked');
    const file = await uploadSmallFile(server, 'h.txt', folder.id);
    expect((await call('DELETE', `${server.api}/files/${file.id}`, { token: server.token })).status).toBe(204);
    expect((await call('DELETE', `${server.api}/files/${file.id}/trash`, { token: server.token })).status).toBe(204);
    await receiver.waitFor(3);
    await settle(300);
    expect(receiver.received).toHaveLength(3);
    const user = (await call('GET', `${server.api}/users/me`, { token: server.token })).json;
    for (const delivery of receiver.received) {
      const headers = delivery.headers as Record<string, string>;
      expect(headers['content-type']).toBe('application/json');
      expect(headers['partway-hook-event']).toBe(delivery.json.event);
      expect(headers['partway-hook-delivery-id']).toBe(delivery.json.delivery_id);
      expect(headers['partway-hook-timestamp']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(delivery.json.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(headers['partway-hook-signature']).toBe(signDelivery(secret, delivery.body, headers['partway-hook-timestamp']!));
      expect(delivery.json.user).toEqual({ id: user.id, login: 'alice' });
    }
    const byEvent = (event: string) => receiver.received.filter((entry) => entry.json.event === event).map((entry) => entry.json);
    expect(byEvent('post-commit')).toHaveLength(1);
    expect(byEvent('post-commit')[0]).toMatchObject({
      file: { id: file.id, name: 'h.txt', size: 100, sha1: file.sha1, folder_id: folder.id, version_id: file.file_version.id },
      upload: { kind: 'simple', session_id: null },
    });
    expect(byEvent('post-delete').map((event) => event.permanently).sort()).toEqual([false, true]);
    for (const event of byEvent('post-delete')) expect(event.item).toEqual({ type: 'file', id: file.id, name: 'h.txt' });
  });
});

describe('the operator hook\'s events are chosen', () => {
  it('sends only post-delete when only it is listed', async () => {
    const receiver = new Receiver();
    const server = await startServer({ hookUrl: await receiver.start(), hookSecret: 's', hookEvents: 'post-delete' });
    try {
      const file = await uploadSmallFile(server, 'only-delete.txt');
      expect((await call('DELETE', `${server.api}/files/${file.id}`, { token: server.token })).status).toBe(204);
      await receiver.waitFor(1);
      await settle(500);
      expect(receiver.received.map((entry) => entry.json.event)).toEqual(['post-delete']);
    } finally {
      await server.close();
      await receiver.close();
    }
  });
});

describe('a receiver that never answers 2xx', () => {
  it('is retried for PARTWAY_EVENT_RETRY_FOR, then the delivery is recorded as failed', async () => {
    const receiver = new Receiver();
    receiver.answer = () => 503;
    const address = await receiver.start();
    const server = await startServer({ webhookAllowedHosts: '127.0.0.1', eventRetryBase: '50', eventRetryFor: '1' });
    try {
      const folder = await createFolder(server, 'never');
      const made = await call('POST', `${server.api}/webhooks`, {
        token: server.token, json: { target: { id: folder.id, type: 'folder' }, address, triggers: ['FOLDER.RENAMED'] },
      });
      expect(made.status, made.text).toBe(201);
      expect((await call('PUT', `${server.api}/folders/${folder.id}`, { token: server.token, json: { name: 'never-2' } })).status).toBe(200);
      const deadline = Date.now() + 10_000;
      let metrics = '';
      while (!/partway_webhook_deliveries_total\{outcome="failed",kind="webhook"\} 1/.test(metrics) && Date.now() < deadline) {
        await settle(200);
        metrics = (await call('GET', `${server.url}/metrics`, { token: null })).text;
      }
      expect(metrics).toMatch(/partway_webhook_deliveries_total\{outcome="failed",kind="webhook"\} 1/);
      expect(metrics).toMatch(/partway_webhook_queue_depth 0/);
      // Several attempts, all with the one delivery id; none after it failed.
      const attempts = receiver.received.length;
      expect(attempts).toBeGreaterThan(2);
      expect(new Set(receiver.received.map((entry) => entry.headers['box-delivery-id'])).size).toBe(1);
      await settle(500);
      expect(receiver.received.length).toBe(attempts);
    } finally {
      await server.close();
      await receiver.close();
    }
  });
});
