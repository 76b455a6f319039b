import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoxClient, BoxDeveloperTokenAuth } from 'box-node-sdk';
import { WebhooksManager } from 'box-node-sdk/managers/webhooks';
import { WebhookKeys } from '../../src/core/webhook-keys.js';
import { call, startServer, type TestServer } from '../helpers/partway.js';
import { Receiver } from '../events/receiver.js';

describe('box-node-sdk v10 WebhooksManager against Partway', () => {
  let server: TestServer;
  let receiver: Receiver;
  let address: string;
  let client: BoxClient;

  beforeAll(async () => {
    receiver = new Receiver();
    address = `${await receiver.start()}/sdk`;
    server = await startServer({ webhookAllowedHosts: '127.0.0.1' });
    client = new BoxClient({ auth: new BoxDeveloperTokenAuth({ token: server.token }) }).withCustomBaseUrls({
      baseUrl: server.url, uploadUrl: `${server.url}/api`, oauth2Url: `${server.url}/oauth2`,
    });
  });
  afterAll(async () => {
    await server?.close();
    await receiver.close();
  });

  it('creates, lists, reads, updates and deletes a webhook; its delivery passes the SDK\'s validateMessage', async () => {
    const folder = await client.folders.createFolder({ name: 'sdk-watched', parent: { id: '0' } });
    const webhook = await client.webhooks.createWebhook({
      target: { id: folder.id, type: 'folder' }, address, triggers: ['FOLDER.CREATED' as never],
    });
    const id = webhook.id!;
    expect(id).toMatch(/^[0-9]+$/);
    expect(webhook.target).toMatchObject({ id: folder.id, type: 'folder' });
    expect(webhook.address).toBe(address);

    const listed = await client.webhooks.getWebhooks({ limit: 10 });
    expect(listed.entries?.map((entry) => entry.id)).toContain(id);
    expect((await client.webhooks.getWebhookById(id)).triggers).toEqual(['FOLDER.CREATED']);
    const updated = await client.webhooks.updateWebhookById(id, { requestBody: { triggers: ['FOLDER.CREATED', 'FOLDER.RENAMED'] as never } });
    expect(updated.triggers).toEqual(['FOLDER.CREATED', 'FOLDER.RENAMED']);

    await client.folders.createFolder({ name: 'child', parent: { id: folder.id } });
    const [delivery] = await receiver.waitFor(1);
    const user = (await call('GET', `${server.api}/users/me`, { token: server.token })).json;
    const keys = await new WebhookKeys(server.partway.stores.metadata).keysOf(user.id);
    expect(await WebhooksManager.validateMessage(delivery!.body, delivery!.headers as Record<string, string>, keys.primary, { secondaryKey: keys.secondary }))
      .toBe(true);

    await client.webhooks.deleteWebhookById(id);
    await expect(client.webhooks.getWebhookById(id)).rejects.toMatchObject({ responseInfo: { statusCode: 404 } });
  });
});
