import { Counter, Gauge, type Registry } from 'prom-client';
import type { DeliveryBacklog } from '../core/event-model.js';

/** The outbox's metrics: outcomes counted by this node, the backlog read from the database (all nodes). */
export class DeliveryMetrics {
  readonly deliveries: Counter<'outcome' | 'kind'>;

  constructor(registry: Registry, backlog: () => Promise<DeliveryBacklog>, now: () => number) {
    this.deliveries = new Counter({
      name: 'partway_webhook_deliveries_total', help: 'Webhook and hook delivery attempts by outcome (delivered, retried, failed) and kind',
      labelNames: ['outcome', 'kind'] as const, registers: [registry],
    });
    let last: Promise<DeliveryBacklog> | undefined;
    // One read serves both gauges of a scrape.
    const read = () => (last ??= backlog().finally(() => setTimeout(() => (last = undefined), 0)));
    new Gauge({
      name: 'partway_webhook_queue_depth', help: 'Deliveries neither delivered nor failed yet (all nodes)', registers: [registry],
      async collect() {
        this.set((await read()).pending);
      },
    });
    new Gauge({
      name: 'partway_webhook_oldest_pending_seconds', help: 'Age of the oldest delivery neither delivered nor failed (0 when none)', registers: [registry],
      async collect() {
        const oldest = (await read()).oldestCreatedAt;
        this.set(oldest === null ? 0 : Math.max(0, (now() - oldest) / 1000));
      },
    });
  }
}
