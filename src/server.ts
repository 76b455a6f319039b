import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import type { PartwayConfig } from './config.js';
import { BearerCredentials } from './core/bearer-credentials.js';
import { DownloadLinks } from './core/download-links.js';
import { Folders } from './core/folders.js';
import { Janitor } from './core/janitor.js';
import { OidcTokens } from './core/oidc-tokens.js';
import { Tokens } from './core/tokens.js';
import { UploadSessions } from './core/upload-sessions.js';
import { buildApp } from './http/app.js';
import { Metrics } from './http/metrics.js';
import { trustedProxies } from './http/trusted-proxy.js';
import { serveWebUploader } from './http/web.js';
import { openStores, type Stores } from './stores/open.js';

export interface Partway {
  app: FastifyInstance;
  stores: Stores;
  tokens: Tokens;
  janitor: Janitor;
  /** Starts listening; resolves with the address clients can use. */
  listen(): Promise<string>;
  /** Stops taking requests, lets the ones in flight finish, then closes the stores. */
  close(): Promise<void>;
}

/**
 * Wires the stores, the core and the HTTP layer together for one server process. `now` is the core's
 * clock (expiry, leases, download links); tests pass one they can move instead of sleeping.
 */
export async function createPartway(config: PartwayConfig, logger: Logger | false = pino({ level: config.logLevel }),
  now: () => number = Date.now): Promise<Partway> {
  const stores = await openStores(config);
  const { metadata, blobs } = stores;
  const janitor = new Janitor(metadata, blobs, {
    intervalMs: config.sweepIntervalMs, leaseMs: config.tuning.garbageLeaseMs, batchSize: config.tuning.sweepBatchSize,
    trashLifetimeMs: config.trashLifetimeMs,
    onError: (error) => logger && logger.error({ err: error }, 'sweep failed'),
  }, now);
  const onGarbage = () => janitor.nudge();
  const folders = new Folders({ metadata, blobs, now, onGarbage, storageQuota: config.storageQuota });
  const uploads = new UploadSessions({
    metadata, blobs, folders, now, onGarbage,
    onError: (error) => logger && logger.warn({ err: error }, 'hashing a session while its parts arrive failed; its commit will read the file'),
    limits: {
      partSizePolicy: { basePartSize: config.basePartSize, maxParts: config.maxParts },
      minChunkedFileSize: config.minChunkedSize,
      maxFileSize: config.maxFileSize,
      sessionLifetimeMs: config.sessionLifetimeMs,
      storageQuota: config.storageQuota,
      maxOpenSessions: config.maxOpenSessions,
      partWriteLeaseMs: config.tuning.partWriteLeaseMs,
      commitRetryAfterSeconds: config.commitRetryAfterSeconds,
    },
  });
  const tokens = new Tokens(metadata, now);
  const idp = config.oidc && new OidcTokens({
    settings: config.oidc, metadata, now, timing: { keysCooldownMs: config.tuning.oidcKeysCooldownMs, discoveryRetryMs: config.tuning.oidcDiscoveryRetryMs },
    onWarning: (message, error) => logger && logger.warn({ err: error, issuer: config.oidc!.issuer }, message),
  });
  const links = await DownloadLinks.create(metadata, config.downloadLinkTtlMs, now);
  const metrics = new Metrics(() => metadata.countOpenSessions(now()));
  const health = { database: () => metadata.ping(), storage: () => blobs.check() };
  const app = buildApp(
    { uploads, folders, tokens, credentials: new BearerCredentials(tokens, idp), links, maxFileSize: config.maxFileSize, publicUrl: config.publicUrl, health, metrics,
      trustedProxy: trustedProxies(config.trustProxy) },
    {
      logger, jsonBodyLimit: config.jsonBodyLimit, requestTimeoutMs: config.requestTimeoutMs, keepAliveTimeoutMs: config.tuning.keepAliveTimeoutMs,
      idleTimeoutMs: config.idleTimeoutMs, discardLimits: { maxBytes: config.discardLimit, timeoutMs: config.discardTimeoutMs },
      corsOrigins: config.corsOrigins, rateLimitPerMinute: config.rateLimitPerMinute, web: serveWebUploader,
      metricsToken: config.metricsToken,
    },
  );

  return {
    app, stores, tokens, janitor,
    async listen() {
      if (!stores.shared) {
        const repaired = await janitor.repair();
        if (logger && (repaired.uploadsRemoved > 0 || repaired.partsRemoved > 0)) {
          logger.info(repaired, 'removed bytes that no record needs (left by an earlier crash)');
        }
      }
      const address = await app.listen({ port: config.port, host: config.host });
      // Not awaited: an IdP that is down at start is logged, and its tokens are refused until it answers.
      void idp?.discover();
      janitor.start();
      return address;
    },
    async close() {
      await app.close();
      await janitor.stop();
      await stores.close();
    },
  };
}
