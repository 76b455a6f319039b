import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  /** The body exactly as it arrived (signatures are over these bytes). */
  body: string;
  json: any;
}

/**
 * A webhook receiver on 127.0.0.1 that records every POST. `answer` picks each request's status
 * (200 by default); `delayMs` holds the answer back (a slow receiver).
 */
export class Receiver {
  readonly received: Received[] = [];
  answer: (request: Received, index: number) => number = () => 200;
  delayMs = 0;
  #server: Server | undefined;
  #waiters: Array<() => void> = [];

  async start(): Promise<string> {
    this.#server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(body);
        } catch {
          json = undefined;
        }
        const entry: Received = { headers: request.headers, body, json };
        const status = this.answer(entry, this.received.length);
        this.received.push(entry);
        for (const wake of this.#waiters.splice(0)) wake();
        setTimeout(() => response.writeHead(status).end(), this.delayMs);
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Resolves once `count` requests arrived; rejects after `timeoutMs`. */
  async waitFor(count: number, timeoutMs = 15_000): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      if (Date.now() > deadline) throw new Error(`${this.received.length} of ${count} deliveries arrived`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
    return this.received;
  }

  async close(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}

/** Waits `ms` (to see that nothing more arrives). */
export const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
