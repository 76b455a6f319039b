import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Transform, type Readable, type Writable } from 'node:stream';

/**
 * The setting a server behind a FaultProxy needs: the proxy is a reverse proxy on loopback, trusted to
 * pass on the Host its clients used, so the links the server hands out lead back through it.
 */
export const BEHIND_FAULT_PROXY = { trustProxy: '127.0.0.1' } as const;

/** Which requests a rule applies to: a method and a pattern over the path (query included). */
export interface Match {
  method?: string;
  path?: RegExp;
}

/** What the proxy does to a matching request, for its first `times` matches (default: all of them). */
export interface FaultRule extends Match {
  times?: number;
  respond?: { status: number; headers?: Record<string, string>; body?: unknown };
  delayResponseMs?: number;
  throttle?: { chunkBytes: number; intervalMs: number };
  /** Forwards the request's body slowly, so the server has the request in flight for a while. */
  throttleRequest?: { chunkBytes: number; intervalMs: number };
  /** Forwards the request and lets the server answer, then cuts the client's connection instead of relaying it. */
  dropResponse?: boolean;
  /** Flips the bits of the answer's body byte at this offset (bytes arriving damaged). */
  corruptResponseAt?: number;
}

export interface RuleHandle {
  /** How many requests the rule has applied to so far. */
  readonly hits: number;
  remove(): void;
}

export interface ProxiedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  /** The status the client was sent (undefined while in flight or if the client went away first). */
  status: number | undefined;
  /** True if the proxy answered itself instead of forwarding. */
  injected: boolean;
  startedAt: number;
  endedAt: number | undefined;
}

interface ActiveRule extends FaultRule {
  hits: number;
}

/**
 * A real HTTP proxy on 127.0.0.1 in front of a Partway server, for tests: it streams bodies both ways,
 * keeps the client's Host header (so the absolute URLs the server builds from it lead back through
 * the proxy), records every request, counts what is in flight, and injects faults by rule.
 * `respond` answers without forwarding; `delayResponseMs` forwards at once but holds the server's
 * answer back; `throttle` and `throttleRequest` relay a body slowly.
 */
export class FaultProxy {
  readonly requests: ProxiedRequest[] = [];
  #target: URL;
  #server: Server;
  #agent = new Agent({ keepAlive: true });
  #rules: ActiveRule[] = [];
  /** Exchanges not finished on both sides (client answered or gone, server answered or cut off). */
  #active = 0;
  #idleWaiters: Array<() => void> = [];
  /** What the client sees in flight, per method, and the most seen at once since the last reset. */
  #inFlight = new Map<string, number>();
  #peak = new Map<string, number>();
  #url = '';

  private constructor(target: string) {
    this.#target = new URL(target);
    this.#server = createServer((req, res) => this.#handle(req, res));
  }

  static async start(target: string): Promise<FaultProxy> {
    const proxy = new FaultProxy(target);
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    proxy.#url = `http://127.0.0.1:${(proxy.#server.address() as AddressInfo).port}`;
    return proxy;
  }

  /** The proxy's base URL, e.g. http://127.0.0.1:41235. */
  get url(): string {
    return this.#url;
  }

  /** Forwards to another server from now on (e.g. one restarted on the same data directory). */
  setTarget(target: string): void {
    this.#target = new URL(target);
  }

  rule(rule: FaultRule): RuleHandle {
    const active: ActiveRule = { ...rule, hits: 0 };
    this.#rules.push(active);
    return {
      get hits() {
        return active.hits;
      },
      remove: () => {
        this.#rules = this.#rules.filter((entry) => entry !== active);
      },
    };
  }

  clearRules(): void {
    this.#rules = [];
  }

  /** Requests seen so far that match. */
  count(match: Match & { status?: number; injected?: boolean } = {}): number {
    return this.requests.filter((entry) => matches(match, entry.method, entry.url)
      && (match.status === undefined || entry.status === match.status)
      && (match.injected === undefined || entry.injected === match.injected)).length;
  }

  /** The most requests of this method the client had in flight at once since the last reset. */
  peakInFlight(method: string): number {
    return this.#peak.get(method) ?? 0;
  }

  resetPeaks(): void {
    this.#peak.clear();
  }

