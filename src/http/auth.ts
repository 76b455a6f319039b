import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BoxError } from '../core/errors.js';
import type { ApiContext } from './context.js';

/**
 * Every API route needs `Authorization: Bearer <token>`. Checking it is split in two so that the rate
 * limit can sit between: `identifyCaller` authenticates and remembers the outcome, the limit counts the
 * request (by who it is, else by address), and `refuseUnauthenticated` answers 401, still before any
 * body is read.
 */
export function identifyCaller(app: FastifyInstance, context: ApiContext): void {
  app.decorateRequest('user', null as never);
  app.decorateRequest('caller', null);
  app.addHook('onRequest', async (request) => {
    const header = request.headers.authorization;
    // Node keeps only the first of repeated Authorization headers; two credentials are refused outright.
    const repeated = request.raw.rawHeaders.filter((_value, index, all) => index % 2 === 0 && all[index]!.toLowerCase() === 'authorization').length > 1;
    const bearer = typeof header === 'string' && !repeated ? /^Bearer +(\S+) *$/i.exec(header)?.[1] : undefined;
    const user = bearer === undefined ? undefined : await context.credentials.authenticate(bearer);
    if (!user) return;
    request.user = user;
    // One of Partway's tokens is counted by its id; an identity provider's token by its user.
    const tokenId = /^pw_([0-9a-f]+)_/i.exec(bearer!)?.[1];
    request.caller = tokenId === undefined ? `user:${user.id}` : `token:${tokenId}`;
  });
}

/** Answers 401 to a request `identifyCaller` could not authenticate; in `preParsing`, after the rate limit. */
export function refuseUnauthenticated(app: FastifyInstance): void {
  app.addHook('preParsing', async (request: FastifyRequest) => {
    if (request.caller === null) throw new BoxError('unauthorized', 'Unauthorized: a valid bearer token is required');
  });
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Who an authenticated request is, for the rate limit (`token:<id>` or `user:<id>`); null when unauthenticated. */
    caller: string | null;
  }
}
