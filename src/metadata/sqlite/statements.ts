import type Database from 'better-sqlite3';

export const ITEM_COLUMNS = `items.*, file_versions.blob_key AS blob_key`;
export const ITEM_FROM = `items LEFT JOIN file_versions ON file_versions.id = items.version_id`;

/** Every statement of the SQLite store, by name. */
const SQL = {
  userById: 'SELECT * FROM users WHERE id = ?',
  userByName: 'SELECT * FROM users WHERE name = ?',
  insertUser: 'INSERT INTO users (name, display_name, created_at) VALUES (?, ?, ?)',
  setRootFolder: 'UPDATE users SET root_folder_id = ? WHERE id = ?',
  insertToken: 'INSERT INTO tokens (id, user_id, secret_hash, created_at, revoked_at, expires_at, application_id) VALUES (?, ?, ?, ?, ?, ?, ?)',
  tokenById: 'SELECT * FROM tokens WHERE id = ?',
  allTokens: 'SELECT * FROM tokens ORDER BY created_at, id',
  tokensOfUser: 'SELECT * FROM tokens WHERE user_id = ? ORDER BY created_at, id',
  revokeToken: 'UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL',
  insertApplication: 'INSERT INTO applications (id, user_id, secret_hash, created_at, revoked_at) VALUES (?, ?, ?, ?, ?)',
  applicationById: 'SELECT * FROM applications WHERE id = ?',
  allApplications: 'SELECT * FROM applications ORDER BY created_at, id',
  revokeApplication: 'UPDATE applications SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL',
  revokeTokensOfApplication: 'UPDATE tokens SET revoked_at = ? WHERE application_id = ? AND revoked_at IS NULL',
  insertApplicationKey: `INSERT INTO application_keys (application_id, id, public_key_pem, created_at) VALUES (?, ?, ?, ?)
                           ON CONFLICT DO NOTHING`,
  applicationKeys: 'SELECT * FROM application_keys WHERE application_id = ? ORDER BY created_at, id',
  deleteApplicationKey: 'DELETE FROM application_keys WHERE application_id = ? AND id = ?',
  insertUsedAssertion: 'INSERT INTO used_assertions (application_id, jti, expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
  purgeExpiredTokens: 'DELETE FROM tokens WHERE id IN (SELECT id FROM tokens WHERE expires_at < ? LIMIT ?)',
  purgeUsedAssertions: 'DELETE FROM used_assertions WHERE rowid IN (SELECT rowid FROM used_assertions WHERE expires_at < ? LIMIT ?)',
  itemById: `SELECT ${ITEM_COLUMNS} FROM ${ITEM_FROM} WHERE items.id = ?`,
  childByName: `SELECT ${ITEM_COLUMNS} FROM ${ITEM_FROM} WHERE items.parent_id = ? AND items.name_key = ?`,
  countChildren: 'SELECT count(*) AS n FROM items WHERE parent_id = ?',
  children: `SELECT ${ITEM_COLUMNS} FROM ${ITEM_FROM} WHERE items.parent_id = ?
               ORDER BY items.type DESC, items.name_key, items.id LIMIT ? OFFSET ?`,
  ancestors: `WITH RECURSIVE chain(id, depth) AS (
                  SELECT parent_id, 1 FROM items WHERE id = ?
                  UNION ALL
                  SELECT items.parent_id, chain.depth + 1 FROM items JOIN chain ON items.id = chain.id
                  WHERE items.parent_id IS NOT NULL)
                SELECT ${ITEM_COLUMNS} FROM chain JOIN items ON items.id = chain.id
                LEFT JOIN file_versions ON file_versions.id = items.version_id ORDER BY chain.depth DESC`,
  insertItem: `INSERT INTO items (type, owner_id, parent_id, name, name_key, description, created_at, modified_at,
                   content_created_at, content_modified_at, size, sha1, version_id, etag)
                 VALUES (@type, @owner_id, @parent_id, @name, @name_key, @description, @created_at, @modified_at,
                   @content_created_at, @content_modified_at, @size, @sha1, @version_id, @etag)`,
  setFileVersion: `UPDATE items SET version_id = @version_id, size = @size, sha1 = @sha1, etag = @etag,
                       name = @name, name_key = @name_key, modified_at = @modified_at,
                       content_modified_at = @content_modified_at, content_created_at = @content_created_at,
                       description = @description
                     WHERE id = @id`,
  updateItem: `UPDATE items SET parent_id = @parent_id, name = @name, name_key = @name_key, description = @description,
                   content_modified_at = @content_modified_at, modified_at = @modified_at, etag = @etag
                 WHERE id = @id`,
  allChildren: `SELECT ${ITEM_COLUMNS} FROM ${ITEM_FROM} WHERE items.parent_id = ? ORDER BY items.id`,
  firstChild: 'SELECT id FROM items WHERE parent_id = ? LIMIT 1',
  trashTree: `WITH RECURSIVE tree(id) AS (SELECT ? UNION ALL SELECT items.id FROM items JOIN tree ON items.parent_id = tree.id)
                UPDATE items SET trashed_at = ?, trash_root_id = ? WHERE id IN (SELECT id FROM tree)`,
  leaveFolder: 'UPDATE items SET trashed_parent_id = parent_id, parent_id = NULL WHERE id = ?',
  untrash: 'UPDATE items SET trashed_at = NULL, trash_root_id = NULL WHERE trash_root_id = ?',
  restoreInto: `UPDATE items SET parent_id = ?, trashed_parent_id = NULL, name = ?, name_key = ?, modified_at = ? WHERE id = ?`,
  countTrash: 'SELECT count(*) AS n FROM items WHERE owner_id = ? AND trash_root_id = id',
  trash: `SELECT ${ITEM_COLUMNS} FROM ${ITEM_FROM} WHERE items.owner_id = ? AND items.trash_root_id = items.id
            ORDER BY items.type DESC, items.name_key, items.id LIMIT ? OFFSET ?`,
  trashRoot: 'SELECT id FROM items WHERE id = ? AND trash_root_id = id',
  trashedBlobs: `INSERT INTO garbage (kind, ref) SELECT 'blob', file_versions.blob_key FROM file_versions
                   JOIN items ON items.id = file_versions.file_id WHERE items.trash_root_id = ?`,
  trashedVersions: 'DELETE FROM file_versions WHERE file_id IN (SELECT id FROM items WHERE trash_root_id = ?)',
  trashedItems: 'DELETE FROM items WHERE trash_root_id = ?',
  trashDue: 'SELECT id FROM items WHERE trash_root_id = id AND trashed_at <= ? ORDER BY trashed_at LIMIT ?',
  insertVersion: 'INSERT INTO file_versions (file_id, blob_key, size, sha1, created_at) VALUES (?, ?, ?, ?, ?)',
  version: 'SELECT * FROM file_versions WHERE id = ? AND file_id = ?',
  versionsNewestFirst: 'SELECT * FROM file_versions WHERE file_id = ? ORDER BY id DESC',
  bytesInVersions: `SELECT coalesce(sum(file_versions.size), 0) AS n FROM file_versions
                      JOIN items ON items.id = file_versions.file_id WHERE items.owner_id = ?`,
  bytesInSessions: `SELECT coalesce(sum(file_size), 0) AS n FROM upload_sessions WHERE owner_id = ? AND state = 'active'`,
  insertSession: `INSERT INTO upload_sessions (id, owner_id, folder_id, file_id, file_name, file_size, part_size,
                      total_parts, upload_ref, state, created_at, expires_at, blob_key, content_sha1, committed_file_id,
                      parts_stored)
                    VALUES (@id, @owner_id, @folder_id, @file_id, @file_name, @file_size, @part_size, @total_parts,
                      @upload_ref, @state, @created_at, @expires_at, @blob_key, @content_sha1, @committed_file_id,
                      @parts_stored)`,
  sessionById: 'SELECT * FROM upload_sessions WHERE id = ?',
  setState: 'UPDATE upload_sessions SET state = ? WHERE id = ?',
  setContent: `UPDATE upload_sessions SET blob_key = ?, content_sha1 = ? WHERE id = ? AND state = 'active'`,
  markCommitted: `UPDATE upload_sessions SET state = 'committed', committed_file_id = ? WHERE id = ?`,
  openSessionsOf: `SELECT count(*) AS n FROM upload_sessions WHERE owner_id = ? AND state = 'active'`,
  openSessions: `SELECT count(*) AS n FROM upload_sessions WHERE state = 'active' AND expires_at > ?`,
  expiredSessions: `SELECT * FROM upload_sessions WHERE state = 'active' AND expires_at <= ? LIMIT ?`,
  partAt: 'SELECT * FROM parts WHERE session_id = ? AND byte_offset = ?',
  insertPart: `INSERT INTO parts (session_id, byte_offset, size, sha1, part_id, part_ref, created_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?)`,
  countPart: 'UPDATE upload_sessions SET parts_stored = parts_stored + 1 WHERE id = ?',
  countParts: 'SELECT count(*) AS n FROM parts WHERE session_id = ?',
  parts: 'SELECT * FROM parts WHERE session_id = ? ORDER BY byte_offset LIMIT ? OFFSET ?',
  deleteParts: 'DELETE FROM parts WHERE session_id = ?',
  liveSessionByRef: `SELECT id FROM upload_sessions WHERE upload_ref = ? AND state IN ('active', 'committed')`,
  partRefsOf: 'SELECT part_ref FROM parts WHERE session_id = ?',
  versionByBlob: 'SELECT id FROM file_versions WHERE blob_key = ? LIMIT 1',
  insertGarbage: 'INSERT INTO garbage (kind, ref) VALUES (?, ?)',
  garbageDue: 'SELECT * FROM garbage WHERE lease_until <= ? ORDER BY id LIMIT ?',
  leaseGarbage: 'UPDATE garbage SET lease_until = ? WHERE id = ?',
  deleteGarbage: 'DELETE FROM garbage WHERE id = ?',
  insertSetting: 'INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING',
  setting: 'SELECT value FROM settings WHERE name = ?',
} as const;

export type Statements = { readonly [Name in keyof typeof SQL]: Database.Statement };

/** Prepares every statement once per connection. */
export function prepareStatements(db: Database.Database): Statements {
  return Object.fromEntries(Object.entries(SQL).map(([name, sql]) => [name, db.prepare(sql)])) as unknown as Statements;
}
