import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BoxError } from '../core/errors.js';

/**
 * Requests per token per minute (per node), answered the Box way: `429 rate_limit_exceeded` with a
 * Title-Case `Retry-After` (set by the error handler, which is why the plugin's own header is off).
 * Counted before authentication, so a flood of bad tokens is limited too (by address).
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

/** The token's id (not its secret) when the request carries one of ours, else the client's address. */
function rateKey(request: FastifyRequest): string {
  const header = request.headers.authorization;
  const tokenId = typeof header === 'string' ? /^Bearer +pw_([0-9a-f]{16})_/i.exec(header)?.[1] : undefined;
  return tokenId === undefined ? `address:${request.ip}` : `token:${tokenId}`;
}
