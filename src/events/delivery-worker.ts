import { Agent, request } from 'undici';
import type { DeliveryRecord } from '../core/event-model.js';
import type { WebhookKeys } from '../core/webhook-keys.js';
import type { MetadataStore } from '../metadata/store.js';
import { AddressRefused, type AddressGuard, type CheckedAddress } from './address-guard.js';
import type { DeliveryMetrics } from './delivery-metrics.js';
import { deliveryBody } from './payloads.js';
import { signDelivery } from './signature.js';

export interface DeliveryTiming {
  /** How long one attempt may take. */
  timeoutMs: number;
  /** How long a delivery is retried, from its event, before it is recorded as failed. */
  retryForMs: number;
  /** The first retry's delay; each later one doubles it, up to `retryMaxMs`, with jitter. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** How often the outbox is read for due deliveries (changes on this node also nudge it at once). */
  pollMs: number;
}

export interface DeliveryWorkerOptions {
  metadata: MetadataStore;
  keys: WebhookKeys;
  guard: AddressGuard;
  /** The operator hook's secret, when a hook is set. */
  hookSecret: string | undefined;
  concurrency: number;
  timing: DeliveryTiming;
  metrics?: DeliveryMetrics | undefined;
  now?: () => number;
  random?: () => number;
  onError?: (error: unknown) => void;
  /** A delivery recorded as failed: its retry time ran out, or its address was refused. */
  onFailed?: (delivery: DeliveryRecord, reason: string) => void;
}

/**
 * Sends what the outbox holds, at least once: each node leases due deliveries (so nodes share the
 * work, and a node that dies mid-delivery only delays its lease), POSTs each with its fixed delivery
 * id, and records the outcome: delivered on a 2xx, else the next attempt after an exponential,
 * jittered delay, or failed once the retry time is spent. At most `concurrency` attempts run at once,
 * each bounded by the timeout, all off the request path: a slow receiver delays only its deliveries.
 */
export class DeliveryWorker {
  readonly #options: DeliveryWorkerOptions;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #stopping = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #claiming: Promise<void> | undefined;
  #again = false;

  constructor(options: DeliveryWorkerOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
  }

  start(): void {
    this.#timer = setInterval(() => this.nudge(), this.#options.timing.pollMs);
    this.#timer.unref();
    this.nudge();
  }

