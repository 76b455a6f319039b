import { describe, expect, it } from 'vitest';
import { AtomicSteps } from '../../src/core/atomic-steps.js';
import { EventOutbox } from '../../src/core/event-outbox.js';
import type { DeliveryRecord, WebhookRecord } from '../../src/core/event-model.js';
import { nameKey } from '../../src/core/names.js';
import type { FolderRecord, UserRecord } from '../../src/core/model.js';
import type { MetadataStore } from '../../src/metadata/store.js';

/**
 * The store's part of the events (issue 15), run by describeMetadataStore over every backend: the
 * outbox rows written with a change (and only with it), their leases, settlements and backlog, the
 * webhook rows, and the replaced secrets (signature keys).
 */
export function describeEventStore(store: () => MetadataStore): void {
  const T0 = 1_700_000_000_000;
  describe('events: webhooks and the outbox', () => {
    const hook = { url: 'http://hook.example/partway', events: new Set(['post-commit', 'post-delete']) };

    async function world() {
      const metadata = store();
      const steps = new AtomicSteps(metadata, new EventOutbox({ hook }));
      const alice = await metadata.ensureUser('alice', T0);
      const folder = async (owner: UserRecord, parentId: string, name: string): Promise<FolderRecord> => {
        const made = await steps.createFolder({ ownerId: owner.id, parentId, name, nameKey: nameKey(name), now: T0 });
        if (!('created' in made)) throw new Error('no folder');
        return made.created;
      };
      const webhookOn = (owner: UserRecord, targetId: string, address: string, triggers = ['FILE.UPLOADED', 'FILE.TRASHED', 'FILE.DELETED'] as const) =>
        metadata.transact((tx) => tx.insertWebhook({ ownerId: owner.id, targetType: 'folder', targetId, address, triggers: [...triggers], createdAt: T0 }));
      const upload = async (owner: UserRecord, parentId: string, name: string) => {
        const made = await steps.createFile({
          ownerId: owner.id, parentId, name, nameKey: nameKey(name), now: T0, blobKey: `blob-${name}` as never, size: 5, sha1: 'a'.repeat(40),
        });
        if (!('created' in made)) throw new Error('no file');
        return made.created;
      };
      return { metadata, steps, alice, folder, webhookOn, upload };
    }

    const claimAll = (metadata: MetadataStore, now = T0 + 1) => metadata.claimDeliveries(now, 60_000, 100);

    it('queues one delivery per webhook of the item\'s folders (and the hook) with the change, none elsewhere', async () => {
      const { metadata, alice, folder, webhookOn, upload } = await world();
      const top = await folder(alice, alice.rootFolderId, 'top');
      const below = await folder(alice, top.id, 'below');
      const sibling = await folder(alice, alice.rootFolderId, 'sibling');
      const onTop = await webhookOn(alice, top.id, 'https://a.example/top');
      await webhookOn(alice, sibling.id, 'https://a.example/sibling');
      const file = await upload(alice, below.id, 'f.txt');

      const due = await claimAll(metadata);
      expect(due.map((delivery) => [delivery.kind, delivery.trigger, delivery.webhookId]).sort()).toEqual(
        [['hook', 'post-commit', null], ['webhook', 'FILE.UPLOADED', onTop.id]].sort());
      const facts = JSON.parse(due.find((delivery) => delivery.kind === 'webhook')!.facts);
      expect(facts.item.id).toBe(file.id);
      expect(facts.path.map((entry: FolderRecord) => entry.id)).toEqual([alice.rootFolderId, top.id, below.id]);
      expect(new Set(due.map((delivery) => delivery.eventId)).size).toBe(1);
      expect(new Set(due.map((delivery) => delivery.id)).size).toBe(2);
    });

    it('writes nothing when the change\'s transaction rolls back', async () => {
      const { metadata } = await world();
      await expect(metadata.transact(async (tx) => {
        await tx.insertDelivery({ id: 'rolled-back', eventId: 'e', kind: 'hook', webhookId: null, address: 'x', trigger: 'post-commit', facts: '{}', createdAt: T0 });
        throw new Error('the change failed');
      })).rejects.toThrow('the change failed');
      expect(await claimAll(metadata)).toEqual([]);
      expect(await metadata.deliveryBacklog()).toEqual({ pending: 0, oldestCreatedAt: null });
    });

    it('leases each delivery to one claimer until the lease ends, even to claims at the same moment', async () => {
      const { metadata } = await world();
      for (let index = 0; index < 10; index++) {
        await metadata.transact((tx) => tx.insertDelivery({
          id: `d${index}`, eventId: `e${index}`, kind: 'hook', webhookId: null, address: 'x', trigger: 'post-commit', facts: '{}', createdAt: T0 + index,
        }));
      }
      const claims = await Promise.all([1, 2, 3].map(() => metadata.claimDeliveries(T0 + 100, 1000, 4)));
      const ids = claims.flat().map((delivery) => delivery.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.length).toBe(10);
      expect(await metadata.claimDeliveries(T0 + 500, 1000, 100)).toEqual([]);
      // Past the lease (its claimer died), another may take them.
      expect((await metadata.claimDeliveries(T0 + 2000, 1000, 100)).length).toBe(10);
    });

    it('settles: delivered and failed end it, a retry is due again later with its attempts counted', async () => {
      const { metadata } = await world();
      for (const id of ['ok', 'retry', 'dead']) {
        await metadata.transact((tx) => tx.insertDelivery({ id, eventId: id, kind: 'hook', webhookId: null, address: 'x', trigger: 'post-delete', facts: '{}', createdAt: T0 }));
      }
      expect((await claimAll(metadata)).length).toBe(3);
      await metadata.settleDelivery('ok', { state: 'delivered', at: T0 + 2 });
      await metadata.settleDelivery('retry', { state: 'pending', dueAt: T0 + 5000, error: '500' });
      await metadata.settleDelivery('dead', { state: 'failed', at: T0 + 2, error: 'refused' });
      expect(await metadata.deliveryBacklog()).toEqual({ pending: 1, oldestCreatedAt: T0 });
      expect(await metadata.claimDeliveries(T0 + 4999, 1000, 100)).toEqual([]);
      const [again] = await metadata.claimDeliveries(T0 + 5000, 1000, 100) as [DeliveryRecord];
      expect(again).toMatchObject({ id: 'retry', attempts: 1 });
      // A settlement of one already delivered changes nothing.
      await metadata.settleDelivery('ok', { state: 'pending', dueAt: T0, error: 'late' });
      expect((await metadata.claimDeliveries(T0 + 10_000, 1000, 100)).map((delivery) => delivery.id)).toEqual(['retry']);
    });

    it('deletes for good with FILE.DELETED and the path the item had, and post-delete both times', async () => {
      const { metadata, steps, alice, folder, webhookOn, upload } = await world();
      const top = await folder(alice, alice.rootFolderId, 'top');
      await webhookOn(alice, top.id, 'https://a.example/top');
      const file = await upload(alice, top.id, 'gone.txt');
      const onFile = await webhookOn(alice, file.id, 'https://a.example/file', ['FOLDER.RENAMED'] as never);
      await claimAll(metadata);
      expect(await steps.trashItem({ itemId: file.id, ownerId: alice.id, recursive: false, now: T0 + 10 })).toHaveProperty('trashed');
      expect(await steps.purgeTrashed(file.id, T0 + 20)).toBe(true);
      expect(await steps.purgeTrashed(file.id, T0 + 30)).toBe(false);
      // The webhook on the file went with it.
      expect(await metadata.getWebhook(onFile.id)).toBeUndefined();
      const due = await claimAll(metadata, T0 + 100);
      expect(due.map((delivery) => delivery.trigger).sort()).toEqual(['FILE.DELETED', 'FILE.TRASHED', 'post-delete', 'post-delete']);
      const deleted = JSON.parse(due.find((delivery) => delivery.trigger === 'FILE.DELETED')!.facts);
      expect(deleted.path.map((entry: FolderRecord) => entry.id)).toEqual([alice.rootFolderId, top.id]);
      expect(due.filter((delivery) => delivery.trigger === 'post-delete').map((delivery) => JSON.parse(delivery.facts).permanently).sort())
        .toEqual([false, true]);
    });

    it('keeps webhooks: found by target and address, listed by id, updated, deleted', async () => {
      const { metadata, alice, folder, webhookOn } = await world();
      const top = await folder(alice, alice.rootFolderId, 'top');
      const made: WebhookRecord[] = [];
      for (let index = 0; index < 3; index++) made.push(await webhookOn(alice, top.id, `https://a.example/${index}`));
      expect((await metadata.transact((tx) => tx.findWebhook(top.id, 'https://a.example/1')))?.id).toBe(made[1]!.id);
      expect((await metadata.listWebhooks(alice.id, undefined, 2)).map((webhook) => webhook.id)).toEqual([made[0]!.id, made[1]!.id]);
      expect((await metadata.listWebhooks(alice.id, made[1]!.id, 2)).map((webhook) => webhook.id)).toEqual([made[2]!.id]);
      const updated = await metadata.transact((tx) => tx.updateWebhook({ ...made[0]!, triggers: ['FOLDER.RENAMED'] }));
      expect(updated.triggers).toEqual(['FOLDER.RENAMED']);
      expect((await metadata.getWebhook(made[0]!.id))?.triggers).toEqual(['FOLDER.RENAMED']);
      await metadata.transact((tx) => tx.deleteWebhook(made[0]!.id));
      expect(await metadata.getWebhook(made[0]!.id)).toBeUndefined();
    });

    it('replaces a secret (a rotated signature key)', async () => {
      const metadata = store();
      expect(await metadata.getOrCreateSecret('k', () => 'first')).toBe('first');
      await metadata.setSecret('k', 'second');
      expect(await metadata.getOrCreateSecret('k', () => 'third')).toBe('second');
    });
  });
}
