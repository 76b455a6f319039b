import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BoxError } from '../core/errors.js';

/**
 * Requests per token per minute (per node), answered the Box way: `429 rate_limit_exceeded` with a
 * Title-Case `Retry-After` (set by the error handler, which is why the plugin's own header is off).
 * Registered once around both API prefixes, so `/2.0` and `/api/2.0` share one budget. It runs after
 * `identifyCaller` and before the 401, so a flood of bad tokens is limited too (by address), and a bad
 * secret for a known token id is charged to its sender's address, never to that token.
 */
export async function limitRequestRate(app: FastifyInstance, perMinute: number): Promise<void> {
  await app.register(rateLimit, {
    max: perMinute,
    timeWindow: 60_000,
    hook: 'onRequest',
    keyGenerator: rateKey,
    addHeaders: { 'x-ratelimit-limit': true, 'x-ratelimit-remaining': true, 'x-ratelimit-reset': true, 'retry-after': false },
    errorResponseBuilder: (_request, context) => new BoxError('rate_limit_exceeded', undefined, {
      retryAfterSeconds: Math.max(1, Math.ceil(context.ttl / 1000)),
    }),
  });
}

/** Who authenticated the request (`identifyCaller`), else the client's address. */
function rateKey(request: FastifyRequest): string {
  return request.caller ?? `address:${request.ip}`;
}
