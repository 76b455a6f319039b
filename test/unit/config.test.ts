import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formerNamesUsed, loadConfig, SETTINGS, type SettingKey } from '../../src/config.js';

const MiB = 1024 * 1024;
type Flags = Partial<Record<SettingKey, string>>;

describe('loadConfig', () => {
  it('gives every default with no flags and no environment', () => {
    expect(loadConfig({}, {})).toEqual({
      port: 8080, host: '127.0.0.1', dataDir: resolve('./data'), publicUrl: undefined,
      basePartSize: 8 * MiB, maxParts: 10_000, minChunkedSize: 20_000_000, maxFileSize: 5 * 1024 * 1024 * MiB,
      storageQuota: null, maxOpenSessions: 1000, rateLimitPerMinute: 0,
      sessionLifetimeMs: 7 * 24 * 3600 * 1000, accessTokenLifetimeMs: 3_600_000, commitRetryAfterSeconds: 1, downloadLinkTtlMs: 900_000, trashLifetimeMs: 30 * 24 * 3600 * 1000,
      sweepIntervalMs: 60_000,
      requestTimeoutMs: 1_800_000, idleTimeoutMs: 300_000, discardLimit: 1024 * MiB, discardTimeoutMs: 60_000,
      jsonBodyLimit: 2 * MiB, corsOrigins: [],
      databaseUrl: undefined, s3: undefined, oidc: undefined, logLevel: 'info',
      tuning: {
        garbageLeaseMs: 600_000, sweepBatchSize: 100, keepAliveTimeoutMs: 72_000, partWriteLeaseMs: 1_860_000, eventPollMs: 1_000, eventRetryMaxMs: 3_600_000,
        oidcKeysCooldownMs: 30_000, oidcDiscoveryRetryMs: 10_000, expiredCredentialRetentionMs: 86_400_000, assertionClockSkewMs: 10_000,
      },
      trustProxy: [], metricsToken: undefined,
      webhooks: { allowedHosts: [], retryForMs: 86_400_000, retryBaseMs: 10_000, timeoutMs: 30_000, concurrency: 16 },
      hook: undefined,
    });
  });

  it('reads nothing from process.env when given an environment', () => {
    const saved = process.env.PARTWAY_PORT;
    process.env.PARTWAY_PORT = '1234';
    try {
      expect(loadConfig({}, {}).port).toBe(8080);
      expect(loadConfig({}).port).toBe(1234);
    } finally {
      if (saved === undefined) delete process.env.PARTWAY_PORT;
      else process.env.PARTWAY_PORT = saved;
    }
  });

  it.each([
    ['the default', {}, {}, 8080],
    ['the environment over the default', {}, { PARTWAY_PORT: '9000' }, 9000],
    ['a flag over the environment', { port: '9001' }, { PARTWAY_PORT: '9000' }, 9001],
    ['a flag over the default', { port: '9002' }, {}, 9002],
  ])('takes %s', (_, flags: Flags, env: NodeJS.ProcessEnv, port) => {
    expect(loadConfig(flags, env).port).toBe(port);
  });

  it('gives every setting a PARTWAY_ variable and a --flag of its own', () => {
    for (const setting of SETTINGS) {
      expect(setting.env, setting.key).toMatch(/^PARTWAY_[A-Z0-9_]+$/);
      expect(setting.flag, setting.key).toMatch(/^--[a-z0-9-]+$/);
    }
    expect(new Set(SETTINGS.map((setting) => setting.env)).size).toBe(SETTINGS.length);
    expect(new Set(SETTINGS.map((setting) => setting.flag)).size).toBe(SETTINGS.length);
  });

  it.each([
    ['seconds as milliseconds', { sessionLifetime: '60', downloadLinkTtl: '2', sweepInterval: '5', requestTimeout: '0', idleTimeout: '7' },
      { sessionLifetimeMs: 60_000, downloadLinkTtlMs: 2000, sweepIntervalMs: 5000, requestTimeoutMs: 0, idleTimeoutMs: 7000 }],
    ['an access token lifetime in seconds', { accessTokenLifetime: '2' }, { accessTokenLifetimeMs: 2000 }],
    ['0 open sessions as no limit', { maxOpenSessions: '0' }, { maxOpenSessions: null }],
    ['the discard limit as the largest part size handed out (1 MiB doubled until 100 MiB fit in 10 parts)',
      { basePartSize: String(MiB), maxParts: '10', maxFileSize: String(100 * MiB) }, { discardLimit: 16 * MiB }],
    ['a discard limit and timeout of their own', { discardLimit: '0', discardTimeout: '5' }, { discardLimit: 0, discardTimeoutMs: 5000 }],
    ['a quota of 0 as a quota', { storageQuota: '0' }, { storageQuota: 0 }],
    ['a quota', { storageQuota: '1000000' }, { storageQuota: 1_000_000 }],
    ['port 0 (any free port)', { port: '0' }, { port: 0 }],
    ['the public URL without its trailing slashes', { publicUrl: 'https://files.example.com//' }, { publicUrl: 'https://files.example.com' }],
    ['a public URL with a path', { publicUrl: 'http://example.com/partway/' }, { publicUrl: 'http://example.com/partway' }],
    ['a postgres:// URL', { databaseUrl: 'postgres://u@db/partway' }, { databaseUrl: 'postgres://u@db/partway' }],
    ['a postgresql:// URL', { databaseUrl: 'postgresql://u@db/partway' }, { databaseUrl: 'postgresql://u@db/partway' }],
    ['* as any origin', { corsOrigins: ' * ' }, { corsOrigins: '*' }],
    ['a list of origins, trimmed and without trailing slashes', { corsOrigins: 'https://a.example.com, http://b.example.org:8080/,' },
      { corsOrigins: ['https://a.example.com', 'http://b.example.org:8080'] }],
    ['an empty value as unset', { publicUrl: '', storageQuota: '' }, { publicUrl: undefined, storageQuota: null }],
    ['a data directory as an absolute path', { dataDir: 'some/where' }, { dataDir: resolve('some/where') }],
  ])('reads %s', (_, flags: Flags, expected) => {
    expect(loadConfig(flags, {})).toMatchObject(expected);
  });

  it('reads S3 settings when a bucket is named, with its defaults', () => {
    expect(loadConfig({}, { PARTWAY_S3_BUCKET: 'bytes' }).s3).toEqual({
      endpoint: undefined, bucket: 'bytes', region: 'us-east-1', accessKeyId: undefined, secretAccessKey: undefined, forcePathStyle: true,
    });
    expect(loadConfig({ s3ForcePathStyle: 'false', s3Region: 'eu-west-1' }, {
      PARTWAY_S3_BUCKET: 'bytes', PARTWAY_S3_ENDPOINT: 'http://127.0.0.1:9000', PARTWAY_S3_ACCESS_KEY_ID: 'id', PARTWAY_S3_SECRET_ACCESS_KEY: 'secret',
    }).s3).toEqual({
      endpoint: 'http://127.0.0.1:9000', bucket: 'bytes', region: 'eu-west-1', accessKeyId: 'id', secretAccessKey: 'secret', forcePathStyle: false,
    });
  });

  it.each([
    ['a negative port', { port: '-1' }, /PARTWAY_PORT \(--port\)/],
    ['a port that is not a number', { port: 'http' }, /PARTWAY_PORT \(--port\) must be a whole number from 0 to 65535, not "http"/],
    ['a fraction', { maxParts: '1.5' }, /PARTWAY_MAX_PARTS \(--max-parts\)/],
    ['an exponent', { maxFileSize: '1e12' }, /PARTWAY_MAX_FILE_SIZE/],
    ['hexadecimal', { basePartSize: '0x100000' }, /PARTWAY_BASE_PART_SIZE/],
    ['spaces around a number', { port: ' 80' }, /PARTWAY_PORT/],
    ['a port past 65535', { port: '65536' }, /PARTWAY_PORT \(--port\) must be a whole number from 0 to 65535, not "65536"/],
    ['a number beyond the safe integers', { maxFileSize: '9007199254740993' }, /PARTWAY_MAX_FILE_SIZE/],
    ['a part size of 0', { basePartSize: '0' }, /PARTWAY_BASE_PART_SIZE \(--base-part-size\) must be a whole number of at least 1/],
    ['a session lifetime of 0', { sessionLifetime: '0' }, /PARTWAY_SESSION_LIFETIME/],
    ['a download link lifetime of 0', { downloadLinkTtl: '0' }, /PARTWAY_DOWNLOAD_LINK_TTL/],
    ['a sweep interval of 0', { sweepInterval: '0' }, /PARTWAY_SWEEP_INTERVAL/],
    ['a JSON body limit under 1 KiB', { jsonBodyLimit: '1023' }, /PARTWAY_JSON_BODY_LIMIT/],
    ['a negative quota', { storageQuota: '-5' }, /PARTWAY_STORAGE_QUOTA/],
    ['a public URL without a scheme', { publicUrl: 'files.example.com' }, /PARTWAY_PUBLIC_URL/],
    ['a public URL of another scheme', { publicUrl: 'ftp://files.example.com' }, /PARTWAY_PUBLIC_URL/],
    ['a database URL that is not PostgreSQL', { databaseUrl: 'mysql://db/partway' }, /PARTWAY_DATABASE_URL/],
    ['a file path as the database', { databaseUrl: '/var/lib/partway.db' }, /PARTWAY_DATABASE_URL/],
    ['an S3 endpoint without a bucket', { s3Endpoint: 'http://127.0.0.1:9000' }, /PARTWAY_S3_ENDPOINT needs PARTWAY_S3_BUCKET/],
    ['parts under 5 MiB with S3', { s3Bucket: 'bytes', basePartSize: String(5 * MiB - 1) }, /at least 5242880 bytes with S3/],
    ['an origin without a scheme', { corsOrigins: 'app.example.com' }, /PARTWAY_CORS_ORIGINS: "app.example.com"/],
    ['an origin with a path', { corsOrigins: 'https://ok.example.com,https://app.example.com/path' }, /"https:\/\/app.example.com\/path"/],
    ['an identity provider without an audience', { oidcIssuer: 'https://login.example.com' }, /PARTWAY_OIDC_ISSUER needs PARTWAY_OIDC_AUDIENCE/],
    ['an audience without an identity provider', { oidcAudience: 'partway' }, /PARTWAY_OIDC_AUDIENCE needs PARTWAY_OIDC_ISSUER/],
    ['an identity provider over plain http elsewhere', { oidcIssuer: 'http://login.example.com', oidcAudience: 'partway' }, /PARTWAY_OIDC_ISSUER \(--oidc-issuer\) must be an https URL/],
    ['an identity provider that is not a URL', { oidcIssuer: 'login.example.com', oidcAudience: 'partway' }, /PARTWAY_OIDC_ISSUER/],
  ])('refuses %s at start with a TypeError naming the setting', (_, flags: Flags, message) => {
    expect(() => loadConfig(flags, {})).toThrow(TypeError);
    expect(() => loadConfig(flags, {})).toThrow(message);
  });

  it('reads an identity provider: its issuer as given, the audience, and the user claim (sub by default)', () => {
    expect(loadConfig({}, { PARTWAY_OIDC_ISSUER: 'https://login.example.com/realms/staff', PARTWAY_OIDC_AUDIENCE: 'partway' }).oidc)
      .toEqual({ issuer: 'https://login.example.com/realms/staff', audience: 'partway', userClaim: 'sub' });
    expect(loadConfig({ oidcIssuer: 'http://127.0.0.1:9000/', oidcAudience: 'files', oidcUserClaim: 'email' }, {}).oidc)
      .toEqual({ issuer: 'http://127.0.0.1:9000/', audience: 'files', userClaim: 'email' });
  });

  it('refuses a bad value from the environment as it does from a flag', () => {
    expect(() => loadConfig({}, { PARTWAY_MAX_PARTS: '0' })).toThrow(/PARTWAY_MAX_PARTS \(--max-parts\)/);
  });

  it('lets a good flag override a bad environment value', () => {
    expect(loadConfig({ maxParts: '5' }, { PARTWAY_MAX_PARTS: 'many' }).maxParts).toBe(5);
  });

  it('counts a part write in flight for a minute past the request timeout, or two minutes with no timeout', () => {
    expect(loadConfig({ requestTimeout: '600' }, {}).tuning.partWriteLeaseMs).toBe(660_000);
    expect(loadConfig({ requestTimeout: '0' }, {}).tuning.partWriteLeaseMs).toBe(120_000);
  });

  it('reads a setting\'s former variable name after its current one, and says which names are former', () => {
    expect(loadConfig({}, { PARTWAY_PART_SIZE: '1048576' }).basePartSize).toBe(1048576);
    expect(loadConfig({}, { PARTWAY_SESSION_TTL: '60' }).sessionLifetimeMs).toBe(60_000);
    expect(loadConfig({}, { PARTWAY_PART_SIZE: '1048576', PARTWAY_BASE_PART_SIZE: '2097152' }).basePartSize).toBe(2097152);
    expect(formerNamesUsed(['--session-ttl'], { PARTWAY_PART_SIZE: '1048576' })).toEqual([
      'PARTWAY_PART_SIZE is now PARTWAY_BASE_PART_SIZE', '--session-ttl is now --session-lifetime',
    ]);
    expect(formerNamesUsed([], {})).toEqual([]);
  });

  it('takes an empty variable as unset: the default applies', () => {
    expect(loadConfig({}, { PARTWAY_PORT: '', PARTWAY_MAX_PARTS: '' })).toMatchObject({ port: 8080, maxParts: 10_000 });
  });

  it('accepts 5 MiB parts with S3', () => {
    expect(loadConfig({ s3Bucket: 'bytes', basePartSize: String(5 * MiB) }, {}).basePartSize).toBe(5 * MiB);
  });

  it('reads the operator hook: URL and secret together, its events, its timeout and what a failure means', () => {
    const hook = loadConfig({}, {
      PARTWAY_HOOK_URL: 'http://127.0.0.1:9000/hook', PARTWAY_HOOK_SECRET: 's3cret', PARTWAY_HOOK_EVENTS: 'pre-commit, post-commit',
      PARTWAY_HOOK_TIMEOUT: '5', PARTWAY_HOOK_FAILURE: 'open',
    }).hook;
    expect(hook).toEqual({ url: 'http://127.0.0.1:9000/hook', secret: 's3cret', events: new Set(['pre-commit', 'post-commit']), timeoutMs: 5000, failOpen: true });
    expect(loadConfig({ hookUrl: 'https://hooks.example.com', hookSecret: 'k' }, {}).hook?.events).toEqual(new Set(['pre-create', 'pre-commit', 'post-commit', 'post-delete']));
    expect(() => loadConfig({ hookUrl: 'https://hooks.example.com' }, {})).toThrow(/PARTWAY_HOOK_SECRET/);
    expect(() => loadConfig({ hookSecret: 'k' }, {})).toThrow(/needs PARTWAY_HOOK_URL/);
    expect(() => loadConfig({ hookUrl: 'ftp://x', hookSecret: 'k' }, {})).toThrow(/http\(s\) URL/);
    expect(() => loadConfig({ hookUrl: 'https://x', hookSecret: 'k', hookEvents: 'pre-delete' }, {})).toThrow(/"pre-delete" is not one of/);
    expect(() => loadConfig({ hookUrl: 'https://x', hookSecret: 'k', hookFailure: 'maybe' }, {})).toThrow(/closed or open/);
  });
});
