import type { WebhookRecord } from '../core/event-model.js';
import type { UserRecord } from '../core/model.js';
import { boxDate, presentUser } from './present.js';

/** Box's Webhook object (V2). */
export function presentWebhook(webhook: WebhookRecord, owner: UserRecord) {
  return {
    id: webhook.id,
    type: 'webhook',
    // The user's root folder is "0" on the wire.
    target: { id: webhook.targetId === owner.rootFolderId ? '0' : webhook.targetId, type: webhook.targetType },
    created_by: presentUser(owner),
    created_at: boxDate(webhook.createdAt),
    address: webhook.address,
    triggers: webhook.triggers,
  };
}
