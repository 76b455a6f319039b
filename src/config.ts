import { resolve } from 'node:path';
import type { S3Settings } from './blobs/s3-store.js';
import type { OidcSettings } from './core/oidc-tokens.js';
import { BOX_CHUNKED_MINIMUM } from './client/box-wire.js';
import { choosePartSize } from './core/part-size.js';
import { isProxyEntry } from './http/trusted-proxy.js';

/** S3 refuses parts under 5 MiB except the last (kept here so that config does not load the AWS SDK). */
const S3_MIN_PART_SIZE = 5 * 1024 * 1024;

/**
 * Every setting, once: its environment variable, its `--flag` twin, its default and what it means.
 * The CLI builds its options from this list and the README's table mirrors it.
 */
export interface Setting<K extends string = string> {
  key: K;
  env: string;
  flag: string;
  description: string;
  default: string | undefined;
  /** The names it had before, still read (after the new ones) so that old deployments keep working. */
  formerly?: { env: string; flag: string };
}

const MiB = 1024 * 1024;

/** The operator hook's events: the first two block (and may refuse), the rest go through the outbox. */
export const HOOK_EVENTS = ['pre-create', 'pre-commit', 'post-commit', 'post-delete'] as const;
export type HookEvent = (typeof HOOK_EVENTS)[number];

