import type { MetadataStore } from '../metadata/store.js';
import type { NewWebhook, WebhookRecord } from './event-model.js';
import type { EventOutbox } from './event-outbox.js';

/**
 * The webhook writes that race: two webhooks on one target and address (Box's 409), a target deleted
 * meanwhile, and a deletion whose WEBHOOK.DELETED must be queued with it. Each is one transaction,
 * with the target's row lock ordering the creations on it.
 */
export class AtomicWebhookSteps {
  readonly #metadata: MetadataStore;
  readonly #events: EventOutbox | undefined;

  constructor(metadata: MetadataStore, events: EventOutbox | undefined) {
    this.#metadata = metadata;
    this.#events = events;
  }

  create(webhook: NewWebhook): Promise<{ created: WebhookRecord } | { conflict: true } | { targetMissing: true }> {
    return this.#metadata.transact(async (tx) => {
      const target = await tx.lockItem(webhook.targetId);
      if (!target || target.item.trashedAt !== undefined) return { targetMissing: true } as const;
      if (await tx.findWebhook(webhook.targetId, webhook.address)) return { conflict: true } as const;
      return { created: await tx.insertWebhook(webhook) };
    });
  }

  update(webhook: WebhookRecord): Promise<{ updated: WebhookRecord } | { conflict: true } | { notFound: true }> {
    return this.#metadata.transact(async (tx) => {
      const current = await tx.lockWebhook(webhook.id);
      if (!current || current.ownerId !== webhook.ownerId) return { notFound: true } as const;
      await tx.lockItem(webhook.targetId);
      const clash = await tx.findWebhook(webhook.targetId, webhook.address);
      if (clash && clash.id !== webhook.id) return { conflict: true } as const;
      return { updated: await tx.updateWebhook(webhook) };
    });
  }

  /** Deletes the owner's webhook, queuing its WEBHOOK.DELETED; false if it is gone. */
  async delete(id: string, ownerId: string, now: number): Promise<boolean> {
    let queued = 0;
    const deleted = await this.#metadata.transact(async (tx) => {
      const webhook = await tx.lockWebhook(id);
      if (!webhook || webhook.ownerId !== ownerId) return false;
      await tx.deleteWebhook(id);
      queued = this.#events ? await this.#events.recordWebhookDeleted(tx, webhook, now) : 0;
      return true;
    });
    if (queued > 0) this.#events?.committed();
    return deleted;
  }
}
