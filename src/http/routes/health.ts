import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics.js';

export interface HealthChecks {
  database(): Promise<void>;
  storage(): Promise<void>;
}

/** For load balancers and Prometheus; no token needed. */
export function healthRoutes(app: FastifyInstance, checks: HealthChecks, metrics: Metrics): void {
  // Alive: the process answers.
  app.get('/healthz', { schema: { summary: 'Alive: the process answers' } }, async () => ({ status: 'ok' }));

  // Ready: the database and the storage answer too.
  app.get('/readyz', { schema: { summary: 'Ready: the database and the storage answer too' } }, async (_request, reply) => {
    const outcome = async (check: () => Promise<void>) => check().then(() => 'ok', (error: unknown) => (error as Error).message || 'unavailable');
    const [database, storage] = await Promise.all([outcome(checks.database), outcome(checks.storage)]);
    const ready = database === 'ok' && storage === 'ok';
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ok' : 'unavailable', database, storage });
  });

  app.get('/metrics', { schema: { summary: 'Prometheus metrics' } }, async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
}
