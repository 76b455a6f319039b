import type { FastifyInstance } from 'fastify';

/**
 * The web uploader at `/`: static files built from `web/` into `dist/web`. Until the front end is
 * built, `/` answers 404 like any unknown route.
 */
export function serveWebUploader(_app: FastifyInstance): void {}