export const SETTINGS = [
  { key: 'port', env: 'PARTWAY_PORT', flag: '--port', default: '8080', description: 'TCP port to listen on' },
  { key: 'host', env: 'PARTWAY_HOST', flag: '--host', default: '127.0.0.1', description: 'Address to listen on (0.0.0.0 for all)' },
  { key: 'dataDir', env: 'PARTWAY_DATA_DIR', flag: '--data-dir', default: './data', description: 'Directory for the SQLite database and the stored bytes' },
  { key: 'publicUrl', env: 'PARTWAY_PUBLIC_URL', flag: '--public-url', default: undefined, description: 'Base URL clients use (e.g. https://files.example.com); default: the address each request came in on, or what a proxy in PARTWAY_TRUST_PROXY reports' },
  { key: 'basePartSize', env: 'PARTWAY_BASE_PART_SIZE', flag: '--base-part-size', default: String(8 * MiB), description: 'Smallest part size in bytes; doubled until a file needs at most max-parts parts', formerly: { env: 'PARTWAY_PART_SIZE', flag: '--part-size' } },
  { key: 'maxParts', env: 'PARTWAY_MAX_PARTS', flag: '--max-parts', default: '10000', description: 'Most parts one upload session may have' },
  { key: 'minChunkedSize', env: 'PARTWAY_MIN_CHUNKED_SIZE', flag: '--min-chunked-size', default: String(BOX_CHUNKED_MINIMUM), description: 'Smallest file size in bytes for a chunked upload session' },
  { key: 'maxFileSize', env: 'PARTWAY_MAX_FILE_SIZE', flag: '--max-file-size', default: String(5 * 1024 * 1024 * MiB), description: 'Largest file size in bytes' },
  { key: 'storageQuota', env: 'PARTWAY_STORAGE_QUOTA', flag: '--storage-quota', default: undefined, description: 'Bytes each user may store, sessions in progress included; default: no limit' },
  { key: 'maxOpenSessions', env: 'PARTWAY_MAX_OPEN_SESSIONS', flag: '--max-open-sessions', default: '1000', description: 'Upload sessions one user may have open at once; 0 for no limit' },
  { key: 'rateLimit', env: 'PARTWAY_RATE_LIMIT', flag: '--rate-limit', default: '0', description: 'Requests per token (or address, without one) per minute on each node; 0 for no limit' },
  { key: 'sessionLifetime', env: 'PARTWAY_SESSION_LIFETIME', flag: '--session-lifetime', default: String(7 * 24 * 3600), description: 'Seconds an upload session lives before it expires', formerly: { env: 'PARTWAY_SESSION_TTL', flag: '--session-ttl' } },
  { key: 'commitRetryAfter', env: 'PARTWAY_COMMIT_RETRY_AFTER', flag: '--commit-retry-after', default: '1', description: 'Retry-After seconds of a 202 from a commit that waits for parts in flight' },
  { key: 'downloadLinkTtl', env: 'PARTWAY_DOWNLOAD_LINK_TTL', flag: '--download-link-ttl', default: '900', description: 'Seconds a signed download link stays valid' },
  { key: 'trashLifetime', env: 'PARTWAY_TRASH_LIFETIME', flag: '--trash-lifetime', default: String(30 * 24 * 3600), description: 'Seconds a deleted item stays in the trash (counting against its owner\'s quota) before it is deleted for good and its bytes freed' },
  { key: 'sweepInterval', env: 'PARTWAY_SWEEP_INTERVAL', flag: '--sweep-interval', default: '60', description: 'Seconds between sweeps for expired sessions and unreferenced bytes' },
  { key: 'requestTimeout', env: 'PARTWAY_REQUEST_TIMEOUT', flag: '--request-timeout', default: '1800', description: 'Seconds a request (a part upload included) may take; 0 for no limit' },
  { key: 'idleTimeout', env: 'PARTWAY_IDLE_TIMEOUT', flag: '--idle-timeout', default: '300', description: 'Seconds a connection may stay silent (no bytes either way) before it is closed; also bounds a silent commit' },
  { key: 'discardLimit', env: 'PARTWAY_DISCARD_LIMIT', flag: '--discard-limit', default: undefined, description: 'Bytes of a body answered before it was read (a refused part) that are read and thrown away, so that clients which send the whole body before reading get the answer; a longer body closes the connection. Default: the largest part size handed out' },
  { key: 'discardTimeout', env: 'PARTWAY_DISCARD_TIMEOUT', flag: '--discard-timeout', default: '60', description: 'Seconds allowed for throwing such a body away before the connection is closed; 0 closes it at once' },
  { key: 'jsonBodyLimit', env: 'PARTWAY_JSON_BODY_LIMIT', flag: '--json-body-limit', default: String(2 * MiB), description: 'Largest JSON request body in bytes' },
  { key: 'corsOrigins', env: 'PARTWAY_CORS_ORIGINS', flag: '--cors-origins', default: undefined, description: 'Comma-separated origins of browser apps allowed to call the API (CORS), or * for any' },
  { key: 'databaseUrl', env: 'PARTWAY_DATABASE_URL', flag: '--database-url', default: undefined, description: 'postgres://... to keep metadata in PostgreSQL (for several nodes); default: SQLite in the data directory' },
  { key: 's3Endpoint', env: 'PARTWAY_S3_ENDPOINT', flag: '--s3-endpoint', default: undefined, description: 'S3-compatible endpoint URL; with a bucket, bytes go to S3 instead of the data directory' },
  { key: 's3Bucket', env: 'PARTWAY_S3_BUCKET', flag: '--s3-bucket', default: undefined, description: 'S3 bucket for the bytes' },
  { key: 's3Region', env: 'PARTWAY_S3_REGION', flag: '--s3-region', default: 'us-east-1', description: 'S3 region' },
  { key: 's3AccessKeyId', env: 'PARTWAY_S3_ACCESS_KEY_ID', flag: '--s3-access-key-id', default: undefined, description: 'S3 access key id (default: the AWS SDK\'s credential chain)' },
  { key: 's3SecretAccessKey', env: 'PARTWAY_S3_SECRET_ACCESS_KEY', flag: '--s3-secret-access-key', default: undefined, description: 'S3 secret access key' },
  { key: 's3ForcePathStyle', env: 'PARTWAY_S3_FORCE_PATH_STYLE', flag: '--s3-force-path-style', default: 'true', description: 'Address buckets by path (true for most self-hosted S3 servers)' },
  { key: 'oidcIssuer', env: 'PARTWAY_OIDC_ISSUER', flag: '--oidc-issuer', default: undefined, description: 'OpenID Connect issuer URL (as its tokens\' iss names it); its JWT access tokens are then accepted besides Partway\'s own' },
  { key: 'oidcAudience', env: 'PARTWAY_OIDC_AUDIENCE', flag: '--oidc-audience', default: undefined, description: 'The aud an identity provider\'s token must name (required with the issuer)' },
  { key: 'oidcUserClaim', env: 'PARTWAY_OIDC_USER_CLAIM', flag: '--oidc-user-claim', default: 'sub', description: 'The claim of an identity provider\'s token that names the user; the Partway user is <claim>@<issuer>' },
  { key: 'tlsCert', env: 'PARTWAY_TLS_CERT', flag: '--tls-cert', default: undefined, description: 'PEM certificate file (chain included) to serve HTTPS directly; with --tls-key. Read again on SIGHUP' },
  { key: 'tlsKey', env: 'PARTWAY_TLS_KEY', flag: '--tls-key', default: undefined, description: 'PEM private key file of the TLS certificate' },
  { key: 'logLevel', env: 'PARTWAY_LOG_LEVEL', flag: '--log-level', default: 'info', description: 'Log level: fatal, error, warn, info, debug, trace or silent' },
  // Security settings (issue 13).
  { key: 'trustProxy', env: 'PARTWAY_TRUST_PROXY', flag: '--trust-proxy', default: undefined, description: 'Comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-Proto/-Host/-For are believed; default: none' },
  { key: 'metricsToken', env: 'PARTWAY_METRICS_TOKEN', flag: '--metrics-token', default: undefined, description: 'Bearer token /metrics asks for; default: none needed' },
  // OAuth 2.0 applications (issue 16).
  { key: 'accessTokenLifetime', env: 'PARTWAY_ACCESS_TOKEN_LIFETIME', flag: '--access-token-lifetime', default: '3600', description: 'Seconds an access token from /oauth2/token works (every grant; Box\'s is an hour)' },
  // Events: Box webhooks and the operator's hook (issue 15).
  { key: 'webhookAllowedHosts', env: 'PARTWAY_WEBHOOK_ALLOWED_HOSTS', flag: '--webhook-allowed-hosts', default: undefined, description: 'Comma-separated host names, addresses or CIDR ranges that webhooks may call besides public https addresses (plain http allowed to them); default: none' },
  { key: 'eventRetryFor', env: 'PARTWAY_EVENT_RETRY_FOR', flag: '--event-retry-for', default: String(24 * 3600), description: 'Seconds a webhook or post-commit hook delivery is retried (exponential backoff with jitter) before it is recorded as failed' },
  { key: 'webhookTimeout', env: 'PARTWAY_WEBHOOK_TIMEOUT', flag: '--webhook-timeout', default: '30', description: 'Seconds one delivery to a webhook or the hook may take' },
  { key: 'eventRetryBase', env: 'PARTWAY_EVENT_RETRY_BASE_MS', flag: '--event-retry-base-ms', default: '10000', description: 'Milliseconds before a failed delivery\'s first retry; each later retry waits twice as long (up to an hour), with jitter' },
  { key: 'webhookConcurrency', env: 'PARTWAY_WEBHOOK_CONCURRENCY', flag: '--webhook-concurrency', default: '16', description: 'Deliveries one node makes at once' },
  { key: 'hookUrl', env: 'PARTWAY_HOOK_URL', flag: '--hook-url', default: undefined, description: 'URL that receives the operator\'s signed hook POSTs (pre-create, pre-commit, post-commit, post-delete); default: no hook' },
  { key: 'hookSecret', env: 'PARTWAY_HOOK_SECRET', flag: '--hook-secret', default: undefined, description: 'Key of the hook\'s HMAC-SHA256 signature (required with the hook URL)' },
  { key: 'hookEvents', env: 'PARTWAY_HOOK_EVENTS', flag: '--hook-events', default: HOOK_EVENTS.join(','), description: 'Comma-separated hook events to send' },
  { key: 'hookTimeout', env: 'PARTWAY_HOOK_TIMEOUT', flag: '--hook-timeout', default: '30', description: 'Seconds a blocking hook (pre-create, pre-commit) may take to answer' },
  { key: 'hookFailure', env: 'PARTWAY_HOOK_FAILURE', flag: '--hook-failure', default: 'closed', description: 'When a blocking hook fails or times out: closed refuses the request, open lets it through' },
] as const satisfies readonly Setting[];

