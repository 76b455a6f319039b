import type { DeliveryRecord, DeliverySettlement, WebhookRecord, WebhookTrigger } from '../core/event-model.js';
import { id, type Row } from './rows.js';

/** Row mappers of the events' tables, shared by both SQL stores. */

export function toWebhook(row: Row): WebhookRecord {
  return {
    id: id(row.id), ownerId: id(row.owner_id), targetType: row.target_type === 'file' ? 'file' : 'folder', targetId: id(row.target_id),
    address: String(row.address), triggers: String(row.triggers).split(',').filter((name) => name !== '') as WebhookTrigger[],
    createdAt: Number(row.created_at),
  };
}

export function toDelivery(row: Row): DeliveryRecord {
  return {
    id: String(row.id), eventId: String(row.event_id), kind: row.kind === 'hook' ? 'hook' : 'webhook',
    webhookId: row.webhook_id === null || row.webhook_id === undefined ? null : id(row.webhook_id),
    address: String(row.address), trigger: String(row.trigger_name), facts: String(row.facts),
    createdAt: Number(row.created_at), attempts: Number(row.attempts),
  };
}

/** A settlement's columns: the state, when the next attempt is due, when it ended, and the last error. */
export function settlementColumns(settlement: DeliverySettlement): {
  state: string; dueAt: number | null; settledAt: number | null; error: string | null;
} {
  switch (settlement.state) {
    case 'delivered': return { state: 'delivered', dueAt: null, settledAt: settlement.at, error: null };
    case 'failed': return { state: 'failed', dueAt: null, settledAt: settlement.at, error: settlement.error };
    case 'pending': return { state: 'pending', dueAt: settlement.dueAt, settledAt: null, error: settlement.error };
  }
}
