import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TestServer } from './partway.js';

export interface SeenRequest {
  method: string;
  url: string;
  /** Set once the answer went out in full. */
  status: number | undefined;
  done: boolean;
}

/**
 * Watches the requests a test server receives (by listening to its HTTP server's `request` event):
 * counts them, tells how many are in flight, and wakes waiters whenever something changes, so a test
 * can wait on server-side state ("8 parts stored") instead of sleeping.
 */
export class ServerWatch {
  seen: SeenRequest[] = [];
  #inFlight = 0;
  #peak = new Map<string, number>();
  #inFlightBy = new Map<string, number>();
  #waiters = new Set<() => void>();
  readonly #detach: () => void;

  constructor(server: TestServer) {
    const http = server.partway.app.server;
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      const entry: SeenRequest = { method: req.method ?? '', url: req.url ?? '', status: undefined, done: false };
      this.seen.push(entry);
      this.#inFlight++;
      const inFlight = (this.#inFlightBy.get(entry.method) ?? 0) + 1;
      this.#inFlightBy.set(entry.method, inFlight);
      this.#peak.set(entry.method, Math.max(this.#peak.get(entry.method) ?? 0, inFlight));
      this.#changed();
      res.on('close', () => {
        this.#inFlight--;
        this.#inFlightBy.set(entry.method, (this.#inFlightBy.get(entry.method) ?? 1) - 1);
        entry.done = true;
        if (res.writableFinished) entry.status = res.statusCode;
        this.#changed();
      });
    };
    http.on('request', onRequest);
    this.#detach = () => http.off('request', onRequest);
  }

  /** Requests seen since the last reset that match. */
  count(method?: string, path?: RegExp, status?: number): number {
    return this.seen.filter((entry) => (method === undefined || entry.method === method)
      && (path === undefined || path.test(entry.url)) && (status === undefined || entry.status === status)).length;
  }

  /** Parts the server answered 200 to since the last reset. */
  partsStored(): number {
    return this.count('PUT', /\/upload_sessions\/[0-9A-Fa-f]+$/, 200);
  }

  /** The upload session ids that parts were sent to, in order of first sight. */
  sessionIds(): string[] {
    const ids = this.seen
      .map((entry) => /\/upload_sessions\/([0-9A-Fa-f]+)(?:$|[/?])/.exec(entry.url)?.[1])
      .filter((id): id is string => id !== undefined);
    return [...new Set(ids)];
  }

  peakInFlight(method: string): number {
    return this.#peak.get(method) ?? 0;
  }

  reset(): void {
    this.seen = [];
    this.#peak.clear();
  }

  /** Resolves once `condition()` holds, checking again whenever a request starts or ends. */
  until(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error('ServerWatch.until: the condition did not come true in time'));
      }, timeoutMs);
      const check = () => {
        if (!condition()) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      this.#waiters.add(check);
    });
  }

  /** Resolves once no request is in flight on the server. */
  idle(): Promise<void> {
    return this.until(() => this.#inFlight === 0);
  }

  detach(): void {
    this.#detach();
  }

  #changed(): void {
    for (const check of [...this.#waiters]) check();
  }
}
