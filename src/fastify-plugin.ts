import type { FastifyPluginAsync } from 'fastify';
import { loadConfig, type SettingKey } from './config.js';
import { registerApi } from './http/app.js';
import { apiOptions, repairAtStart, wireCore } from './server.js';
import { openStores, type Stores } from './stores/open.js';

export { openStores, type Stores } from './stores/open.js';
export type { SettingKey } from './config.js';

export interface PartwayPluginOptions {
  /**
   * Partway's settings by key (`dataDir`, `databaseUrl`, `partSize`, ...; the README's table), as its
   * flags would give them. Environment variables are not read unless `env` is passed (`process.env`).
   */
  settings?: Partial<Record<SettingKey, string>>;
  env?: NodeJS.ProcessEnv;
  /** Stores the host opened (and closes); otherwise they are opened from the settings and closed with the host. */
  stores?: Stores;
  /** The core's clock; tests pass one they can move. */
  now?: () => number;
}

/**
 * Partway's API inside an existing Fastify app (`partway/fastify`), as @tus/server can be embedded:
 *
 *   app.register(partway, { prefix: '/files', settings: { dataDir: '/var/lib/partway' } });
 *
 * serves Box's API at `/files/2.0` and `/files/api/2.0` (and `/files/downloads`, `/files/healthz`,
 * `/files/openapi.json`) with the host's logger and request ids. It is an encapsulated plugin: its body
 * parsers, error and not-found handlers, validator and hooks apply to its routes only, so the host's
 * other routes answer as before. What belongs to a server stays the host's: its timeouts, its answers
 * to requests Node's parser refuses, `Expect: 100-continue`, TLS. The web uploader is not served here
 * (its page calls the API at its origin's `/2.0`).
 */
export const partway: FastifyPluginAsync<PartwayPluginOptions> = async (scope, options) => {
  const config = loadConfig(options.settings ?? {}, options.env ?? {});
  const stores = options.stores ?? await openStores(config);
  const { context, janitor, deliveries, idp } = await wireCore(config, stores, scope.log, options.now);
  await repairAtStart(stores, janitor, scope.log);
  scope.addHook('onReady', async () => {
    // Not awaited, as on Partway's own server: an identity provider that is down is logged and retried.
    void idp?.discover();
    janitor.start();
    deliveries.start();
  });
  scope.addHook('onClose', async () => {
    await janitor.stop();
    await deliveries.stop();
    if (options.stores === undefined) await stores.close();
  });
  registerApi(scope, { ...context, mountPath: scope.prefix }, apiOptions(config));
};

export default partway;
