import type Database from 'better-sqlite3';
import { ITEM_COLUMNS } from './statements.js';

/** The SQLite store's statements for webhooks, the outbox and the steps that write events. */
const SQL = {
  // Follows the folder a trashed item was deleted from, so a deleted item still has the path it had.
  ancestorsAny: `WITH RECURSIVE chain(id, depth) AS (
                   SELECT coalesce(parent_id, trashed_parent_id), 1 FROM items WHERE id = ?
                   UNION ALL
                   SELECT coalesce(items.parent_id, items.trashed_parent_id), chain.depth + 1 FROM items JOIN chain ON items.id = chain.id
                   WHERE coalesce(items.parent_id, items.trashed_parent_id) IS NOT NULL)
                 SELECT ${ITEM_COLUMNS} FROM chain JOIN items ON items.id = chain.id
                 LEFT JOIN file_versions ON file_versions.id = items.version_id ORDER BY chain.depth DESC`,
  setSecret: 'INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
  webhookById: 'SELECT * FROM webhooks WHERE id = ?',
  webhookByTarget: 'SELECT * FROM webhooks WHERE target_id = ? AND address = ?',
  webhooksOf: 'SELECT * FROM webhooks WHERE owner_id = ? AND id > ? ORDER BY id LIMIT ?',
  webhooksOn: 'SELECT * FROM webhooks WHERE target_id IN (SELECT value FROM json_each(?)) ORDER BY id',
  webhooksInTrash: 'SELECT * FROM webhooks WHERE target_id IN (SELECT id FROM items WHERE trash_root_id = ?) ORDER BY id',
  insertWebhook: `INSERT INTO webhooks (owner_id, target_type, target_id, address, triggers, created_at)
                  VALUES (@owner_id, @target_type, @target_id, @address, @triggers, @created_at)`,
  updateWebhook: 'UPDATE webhooks SET target_type = @target_type, target_id = @target_id, address = @address, triggers = @triggers WHERE id = @id',
  deleteWebhook: 'DELETE FROM webhooks WHERE id = ?',
  insertDelivery: `INSERT INTO event_deliveries (id, event_id, kind, webhook_id, address, trigger_name, facts, created_at, state, due_at)
                   VALUES (@id, @event_id, @kind, @webhook_id, @address, @trigger_name, @facts, @created_at, 'pending', @created_at)`,
  deliveriesDue: `SELECT * FROM event_deliveries WHERE state = 'pending' AND due_at <= ? AND lease_until <= ?
                  ORDER BY due_at, created_at LIMIT ?`,
  leaseDelivery: 'UPDATE event_deliveries SET lease_until = ? WHERE id = ?',
  settleDelivery: `UPDATE event_deliveries SET state = @state, attempts = attempts + 1, due_at = coalesce(@due_at, due_at),
                   settled_at = @settled_at, last_error = @error, lease_until = 0 WHERE id = @id AND state = 'pending'`,
  backlog: `SELECT count(*) AS n, min(created_at) AS oldest FROM event_deliveries WHERE state = 'pending'`,
} as const;

export type EventStatements = { readonly [Name in keyof typeof SQL]: Database.Statement };

export function prepareEventStatements(db: Database.Database): EventStatements {
  return Object.fromEntries(Object.entries(SQL).map(([name, sql]) => [name, db.prepare(sql)])) as unknown as EventStatements;
}
