/** Schema versions, applied in order; `PRAGMA user_version` records how far a database got. */
export const SQLITE_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    root_folder_id INTEGER,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    secret_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  );
  CREATE TABLE items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL CHECK (type IN ('file', 'folder')),
    owner_id INTEGER NOT NULL REFERENCES users(id),
    parent_id INTEGER REFERENCES items(id),
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    modified_at INTEGER NOT NULL,
    content_created_at INTEGER,
    content_modified_at INTEGER,
    size INTEGER NOT NULL DEFAULT 0,
    sha1 TEXT,
    version_id INTEGER,
    etag INTEGER NOT NULL DEFAULT 0,
    UNIQUE (parent_id, name_key)
  );
  CREATE TABLE file_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    file_id INTEGER NOT NULL REFERENCES items(id),
    blob_key TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha1 TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX file_versions_by_file ON file_versions(file_id);
  CREATE TABLE upload_sessions (
    id TEXT PRIMARY KEY,
    owner_id INTEGER NOT NULL REFERENCES users(id),
    folder_id INTEGER NOT NULL,
    file_id INTEGER,
    file_name TEXT NOT NULL,
    file_size INTEGER NOT NULL,
    part_size INTEGER NOT NULL,
    total_parts INTEGER NOT NULL,
    upload_ref TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('active', 'committed', 'aborted', 'expired')),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    blob_key TEXT,
    content_sha1 TEXT,
    committed_file_id INTEGER,
    parts_stored INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX upload_sessions_by_state ON upload_sessions(state, expires_at);
  CREATE INDEX upload_sessions_by_owner ON upload_sessions(owner_id, state);
  CREATE TABLE parts (
    session_id TEXT NOT NULL REFERENCES upload_sessions(id),
    byte_offset INTEGER NOT NULL,
    size INTEGER NOT NULL,
    sha1 TEXT NOT NULL,
    part_id TEXT NOT NULL,
    part_ref TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (session_id, byte_offset)
  ) WITHOUT ROWID;
  CREATE TABLE part_writes (
    write_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    byte_offset INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  );
  CREATE INDEX part_writes_by_session ON part_writes(session_id);
  CREATE TABLE garbage (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('upload', 'blob')),
    ref TEXT NOT NULL,
    lease_until INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
  // Part writes in flight are kept in the server's memory (see SqliteMetadataStore.claimPartWrite).
  'DROP TABLE part_writes;',
  // The name people see, for users an identity provider creates.
  'ALTER TABLE users ADD COLUMN display_name TEXT;',
  // The trash: a trashed item and everything below it carry the time and the item whose deletion
  // put them there (trash_root_id); that item leaves its folder (parent_id NULL, so its name is free)
  // and remembers it in trashed_parent_id, for the restore.
  `ALTER TABLE items ADD COLUMN trashed_at INTEGER;
  ALTER TABLE items ADD COLUMN trash_root_id INTEGER;
  ALTER TABLE items ADD COLUMN trashed_parent_id INTEGER;
  CREATE INDEX items_by_trash_root ON items(trash_root_id);`,
  // Tokens that expire (those /oauth2/token issues), and the OAuth 2.0 applications that get them.
  `ALTER TABLE tokens ADD COLUMN expires_at INTEGER;
  CREATE TABLE applications (
    id TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    secret_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  );`,
  // Events (issue 15): users' Box webhooks, and the outbox of deliveries written with the changes that
  // cause them (one row per webhook or hook told of a change), leased by the node that sends them.
  `CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id INTEGER NOT NULL REFERENCES users(id),
    target_type TEXT NOT NULL CHECK (target_type IN ('file', 'folder')),
    target_id INTEGER NOT NULL,
    address TEXT NOT NULL,
    triggers TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (target_id, address)
  );
  CREATE TABLE event_deliveries (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('webhook', 'hook')),
    webhook_id INTEGER,
    address TEXT NOT NULL,
    trigger_name TEXT NOT NULL,
    facts TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at INTEGER NOT NULL,
    lease_until INTEGER NOT NULL DEFAULT 0,
    settled_at INTEGER,
    last_error TEXT
  );
  CREATE INDEX event_deliveries_due ON event_deliveries(state, due_at);`,
  // Box's JWT grant: the public keys that check an application's assertions, the assertion ids
  // (jti) already used, kept until they expire; tokens remember the application they were granted to,
  // so that revoking it revokes them.
  `CREATE TABLE application_keys (
    application_id TEXT NOT NULL REFERENCES applications(id),
    id TEXT NOT NULL,
    public_key_pem TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (application_id, id)
  );
  CREATE TABLE used_assertions (
    application_id TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (application_id, jti)
  );
  CREATE INDEX used_assertions_by_expiry ON used_assertions(expires_at);
  ALTER TABLE tokens ADD COLUMN application_id TEXT;
  CREATE INDEX tokens_by_application ON tokens(application_id);
  CREATE INDEX tokens_by_expiry ON tokens(expires_at);`,
];
