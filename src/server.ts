import { readFile } from 'node:fs/promises';
import type { Server as TlsServer } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import { pino, type BaseLogger, type Logger } from 'pino';
import type { PartwayConfig, TlsFiles } from './config.js';
import { Applications } from './core/applications.js';
import { JwtGrant } from './core/jwt-grant.js';
import { BearerCredentials } from './core/bearer-credentials.js';
import { DownloadLinks } from './core/download-links.js';
import { Folders } from './core/folders.js';
import { Janitor } from './core/janitor.js';
import { OidcTokens } from './core/oidc-tokens.js';
import { Tokens } from './core/tokens.js';
import { OPEN_GATE } from './core/upload-gate.js';
import { UploadSessions } from './core/upload-sessions.js';
import { EventOutbox } from './core/event-outbox.js';
import { WebhookKeys } from './core/webhook-keys.js';
import { Webhooks } from './core/webhooks.js';
import { AddressGuard } from './events/address-guard.js';
import { DeliveryMetrics } from './events/delivery-metrics.js';
import { DeliveryWorker } from './events/delivery-worker.js';
import { OperatorHook } from './events/operator-hook.js';
import { buildApp, type ApiOptions } from './http/app.js';
import type { ApiContext } from './http/context.js';
import { Metrics } from './http/metrics.js';
import { trustedProxies } from './http/trusted-proxy.js';
import { serveWebUploader } from './http/web.js';
import { openStores, type Stores } from './stores/open.js';

export interface Partway {
  app: FastifyInstance;
  stores: Stores;
  tokens: Tokens;
  janitor: Janitor;
  /** Sends the outbox's webhook and hook deliveries. */
  deliveries: DeliveryWorker;
  /** Starts listening; resolves with the address clients can use. */
  listen(): Promise<string>;
  /** Reads the TLS certificate and key again for new connections; rejects (keeping the old) if they fail. */
  reloadCertificate(): Promise<void>;
  /** Stops taking requests, lets the ones in flight finish, then closes the stores. */
  close(): Promise<void>;
}

/** What the core logs through: pino's, or the Fastify host app's logger. */
type CoreLogger = Pick<BaseLogger, 'info' | 'warn' | 'error'>;

/** The core over a set of stores, and what the HTTP layer is handed of it. */
export interface PartwayCore {
  context: ApiContext;
  tokens: Tokens;
  janitor: Janitor;
  /** Sends the outbox: `start()` it with the server, `stop()` it before the stores close. */
  deliveries: DeliveryWorker;
  /** The identity provider whose tokens are accepted, if one is configured: `discover()` it at start. */
  idp: OidcTokens | undefined;
}

/**
 * Wires the core over `stores`: shared by Partway's own server and the embeddable plugin. `now` is the
 * core's clock (expiry, leases, download links); tests pass one they can move instead of sleeping.
 */
