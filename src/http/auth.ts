import type { FastifyInstance } from 'fastify';
import { BoxError } from '../core/errors.js';
import type { ApiContext } from './context.js';

/** Every API route needs `Authorization: Bearer <token>`; checked before any body is read. */
export function requireBearerToken(app: FastifyInstance, context: ApiContext): void {
  app.decorateRequest('user', null as never);
  app.addHook('onRequest', async (request) => {
    const header = request.headers.authorization;
    // Node keeps only the first of repeated Authorization headers; two credentials are refused outright.
    const repeated = request.raw.rawHeaders.filter((_value, index, all) => index % 2 === 0 && all[index]!.toLowerCase() === 'authorization').length > 1;
    const match = typeof header === 'string' && !repeated ? /^Bearer +(\S+) *$/i.exec(header) : null;
    const user = match ? await context.credentials.authenticate(match[1]!) : undefined;
    if (!user) throw new BoxError('unauthorized', 'Unauthorized: a valid bearer token is required');
    request.user = user;
  });
}