  /** Looks for due deliveries now (after a change on this node); a call while it looks makes it look once more. */
  nudge(): void {
    if (this.#stopping.signal.aborted) return;
    if (this.#claiming) {
      this.#again = true;
      return;
    }
    this.#claiming = this.#claim()
      .catch((error: unknown) => this.#options.onError?.(error))
      .finally(() => {
        this.#claiming = undefined;
        if (this.#again) {
          this.#again = false;
          this.nudge();
        }
      });
  }

  /** Stops claiming and abandons attempts in flight: their leases run out and another attempt follows. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#stopping.abort();
    await this.#claiming;
    await Promise.allSettled([...this.#inFlight]);
  }

  async #claim(): Promise<void> {
    const { concurrency, timing } = this.#options;
    while (!this.#stopping.signal.aborted && this.#inFlight.size < concurrency) {
      // The lease outlasts an attempt, so no other node starts the same delivery while this one runs.
      const due = await this.#options.metadata.claimDeliveries(this.#now(), timing.timeoutMs + 5_000, concurrency - this.#inFlight.size);
      if (due.length === 0) return;
      for (const delivery of due) {
        const attempt = this.#attempt(delivery).catch((error: unknown) => this.#options.onError?.(error)).finally(() => {
          this.#inFlight.delete(attempt);
          this.nudge();
        });
        this.#inFlight.add(attempt);
      }
    }
  }

  async #attempt(delivery: DeliveryRecord): Promise<void> {
    const outcome = await this.#send(delivery);
    if (this.#stopping.signal.aborted) return;
    const { metadata, timing, metrics } = this.#options;
    const now = this.#now();
    if (outcome === 'delivered') {
      await metadata.settleDelivery(delivery.id, { state: 'delivered', at: now });
      metrics?.deliveries.inc({ outcome: 'delivered', kind: delivery.kind });
      return;
    }
    const delay = Math.round(Math.min(timing.retryBaseMs * 2 ** delivery.attempts, timing.retryMaxMs) * (0.5 + this.#random()));
    if (outcome instanceof AddressRefused || now + delay > delivery.createdAt + timing.retryForMs) {
      await metadata.settleDelivery(delivery.id, { state: 'failed', at: now, error: String(outcome) });
      metrics?.deliveries.inc({ outcome: 'failed', kind: delivery.kind });
      this.#options.onFailed?.(delivery, String(outcome));
      return;
    }
    await metadata.settleDelivery(delivery.id, { state: 'pending', dueAt: now + delay, error: String(outcome) });
    metrics?.deliveries.inc({ outcome: 'retried', kind: delivery.kind });
    // Nudged when due, so a short delay does not wait for the next poll.
    setTimeout(() => this.nudge(), delay + 10).unref();
  }

  /** One attempt: 'delivered', or why not (an AddressRefused is not retried). */
  async #send(delivery: DeliveryRecord): Promise<'delivered' | Error> {
    let agent: Agent | undefined;
    try {
      // The operator's own hook may be anywhere; a user's webhook only where the guard allows.
      const checked = delivery.kind === 'webhook' ? (await this.#options.guard.resolve(delivery.address))[0] : undefined;
      const body = deliveryBody(delivery);
      const headers = await this.#headers(delivery, body);
      agent = checked && pinnedAgent(checked);
      const signal = AbortSignal.any([this.#stopping.signal, AbortSignal.timeout(this.#options.timing.timeoutMs)]);
      const response = await request(delivery.address, {
        method: 'POST', headers, body, signal, ...(agent && { dispatcher: agent }),
        headersTimeout: this.#options.timing.timeoutMs, bodyTimeout: this.#options.timing.timeoutMs,
      });
      await response.body.dump();
      // Redirects are not followed: a 3xx is a failed attempt, like any answer but a 2xx.
      return response.statusCode >= 200 && response.statusCode < 300 ? 'delivered' : new Error(`The receiver answered ${response.statusCode}`);
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    } finally {
      void agent?.destroy().catch(() => {});
    }
  }

  async #headers(delivery: DeliveryRecord, body: string): Promise<Record<string, string>> {
    if (delivery.kind === 'hook') {
      // The blocking hooks' format (events/operator-hook.ts).
      const timestamp = new Date(this.#now()).toISOString();
      const secret = this.#options.hookSecret;
      if (secret === undefined) throw new Error('The hook has no secret to sign with (PARTWAY_HOOK_SECRET)');
      return {
        'content-type': 'application/json', 'partway-hook-event': delivery.trigger, 'partway-hook-delivery-id': delivery.id,
        'partway-hook-timestamp': timestamp, 'partway-hook-signature': signDelivery(secret, body, timestamp),
      };
    }
    // Whole seconds: box-node-sdk refuses a timestamp even a fraction of a second ahead of its clock.
    const timestamp = new Date(Math.floor(this.#now() / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const ownerId = JSON.parse(delivery.facts).user.id as string;
    const keys = await this.#options.keys.keysOf(ownerId);
    return {
      'content-type': 'application/json; charset=utf-8',
      'box-delivery-id': delivery.id,
      'box-delivery-timestamp': timestamp,
      'box-signature-version': '1',
      'box-signature-algorithm': 'HmacSHA256',
      'box-signature-primary': signDelivery(keys.primary, body, timestamp),
      'box-signature-secondary': signDelivery(keys.secondary, body, timestamp),
    };
  }
}

/** A one-connection agent whose only address is the checked one: its DNS answer is the check's. */
function pinnedAgent(checked: CheckedAddress): Agent {
  return new Agent({
    connections: 1,
    connect: {
      lookup: ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
        if (options.all) callback(null, [{ address: checked.address, family: checked.family }]);
        else callback(null, checked.address, checked.family);
      }) as never,
    },
  });
}