export type SettingKey = (typeof SETTINGS)[number]['key'];

/** Settings given by a name they had before: "OLD is now NEW" for each, for a warning at start. */
export function formerNamesUsed(formerFlagsGiven: readonly string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const used: string[] = [];
  for (const setting of SETTINGS as readonly Setting[]) {
    if (setting.formerly === undefined) continue;
    if (env[setting.formerly.env] !== undefined) used.push(`${setting.formerly.env} is now ${setting.env}`);
    if (formerFlagsGiven.includes(setting.formerly.flag)) used.push(`${setting.formerly.flag} is now ${setting.flag}`);
  }
  return used;
}

/** Numbers an operator does not set, each named once with its reason (they were literals in server.ts). */
export interface Tuning {
  /** How long one node may hold a garbage entry before another node may take it over. */
  garbageLeaseMs: number;
  /** Sessions expired, or garbage entries claimed, per store call of a sweep. */
  sweepBatchSize: number;
  /** How long an idle keep-alive connection stays open: longer than a load balancer's usual 60 s, so it closes first. */
  keepAliveTimeoutMs: number;
  /** Least time between fetches of the identity provider's keys caused by a token with an unknown `kid`. */
  oidcKeysCooldownMs: number;
  /** Least time before the identity provider's discovery is tried again after it failed. */
  oidcDiscoveryRetryMs: number;
  /** How long a part write counts as in flight if its node dies without ending it: past any request's end. */
  partWriteLeaseMs: number;
  /** How often each node reads the outbox for due deliveries (its own changes nudge it at once). */
  eventPollMs: number;
  /** The longest wait between two attempts at a delivery. */
  eventRetryMaxMs: number;
  /** How long expired access tokens (still listed by `token list`) and used JWT assertion ids are kept before the janitor deletes them. */
  expiredCredentialRetentionMs: number;
  /** Clock skew allowed between an application and Partway when checking a JWT assertion's `exp` and `iat`. */
  assertionClockSkewMs: number;
}

