import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { awaitsContinue, refuseContinue } from './expect-continue.js';

export interface DiscardLimits {
  /** The longest body read and thrown away after its answer; a longer one closes the connection. */
  maxBytes: number;
  /** How long discarding may take before the connection is closed; 0 closes it instead. */
  timeoutMs: number;
}

/**
 * Lets an answer given before the request's body was read (a bad token, range or digest, another user's
 * session) reach clients that write their whole body before they read: Node's `fetch` and undici, so
 * box-node-sdk, and most HTTP libraries. Closing the connection with the body unread resets it, and such
 * a client sees `EPIPE`/`ECONNRESET` instead of the Box error, and retries a request that cannot succeed.
 *
 * So the rest of the body is read and thrown away while the answer goes out, and the connection is kept
 * for the next request, within `limits`: a body declared longer than `maxBytes` is answered with
 * `Connection: close` at once, and a connection still discarding after `maxBytes` or `timeoutMs` is cut.
 * The discarded bytes are counted nowhere and written nowhere. A client that stops sending once it has
 * the answer (curl) closes its end, which ends the discarding at once.
 */
export function discardUnreadBodies(app: FastifyInstance, limits: DiscardLimits): void {
  app.addHook('onRequest', async (request) => {
    // A handler that stops reading a body early (a part longer than its range, storage full) must leave
    // the rest to be discarded: by default the end of a `for await` destroys the request, and its socket.
    request.raw[Symbol.asyncIterator] = keepStreamOnReturn;
  });
  app.addHook('onSend', async (request, reply, payload) => {
    const raw = request.raw;
    if (!hasUnreadBody(request)) return payload;
    if (awaitsContinue(raw)) {
      // The client waits for a 100 that will not come, and sends nothing; Node closes the connection.
      refuseContinue(raw);
      return payload;
    }
    if (String(reply.getHeader('connection')).toLowerCase() === 'close') return payload;
    if (declaredLength(request) > limits.maxBytes || limits.timeoutMs === 0) {
      reply.header('connection', 'close');
      return payload;
    }
    discard(raw, limits);
    return payload;
  });
}

function keepStreamOnReturn(this: IncomingMessage): AsyncIterableIterator<Uint8Array> {
  return this.iterator({ destroyOnReturn: false });
}

/**
 * A body not read to its end: bytes still on their way, or bytes received and left in the request's
 * buffer, which would hold the socket paused and the connection's next request with it.
 */
function hasUnreadBody(request: FastifyRequest): boolean {
  const { headers, raw } = request;
  const hasBody = headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0;
  return hasBody && !raw.readableEnded && !raw.destroyed;
}

/** The declared Content-Length; a chunked body's length is unknown until it ends (0 here). */
function declaredLength(request: FastifyRequest): number {
  return Number(request.headers['content-length'] ?? 0);
}

function discard(raw: IncomingMessage, limits: DiscardLimits): void {
  let discarded = 0;
  const cut = () => {
    stop();
    raw.socket?.destroy();
  };
  const timer = setTimeout(cut, limits.timeoutMs);
  timer.unref();
  const count = (chunk: Buffer) => {
    discarded += chunk.byteLength;
    if (discarded > limits.maxBytes) cut();
  };
  const stop = () => {
    clearTimeout(timer);
    raw.off('data', count);
  };
  raw.on('data', count).once('end', stop).once('close', stop);
  raw.resume();
}
