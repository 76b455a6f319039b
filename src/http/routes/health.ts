import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { BoxError } from '../../core/errors.js';
import type { Metrics } from '../metrics.js';

export interface HealthChecks {
  database(): Promise<void>;
  storage(): Promise<void>;
}

/** For load balancers and Prometheus: no token, except `/metrics` when `metricsToken` is set. */
export function healthRoutes(app: FastifyInstance, checks: HealthChecks, metrics: Metrics, metricsToken?: string): void {
  // Alive: the process answers.
  app.get('/healthz', { schema: { summary: 'Alive: the process answers' } }, async () => ({ status: 'ok' }));

  // Ready: the database and the storage answer too.
  app.get('/readyz', { schema: { summary: 'Ready: the database and the storage answer too' } }, async (_request, reply) => {
    const outcome = async (check: () => Promise<void>) => check().then(() => 'ok', (error: unknown) => (error as Error).message || 'unavailable');
    const [database, storage] = await Promise.all([outcome(checks.database), outcome(checks.storage)]);
    const ready = database === 'ok' && storage === 'ok';
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ok' : 'unavailable', database, storage });
  });

  app.get('/metrics', { schema: { summary: 'Prometheus metrics' } }, async (request, reply) => {
    if (metricsToken !== undefined && !presentsToken(request.headers.authorization, metricsToken)) {
      throw new BoxError('unauthorized', 'Unauthorized: /metrics needs the bearer token set in PARTWAY_METRICS_TOKEN');
    }
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}

/** Compares digests, so that neither the time taken nor the lengths tell how much of the token matched. */
function presentsToken(header: string | undefined, token: string): boolean {
  const presented = /^Bearer +(\S+) *$/i.exec(header ?? '')?.[1] ?? '';
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(presented), digest(token));
}