export interface PartwayConfig {
  port: number;
  host: string;
  dataDir: string;
  publicUrl: string | undefined;
  /** The smallest part size, doubled until a file needs at most `maxParts` parts. */
  basePartSize: number;
  maxParts: number;
  minChunkedSize: number;
  maxFileSize: number;
  storageQuota: number | null;
  /** Open upload sessions per user; null for no limit. */
  maxOpenSessions: number | null;
  /** Requests per token per minute on each node; 0 for no limit. */
  rateLimitPerMinute: number;
  /** How long an upload session lives before it expires. */
  sessionLifetimeMs: number;
  /** How long an access token from `/oauth2/token` works, whatever the grant (Box's: an hour). */
  accessTokenLifetimeMs: number;
  commitRetryAfterSeconds: number;
  downloadLinkTtlMs: number;
  trashLifetimeMs: number;
  sweepIntervalMs: number;
  requestTimeoutMs: number;
  idleTimeoutMs: number;
  /** Bytes of an unwanted body read and thrown away to keep its connection (src/http/unread-body.ts). */
  discardLimit: number;
  discardTimeoutMs: number;
  jsonBodyLimit: number;
  /** Origins allowed by CORS: a list, or '*' for any; none when empty. */
  corsOrigins: string[] | '*';
  /** PostgreSQL connection string; SQLite in the data directory when unset. */
  databaseUrl: string | undefined;
  /** S3 settings; the local disk in the data directory when unset. */
  s3: S3Settings | undefined;
  /** The identity provider whose JWT access tokens are accepted; none when unset. */
  oidc: OidcSettings | undefined;
  /** Serve HTTPS with these files; plain HTTP when unset. */
  tls: TlsFiles | undefined;
  logLevel: string;
  tuning: Tuning;
  /** Proxies (addresses, CIDR ranges) allowed to say how clients reached the server. */
  trustProxy: string[];
  /** The bearer token `/metrics` asks for; open when unset. */
  metricsToken: string | undefined;
  webhooks: WebhookSettings;
  /** The operator's hook; none when unset. */
  hook: HookSettings | undefined;
}

export interface WebhookSettings {
  /** Host names, addresses and CIDR ranges allowed besides public https addresses. */
  allowedHosts: string[];
  retryForMs: number;
  /** The first retry's delay; each later one doubles it. */
  retryBaseMs: number;
  timeoutMs: number;
  concurrency: number;
}

export interface HookSettings {
  url: string;
  secret: string;
  events: ReadonlySet<HookEvent>;
  timeoutMs: number;
  /** What a blocking hook that fails or times out means: refuse (closed) or let through (open). */
  failOpen: boolean;
}

export interface TlsFiles {
  certPath: string;
  keyPath: string;
}

