import type { FolderRecord, ItemRecord, Millis, UserRecord } from './model.js';

/** Box's webhook triggers Partway fires (the ones whose changes it has routes for). */
export const WEBHOOK_TRIGGERS = [
  'FILE.UPLOADED', 'FILE.TRASHED', 'FILE.DELETED', 'FILE.RESTORED', 'FILE.RENAMED', 'FILE.MOVED', 'FILE.COPIED',
  'FOLDER.CREATED', 'FOLDER.TRASHED', 'FOLDER.DELETED', 'FOLDER.RESTORED', 'FOLDER.RENAMED', 'FOLDER.MOVED', 'FOLDER.COPIED',
  'WEBHOOK.DELETED',
] as const;
export type WebhookTrigger = (typeof WEBHOOK_TRIGGERS)[number];

export function isWebhookTrigger(text: string): text is WebhookTrigger {
  return (WEBHOOK_TRIGGERS as readonly string[]).includes(text);
}

/** A Box webhook (V2): who is told (`address`) of which changes (`triggers`) to an item or below a folder. */
export interface WebhookRecord {
  id: string;
  ownerId: string;
  targetType: 'file' | 'folder';
  targetId: string;
  address: string;
  triggers: WebhookTrigger[];
  createdAt: Millis;
}

export type NewWebhook = Omit<WebhookRecord, 'id'>;

/**
 * What happened, as the outbox keeps it: enough to build the delivery's body at any later attempt,
 * the same bytes each time (the item as it was at the change, not as it is when sent).
 */
export type EventFacts =
  | ItemEventFacts
  | { eventId: string; trigger: 'WEBHOOK.DELETED'; createdAt: Millis; user: UserRecord; webhook: WebhookRecord };

export interface ItemEventFacts {
  eventId: string;
  trigger: Exclude<WebhookTrigger, 'WEBHOOK.DELETED'>;
  createdAt: Millis;
  /** Who made the change (in Partway, the item's owner). */
  user: UserRecord;
  item: ItemRecord;
  /** The folders above the item at the change, root first. */
  path: FolderRecord[];
  /** For FILE.UPLOADED: how the bytes came. */
  upload?: { kind: 'session' | 'simple'; sessionId: string | null };
}

/** Who receives a delivery: a user's webhook, or the operator's hook (post-commit, post-delete). */
export type DeliveryKind = 'webhook' | 'hook';

/** One delivery in the outbox: written with the change, sent (and retried) by whichever node leases it. */
export interface DeliveryRecord {
  /** Sent as the delivery id, the same on every attempt. */
  id: string;
  eventId: string;
  kind: DeliveryKind;
  /** The webhook delivered to; null for the hook. */
  webhookId: string | null;
  address: string;
  /** A webhook trigger, or the hook's event (`post-commit`, `post-delete`). */
  trigger: string;
  /** The event's facts as JSON (EventFacts), plus `permanently` for post-delete. */
  facts: string;
  createdAt: Millis;
  attempts: number;
}

/** How an attempt ended, for the outbox. */
export type DeliverySettlement =
  | { state: 'delivered'; at: Millis }
  | { state: 'pending'; dueAt: Millis; error: string }
  | { state: 'failed'; at: Millis; error: string };

export interface DeliveryBacklog {
  /** Deliveries not yet delivered nor failed. */
  pending: number;
  /** When the oldest of them was written; null when there is none. */
  oldestCreatedAt: Millis | null;
}
