import type { DeliveryRecord, EventFacts, ItemEventFacts } from '../core/event-model.js';
import { boxDate, presentItemFull, presentUser } from '../http/present.js';
import { presentWebhook } from '../http/present-webhook.js';

/**
 * The bytes a delivery sends, built from the facts the outbox kept at the change: the same bytes at
 * every attempt. Webhooks get Box's `webhook_event`; the operator's hook the format agreed with the
 * blocking hooks (pre-create, pre-commit): `event`, `delivery_id`, `created_at`, `user`, then the event's own fields.
 */
export function deliveryBody(delivery: DeliveryRecord): string {
  const facts = JSON.parse(delivery.facts) as EventFacts & { permanently?: boolean };
  return delivery.kind === 'hook' ? hookBody(delivery, facts as ItemEventFacts & { permanently?: boolean }) : webhookEvent(delivery, facts);
}

function webhookEvent(delivery: DeliveryRecord, facts: EventFacts): string {
  const source = facts.trigger === 'WEBHOOK.DELETED' ? presentWebhook(facts.webhook, facts.user) : presentItemFull(facts.item, facts.path, facts.user);
  return JSON.stringify({
    type: 'webhook_event',
    id: facts.eventId,
    created_at: boxDate(facts.createdAt),
    trigger: facts.trigger,
    webhook: { id: delivery.webhookId, type: 'webhook' },
    created_by: presentUser(facts.user),
    source,
    additional_info: [],
  });
}

function hookBody(delivery: DeliveryRecord, facts: ItemEventFacts & { permanently?: boolean }): string {
  const common = {
    // As the blocking hooks write it (events/operator-hook.ts): RFC 3339 UTC with milliseconds.
    event: delivery.trigger, delivery_id: delivery.id, created_at: new Date(facts.createdAt).toISOString(),
    user: { id: facts.user.id, login: facts.user.name },
  };
  const item = facts.item;
  if (delivery.trigger === 'post-commit' && item.type === 'file') {
    const parent = facts.path.at(-1);
    return JSON.stringify({
      ...common,
      file: {
        id: item.id, name: item.name, size: item.size, sha1: item.sha1,
        // The root folder is "0" on the wire, as everywhere in the API.
        folder_id: parent === undefined || parent.parentId === null ? '0' : parent.id, version_id: item.versionId,
      },
      upload: { kind: facts.upload?.kind ?? 'simple', session_id: facts.upload?.sessionId ?? null },
    });
  }
  return JSON.stringify({ ...common, item: { type: item.type, id: item.id, name: item.name }, permanently: facts.permanently === true });
}