/** Flags win over environment variables, which win over defaults. Bad values fail here, at start. */
export function loadConfig(flags: Partial<Record<SettingKey, string>>, env: NodeJS.ProcessEnv = process.env): PartwayConfig {
  // An empty value is unset: the next source, then the default, applies.
  const given = (value: string | undefined) => (value === '' ? undefined : value);
  const raw = (key: SettingKey): string | undefined => {
    const setting: Setting = SETTINGS.find((candidate) => candidate.key === key)!;
    const former = setting.formerly === undefined ? undefined : given(env[setting.formerly.env]);
    return given(flags[key]) ?? given(env[setting.env]) ?? former ?? setting.default;
  };
  const integer = (key: SettingKey, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const text = raw(key);
    const value = Number(text);
    if (text === undefined || !/^[0-9]+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
      const setting = SETTINGS.find((candidate) => candidate.key === key)!;
      const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
      throw new TypeError(`${setting.env} (${setting.flag}) must be a whole number ${range}, not ${JSON.stringify(text ?? '')}`);
    }
    return value;
  };
  const publicUrl = raw('publicUrl')?.replace(/\/+$/, '');
  if (publicUrl !== undefined && !/^https?:\/\/[^/]+/.test(publicUrl)) {
    throw new TypeError(`PARTWAY_PUBLIC_URL (--public-url) must be an http(s) URL, not ${JSON.stringify(publicUrl)}`);
  }
  const databaseUrl = raw('databaseUrl');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new TypeError('PARTWAY_DATABASE_URL (--database-url) must be a postgres:// URL');
  }
  const s3Bucket = raw('s3Bucket');
  const s3 = s3Bucket === undefined ? undefined : {
    endpoint: raw('s3Endpoint'), bucket: s3Bucket, region: raw('s3Region') ?? 'us-east-1',
    accessKeyId: raw('s3AccessKeyId'), secretAccessKey: raw('s3SecretAccessKey'),
    forcePathStyle: (raw('s3ForcePathStyle') ?? 'true') !== 'false',
  };
  if (s3 === undefined && raw('s3Endpoint') !== undefined) throw new TypeError('PARTWAY_S3_ENDPOINT needs PARTWAY_S3_BUCKET too');
  const basePartSize = integer('basePartSize', 1);
  if (s3 !== undefined && basePartSize < S3_MIN_PART_SIZE) {
    throw new TypeError(`PARTWAY_BASE_PART_SIZE must be at least ${S3_MIN_PART_SIZE} bytes with S3, which refuses smaller parts`);
  }
  const maxParts = integer('maxParts', 1);
  const maxFileSize = integer('maxFileSize', 1);
  // A refused part of any size a session can ask for must still get its answer.
  const largestPart = choosePartSize(maxFileSize, { basePartSize, maxParts });
  const requestTimeoutMs = integer('requestTimeout', 0) * 1000;
  return {
    port: integer('port', 0, 65_535),
    host: raw('host') ?? '127.0.0.1',
    dataDir: resolve(raw('dataDir') ?? './data'),
    publicUrl,
    basePartSize,
    maxParts,
    minChunkedSize: integer('minChunkedSize', 1),
    maxFileSize,
    storageQuota: raw('storageQuota') === undefined ? null : integer('storageQuota', 0),
    maxOpenSessions: integer('maxOpenSessions', 0) || null,
    rateLimitPerMinute: integer('rateLimit', 0),
    sessionLifetimeMs: integer('sessionLifetime', 1) * 1000,
    accessTokenLifetimeMs: integer('accessTokenLifetime', 1) * 1000,
    commitRetryAfterSeconds: integer('commitRetryAfter', 0),
    downloadLinkTtlMs: integer('downloadLinkTtl', 1) * 1000,
    trashLifetimeMs: integer('trashLifetime', 0) * 1000,
    sweepIntervalMs: integer('sweepInterval', 1) * 1000,
    requestTimeoutMs,
    idleTimeoutMs: integer('idleTimeout', 0) * 1000,
    discardLimit: raw('discardLimit') === undefined ? largestPart : integer('discardLimit', 0),
    discardTimeoutMs: integer('discardTimeout', 0) * 1000,
    jsonBodyLimit: integer('jsonBodyLimit', 1024),
    corsOrigins: parseOrigins(raw('corsOrigins')),
    databaseUrl,
    s3,
    oidc: parseOidc(raw('oidcIssuer'), raw('oidcAudience'), raw('oidcUserClaim') ?? 'sub'),
    tls: tlsFiles(raw('tlsCert'), raw('tlsKey')),
    logLevel: raw('logLevel') ?? 'info',
    trustProxy: parseProxies(raw('trustProxy')),
    metricsToken: raw('metricsToken'),
    webhooks: {
      allowedHosts: (raw('webhookAllowedHosts') ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry !== ''),
      retryForMs: integer('eventRetryFor', 0) * 1000,
      retryBaseMs: integer('eventRetryBase', 1),
      timeoutMs: integer('webhookTimeout', 1) * 1000,
      concurrency: integer('webhookConcurrency', 1),
    },
    hook: parseHook(raw('hookUrl'), raw('hookSecret'), raw('hookEvents') ?? '', integer('hookTimeout', 1) * 1000, raw('hookFailure') ?? 'closed'),
    tuning: tuningFor(requestTimeoutMs),
  };
}