  /** Resolves once no exchange is in progress: every forwarded request has its answer or was cut off. */
  idle(): Promise<void> {
    if (this.#active === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#agent.destroy();
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const entry: ProxiedRequest = { method, url, headers: req.headers, status: undefined, injected: false, startedAt: Date.now(), endedAt: undefined };
    this.requests.push(entry);
    const rule = this.#rules.find((candidate) => matches(candidate, method, url) && (candidate.times === undefined || candidate.hits < candidate.times));
    if (rule) rule.hits++;

    // The exchange ends when both sides are done; the client's view ends when its answer is out.
    this.#active++;
    let clientDone = false;
    let serverDone = false;
    const settle = () => {
      if (!clientDone || !serverDone) return;
      if (--this.#active === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
    };
    const inFlight = (this.#inFlight.get(method) ?? 0) + 1;
    this.#inFlight.set(method, inFlight);
    this.#peak.set(method, Math.max(this.#peak.get(method) ?? 0, inFlight));
    res.on('close', () => {
      this.#inFlight.set(method, (this.#inFlight.get(method) ?? 1) - 1);
      entry.endedAt = Date.now();
      if (res.writableFinished) entry.status = res.statusCode;
      clientDone = true;
      settle();
    });
    const endServerSide = () => {
      if (serverDone) return;
      serverDone = true;
      settle();
    };

    if (rule?.respond) {
      entry.injected = true;
      const body = rule.respond.body === undefined ? ''
        : typeof rule.respond.body === 'string' ? rule.respond.body : JSON.stringify(rule.respond.body);
      // Read the request body off the socket first, as a server would.
      req.resume();
      req.on('end', () => {
        res.writeHead(rule.respond!.status, {
          ...(typeof rule.respond!.body === 'object' ? { 'content-type': 'application/json' } : {}),
          ...rule.respond!.headers,
        });
        res.end(body);
      });
      req.on('error', () => res.destroy());
      endServerSide();
      return;
    }

    const upstream = httpRequest({
      host: this.#target.hostname, port: this.#target.port, method, path: url,
      headers: req.headers, agent: this.#agent,
    });
    let answered = false;
    upstream.on('error', () => {
      if (res.destroyed) {
        // The client is gone already.
      } else if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end('proxy: upstream failed');
      } else {
        res.destroy();
      }
      endServerSide();
    });
    upstream.on('close', () => {
      if (!answered) endServerSide();
    });
    // A client that goes away mid-body: cut the server's request off too. One that sent its whole
    // body: let the server finish (and store what it got), and drop the answer.
    let answer: IncomingMessage | undefined;
    res.on('close', () => {
      if (res.writableFinished) return;
      if (answer) answer.destroy();
      else if (!req.complete) upstream.destroy();
    });
    if (rule?.throttleRequest) throttleInto(req, upstream, rule.throttleRequest);
    else req.pipe(upstream);

    upstream.on('response', (response) => {
      answered = true;
      answer = response;
      response.on('end', endServerSide);
      response.on('close', endServerSide);
      const relay = () => {
        if (res.destroyed || rule?.dropResponse) {
          response.resume();
          res.destroy();
          return;
        }
        res.writeHead(response.statusCode ?? 502, response.rawHeaders);
        const body = rule?.corruptResponseAt === undefined ? response : response.pipe(corruptAt(rule.corruptResponseAt));
        if (rule?.throttle) throttleInto(body, res, rule.throttle);
        else body.pipe(res);
      };
      if (rule?.delayResponseMs) {
        // Hold the answer (not reading it yet) and relay it later.
        setTimeout(relay, rule.delayResponseMs);
      } else {
        relay();
      }
    });
  }
}

function matches(match: Match, method: string, url: string): boolean {
  return (match.method === undefined || match.method === method) && (match.path === undefined || match.path.test(url));
}

/** Relays a body slowly: one chunk per interval; stops (and drops the rest) once either side is gone. */
function throttleInto(source: Readable, sink: Writable, throttle: { chunkBytes: number; intervalMs: number }): void {
  void (async () => {
    try {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        for (let offset = 0; offset < chunk.length; offset += throttle.chunkBytes) {
          if (sink.destroyed) throw new Error('the other side is gone');
          const piece = chunk.subarray(offset, offset + throttle.chunkBytes);
          if (!sink.write(piece)) await drained(sink);
          await new Promise((resolve) => setTimeout(resolve, throttle.intervalMs));
        }
      }
      sink.end();
    } catch {
      source.destroy();
      sink.destroy();
    }
  })();
}

function drained(sink: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      sink.off('drain', done).off('close', done);
      resolve();
    };
    sink.on('drain', done).on('close', done);
  });
}

/** A pass-through that flips one byte, at `offset` from the start of the body. */
function corruptAt(offset: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (offset >= seen && offset < seen + chunk.length) {
        chunk = Buffer.from(chunk);
        chunk[offset - seen] = chunk[offset - seen]! ^ 0xff;
      }
      seen += chunk.length;
      done(null, chunk);
    },
  });
}
