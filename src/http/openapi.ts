import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';

/**
 * The OpenAPI description of every route, generated from the route schemas (src/http/schemas.ts)
 * that also validate the requests, and served at `/openapi.json` without a token.
 */
export function describeApi(app: FastifyInstance): void {
  app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Partway',
        description: 'Box\'s Chunked Upload API and the Box calls around it, self-hosted. Every error is Box\'s ClientError JSON.',
        version: '2.0',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  app.register(async (scope) => {
    scope.get('/openapi.json', { schema: { summary: 'This description' } }, async () => scope.swagger());
  });
}
