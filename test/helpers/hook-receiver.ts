import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One POST the operator's hook received, its signature already checked. */
export interface HookDelivery {
  event: string;
  headers: IncomingMessage['headers'];
  body: any;
}

export interface HookAnswer {
  status: number;
  body?: string;
  /** Milliseconds to wait before answering. */
  delayMs?: number;
}

/**
 * A hook receiver on 127.0.0.1, as an operator would run one: it checks each request's signature
 * with the shared secret (written here from the documented rule, not with the server's function),
 * records it, and answers as `answer` says (a test swaps it). A bad signature is answered 401 and
 * recorded in `badSignatures`.
 */
export class HookReceiver {
  readonly deliveries: HookDelivery[] = [];
  badSignatures = 0;
  answer: (delivery: HookDelivery) => Promise<HookAnswer> | HookAnswer = () => ({ status: 204 });
  readonly #server: Server;
  readonly #secret: string;

  private constructor(server: Server, secret: string) {
    this.#server = server;
    this.#secret = secret;
  }

  static async start(secret: string): Promise<HookReceiver> {
    const server = createServer();
    const receiver = new HookReceiver(server, secret);
    server.on('request', (request, response) => {
      void receiver.#handle(request).then(async (answer) => {
        if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
        if (response.destroyed) return;
        response.writeHead(answer.status, answer.body === undefined ? {} : { 'content-type': 'application/json' });
        response.end(answer.body);
      }, (error: unknown) => {
        response.writeHead(500).end(String(error));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hook`;
  }

  /** The deliveries of one event, oldest first. */
  of(event: string): HookDelivery[] {
    return this.deliveries.filter((delivery) => delivery.event === event);
  }

  async #handle(request: IncomingMessage): Promise<HookAnswer> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const timestamp = String(request.headers['partway-hook-timestamp']);
    const expected = createHmac('sha256', this.#secret).update(raw).update(timestamp).digest();
    const given = Buffer.from(String(request.headers['partway-hook-signature']), 'base64');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      this.badSignatures++;
      return { status: 401 };
    }
    const delivery = { event: String(request.headers['partway-hook-event']), headers: request.headers, body: JSON.parse(raw.toString('utf8')) };
    this.deliveries.push(delivery);
    return this.answer(delivery);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** A hook's refusal, as a receiver answers it. */
export function refuse(message: string, options: { abort?: boolean; status?: number } = {}): HookAnswer {
  return { status: options.status ?? 200, body: JSON.stringify({ allow: false, message, abort: options.abort ?? false }) };
}
