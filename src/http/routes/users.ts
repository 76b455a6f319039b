import type { FastifyInstance } from 'fastify';
import { presentUser } from '../present.js';
import { currentUserSchema } from '../schemas.js';

export function userRoutes(app: FastifyInstance): void {
  app.get('/users/me', { schema: currentUserSchema }, async (request) => presentUser(request.user));
}