export async function wireCore(config: PartwayConfig, stores: Stores, logger: CoreLogger | false, now: () => number = Date.now): Promise<PartwayCore> {
  const { metadata, blobs } = stores;
  const janitor = new Janitor(metadata, blobs, {
    intervalMs: config.sweepIntervalMs, leaseMs: config.tuning.garbageLeaseMs, batchSize: config.tuning.sweepBatchSize,
    trashLifetimeMs: config.trashLifetimeMs, expiredCredentialRetentionMs: config.tuning.expiredCredentialRetentionMs,
    onError: (error) => logger && logger.error({ err: error }, 'sweep failed'),
    purge: (itemId) => folders.purgeExpired(itemId),
  }, now);
  const onGarbage = () => janitor.nudge();
  const links = await DownloadLinks.create(metadata, config.downloadLinkTtlMs, now);
  // The operator's blocking hooks (pre-create, pre-commit); without a hook every upload passes.
  const gate = config.hook ? new OperatorHook(config.hook, links, logger) : OPEN_GATE;
  const metrics = new Metrics(() => metadata.countOpenSessions(now()));
  const { events, webhooks, deliveries } = wireEvents(config, metadata, metrics, logger, now);
  const folders = new Folders({ metadata, blobs, now, onGarbage, storageQuota: config.storageQuota, gate, events });
  const uploads = new UploadSessions({
    metadata, blobs, folders, now, onGarbage, gate, events,
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
  const health = { database: () => metadata.ping(), storage: () => blobs.check() };
  const applications = new Applications(metadata, tokens, now, config.accessTokenLifetimeMs);
  const jwtGrant = new JwtGrant(metadata, applications, config.tuning.assertionClockSkewMs, now);
  const context: ApiContext = {
    uploads, folders, tokens, webhooks, applications, jwtGrant, credentials: new BearerCredentials(tokens, idp), links, maxFileSize: config.maxFileSize,
    publicUrl: config.publicUrl, health, metrics, trustedProxy: trustedProxies(config.trustProxy),
  };
  return { context, tokens, janitor, deliveries, idp };
}

/** The outbox (written by the core's steps), users' webhooks, and the worker that sends deliveries, nudged after each change. */
function wireEvents(config: PartwayConfig, metadata: Stores['metadata'], metrics: Metrics, logger: CoreLogger | false, now: () => number) {
  const guard = new AddressGuard(config.webhooks.allowedHosts);
  const hook = config.hook && { url: config.hook.url, events: config.hook.events };
  const events = new EventOutbox({ hook, onRecorded: () => deliveries.nudge() });
  const webhooks = new Webhooks({ metadata, events, now, checkAddress: async (address) => void await guard.resolve(address) });
  const deliveries: DeliveryWorker = new DeliveryWorker({
    metadata, keys: new WebhookKeys(metadata), guard, hookSecret: config.hook?.secret, concurrency: config.webhooks.concurrency, now,
    timing: {
      timeoutMs: config.webhooks.timeoutMs, retryForMs: config.webhooks.retryForMs, retryBaseMs: config.webhooks.retryBaseMs,
      retryMaxMs: config.tuning.eventRetryMaxMs, pollMs: config.tuning.eventPollMs,
    },
    metrics: new DeliveryMetrics(metrics.registry, () => metadata.deliveryBacklog(), now),
    onError: (error) => logger && logger.error({ err: error }, 'a webhook or hook delivery could not be recorded'),
    // The address is not logged: a user's may carry a secret of theirs in its query.
    onFailed: (delivery, reason) => logger && logger.warn({ deliveryId: delivery.id, kind: delivery.kind, webhookId: delivery.webhookId, trigger: delivery.trigger, reason },
      'a delivery failed for good'),
  });
  return { events, webhooks, deliveries };
}

/** The API's options from the settings (the server's own are in `createPartway`). */
export function apiOptions(config: PartwayConfig): ApiOptions {
  return {
    jsonBodyLimit: config.jsonBodyLimit, requestTimeoutMs: config.requestTimeoutMs,
    discardLimits: { maxBytes: config.discardLimit, timeoutMs: config.discardTimeoutMs },
    corsOrigins: config.corsOrigins, rateLimitPerMinute: config.rateLimitPerMinute, metricsToken: config.metricsToken,
  };
}

/** Deletes what an earlier crash left unreferenced, when this process alone owns its stores (docs/architecture.md). */
export async function repairAtStart(stores: Stores, janitor: Janitor, logger: CoreLogger | false): Promise<void> {
  if (stores.shared) return;
  const repaired = await janitor.repair();
  if (logger && (repaired.uploadsRemoved > 0 || repaired.partsRemoved > 0)) {
    logger.info(repaired, 'removed bytes that no record needs (left by an earlier crash)');
  }
}

/** Wires the stores, the core and the HTTP layer together for one server process. */
export async function createPartway(config: PartwayConfig, logger: Logger | false = pino({ level: config.logLevel }),
  now: () => number = Date.now): Promise<Partway> {
  const tls = config.tls && await readCertificate(config.tls);
  const stores = await openStores(config);
  const { context, tokens, janitor, deliveries, idp } = await wireCore(config, stores, logger, now);
  const app = buildApp(context, {
    ...apiOptions(config), logger, keepAliveTimeoutMs: config.tuning.keepAliveTimeoutMs, idleTimeoutMs: config.idleTimeoutMs, web: serveWebUploader,
    ...(tls ? { tls } : {}),
  });

  return {
    app, stores, tokens, janitor, deliveries,
    async listen() {
      await repairAtStart(stores, janitor, logger);
      const address = await app.listen({ port: config.port, host: config.host });
      // Not awaited: an IdP that is down at start is logged, and its tokens are refused until it answers.
      void idp?.discover();
      janitor.start();
      deliveries.start();
      return address;
    },
    async reloadCertificate() {
      if (!config.tls) throw new Error('this server does not serve HTTPS');
      // New connections get the new certificate; open ones keep the one they were made with.
      (app.server as unknown as TlsServer).setSecureContext(await readCertificate(config.tls));
    },
    async close() {
      await app.close();
      await janitor.stop();
      await deliveries.stop();
      await stores.close();
    },
  };
}

async function readCertificate(files: TlsFiles): Promise<{ cert: Buffer; key: Buffer }> {
  const [cert, key] = await Promise.all([readFile(files.certPath), readFile(files.keyPath)]);
  return { cert, key };
}
