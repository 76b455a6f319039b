import { randomUUID } from 'node:crypto';
import type { MetadataTransaction } from '../metadata/store.js';
import type { EventFacts, ItemEventFacts, WebhookRecord } from './event-model.js';
import type { FolderRecord, ItemRecord, Millis } from './model.js';

/** The operator's hook as the outbox sees it: where post-commit and post-delete go, and which of them are wanted. */
export interface OutboxHook {
  url: string;
  events: ReadonlySet<string>;
}

/** One change to an item, as a write step reports it to the outbox. */
export interface ItemChange {
  trigger: ItemEventFacts['trigger'];
  item: ItemRecord;
  /** The item's folders at the change, root first (read before the change where it moves the item away). */
  path: FolderRecord[];
  /** More folders whose webhooks are told (where a move or copy came from). */
  alsoBelow?: readonly string[];
  upload?: ItemEventFacts['upload'];
  now: Millis;
}

/**
 * The outbox's writing side. A write step calls `record` inside its own transaction, so the
 * deliveries of a change exist exactly when the change does (a crash before the commit leaves
 * neither; after it, both). One delivery row per webhook told and one for the operator's hook, each
 * with its id fixed here: every attempt at it carries the same delivery id. A folder's webhook is
 * told of everything below it, as on Box.
 */
export class EventOutbox {
  readonly #hook: OutboxHook | undefined;
  readonly #onRecorded: () => void;

  /** `onRecorded` runs after a transaction that queued deliveries committed (a nudge for the sender). */
  constructor(options: { hook?: OutboxHook | undefined; onRecorded?: () => void } = {}) {
    this.#hook = options.hook;
    this.#onRecorded = options.onRecorded ?? (() => {});
  }

  /** Tells the sender that deliveries were committed. */
  committed(): void {
    this.#onRecorded();
  }

  /** Queues the deliveries of one change to an item; returns how many. */
  async record(tx: MetadataTransaction, change: ItemChange): Promise<number> {
    const user = await tx.userById(change.item.ownerId);
    if (!user) return 0;
    const facts: ItemEventFacts = {
      eventId: randomUUID(), trigger: change.trigger, createdAt: change.now, user, item: change.item, path: change.path,
      ...(change.upload && { upload: change.upload }),
    };
    const below = new Set([change.item.id, ...change.path.map((folder) => folder.id), ...change.alsoBelow ?? []]);
    let queued = await this.#toWebhooks(tx, await tx.webhooksOn([...below]), facts);
    const hookEvent = hookEventOf(change.trigger);
    if (this.#hook && hookEvent && this.#hook.events.has(hookEvent.event)) {
      await tx.insertDelivery({
        id: randomUUID(), eventId: facts.eventId, kind: 'hook', webhookId: null, address: this.#hook.url, trigger: hookEvent.event,
        facts: JSON.stringify({ ...facts, permanently: hookEvent.permanently }), createdAt: change.now,
      });
      queued++;
    }
    return queued;
  }

  /** Queues WEBHOOK.DELETED to a webhook being deleted, if it asked for it. */
  async recordWebhookDeleted(tx: MetadataTransaction, webhook: WebhookRecord, now: Millis): Promise<number> {
    const user = await tx.userById(webhook.ownerId);
    if (!user) return 0;
    const facts: EventFacts = { eventId: randomUUID(), trigger: 'WEBHOOK.DELETED', createdAt: now, user, webhook };
    return this.#toWebhooks(tx, [webhook], facts);
  }

  async #toWebhooks(tx: MetadataTransaction, webhooks: readonly WebhookRecord[], facts: EventFacts): Promise<number> {
    let queued = 0;
    for (const webhook of webhooks) {
      // Only the item's owner's webhooks: a webhook is its owner's to see, and so are the changes it reports.
      if (!webhook.triggers.includes(facts.trigger) || webhook.ownerId !== facts.user.id) continue;
      await tx.insertDelivery({
        id: randomUUID(), eventId: facts.eventId, kind: 'webhook', webhookId: webhook.id, address: webhook.address,
        trigger: facts.trigger, facts: JSON.stringify(facts), createdAt: facts.createdAt,
      });
      queued++;
    }
    return queued;
  }
}

/** The operator hook's post-* event a trigger is, if any: an upload is post-commit, a trash or deletion post-delete. */
function hookEventOf(trigger: ItemEventFacts['trigger']): { event: 'post-commit' | 'post-delete'; permanently?: boolean } | undefined {
  switch (trigger) {
    case 'FILE.UPLOADED': return { event: 'post-commit' };
    case 'FILE.TRASHED': case 'FOLDER.TRASHED': return { event: 'post-delete', permanently: false };
    case 'FILE.DELETED': case 'FOLDER.DELETED': return { event: 'post-delete', permanently: true };
    default: return undefined;
  }
}
