import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of one node, served at `/metrics`. */
export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'partway_http_requests_total', help: 'HTTP requests by route, method and status',
    labelNames: ['route', 'method', 'status'] as const, registers: [this.registry],
  });
  readonly bytesReceived = new Counter({
    name: 'partway_bytes_received_total', help: 'Bytes of content stored (parts and simple uploads)', registers: [this.registry],
  });
  readonly partSeconds = new Histogram({
    name: 'partway_part_upload_seconds', help: 'Time to receive, verify and store one part, by status',
    labelNames: ['status'] as const, buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300], registers: [this.registry],
  });
  readonly commits = new Counter({
    name: 'partway_commits_total', help: 'Commit requests by outcome status', labelNames: ['status'] as const, registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'partway_errors_total', help: 'Error answers by Box error code', labelNames: ['code'] as const, registers: [this.registry],
  });

  constructor(countOpenSessions: () => Promise<number>) {
    const registry = this.registry;
    new Gauge({
      name: 'partway_upload_sessions_open', help: 'Upload sessions active and not expired (all nodes: read from the database)',
      registers: [registry],
      async collect() {
        this.set(await countOpenSessions());
      },
    });
    collectDefaultMetrics({ register: registry, prefix: 'partway_' });
  }

  /** Counts every answer, by route pattern (never the raw URL, which would make one series per session). */
  instrument(app: FastifyInstance): void {
    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? 'unmatched';
      const status = String(reply.statusCode);
      this.requests.inc({ route, method: request.method, status });
      if (request.method === 'PUT' && route.endsWith('/files/upload_sessions/:id')) this.partSeconds.observe({ status }, reply.elapsedTime / 1000);
      if (route.endsWith('/commit')) this.commits.inc({ status });
    });
  }
}
