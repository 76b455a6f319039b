import type { FastifyInstance } from 'fastify';
import { presentUser } from '../present.js';

export function userRoutes(app: FastifyInstance): void {
  app.get('/users/me', async (request) => presentUser(request.user));
}