function tuningFor(requestTimeoutMs: number): Tuning {
  return {
    garbageLeaseMs: 10 * 60_000,
    sweepBatchSize: 100,
    keepAliveTimeoutMs: 72_000,
    // jose's default: a rotated key is picked up within half a minute, and forged kids cost one fetch per half minute.
    oidcKeysCooldownMs: 30_000,
    oidcDiscoveryRetryMs: 10_000,
    // With no request timeout (0) a write is presumed dead after two minutes.
    partWriteLeaseMs: Math.max(requestTimeoutMs, 60_000) + 60_000,
    eventPollMs: 1_000,
    eventRetryMaxMs: 3_600_000,
    // A day: long enough to see in `token list` what was used yesterday; one row per grant piles up otherwise.
    expiredCredentialRetentionMs: 24 * 3600_000,
    // Box's SDKs sign with exp 30 s ahead; a few seconds cover clocks that NTP keeps close.
    assertionClockSkewMs: 10_000,
  };
}

function parseOidc(issuer: string | undefined, audience: string | undefined, userClaim: string): OidcSettings | undefined {
  if (issuer === undefined) {
    if (audience !== undefined) throw new TypeError('PARTWAY_OIDC_AUDIENCE needs PARTWAY_OIDC_ISSUER too');
    return undefined;
  }
  // OpenID Connect requires https; plain http only to an issuer on this machine (a test or a sidecar).
  if (!/^https:\/\/[^/]+/.test(issuer) && !/^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:[0-9]+)?(\/|$)/.test(issuer)) {
    throw new TypeError(`PARTWAY_OIDC_ISSUER (--oidc-issuer) must be an https URL, not ${JSON.stringify(issuer)}`);
  }
  if (audience === undefined) throw new TypeError('PARTWAY_OIDC_ISSUER needs PARTWAY_OIDC_AUDIENCE: the aud its tokens must name for Partway');
  return { issuer, audience, userClaim };
}

function parseHook(url: string | undefined, secret: string | undefined, eventList: string, timeoutMs: number, failure: string): HookSettings | undefined {
  if (url === undefined) {
    if (secret !== undefined) throw new TypeError('PARTWAY_HOOK_SECRET needs PARTWAY_HOOK_URL too');
    return undefined;
  }
  if (!/^https?:\/\/[^/]+/.test(url)) throw new TypeError(`PARTWAY_HOOK_URL (--hook-url) must be an http(s) URL, not ${JSON.stringify(url)}`);
  if (secret === undefined) throw new TypeError('PARTWAY_HOOK_URL needs PARTWAY_HOOK_SECRET: the key its requests are signed with');
  const events = eventList.split(',').map((event) => event.trim()).filter((event) => event !== '');
  for (const event of events) {
    if (!(HOOK_EVENTS as readonly string[]).includes(event)) throw new TypeError(`PARTWAY_HOOK_EVENTS: ${JSON.stringify(event)} is not one of ${HOOK_EVENTS.join(', ')}`);
  }
  if (failure !== 'closed' && failure !== 'open') throw new TypeError(`PARTWAY_HOOK_FAILURE (--hook-failure) must be closed or open, not ${JSON.stringify(failure)}`);
  return { url, secret, events: new Set(events as HookEvent[]), timeoutMs, failOpen: failure === 'open' };
}

function parseProxies(text: string | undefined): string[] {
  const entries = (text ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  for (const entry of entries) {
    if (!isProxyEntry(entry)) throw new TypeError(`PARTWAY_TRUST_PROXY: ${JSON.stringify(entry)} is not an IP address or CIDR range such as 10.0.0.0/8`);
  }
  return entries;
}

function tlsFiles(cert: string | undefined, key: string | undefined): TlsFiles | undefined {
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) throw new TypeError('PARTWAY_TLS_CERT (--tls-cert) and PARTWAY_TLS_KEY (--tls-key) go together');
  return { certPath: resolve(cert), keyPath: resolve(key) };
}

function parseOrigins(text: string | undefined): string[] | '*' {
  if (text === undefined) return [];
  if (text.trim() === '*') return '*';
  const origins = text.split(',').map((origin) => origin.trim().replace(/\/+$/, '')).filter((origin) => origin !== '');
  for (const origin of origins) {
    if (!/^https?:\/\/[^/]+$/.test(origin)) throw new TypeError(`PARTWAY_CORS_ORIGINS: ${JSON.stringify(origin)} is not an origin such as https://app.example.com`);
  }
  return origins;
}
