import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { presentUser } from '../present.js';
import { currentUserSchema } from '../schemas.js';

/** What Box reports as `space_amount` for an account without a limit. */
const UNLIMITED_SPACE = 999_999_999_999_999;

export function userRoutes(app: FastifyInstance, context: ApiContext): void {
  // rclone's `about` reads the space fields; the ContentUploader and SDKs read max_upload_size.
  app.get('/users/me', { schema: currentUserSchema }, async (request) => {
    const storage = await context.uploads.storage(request.user);
    return {
      ...presentUser(request.user),
      status: 'active',
      space_amount: storage.quota ?? UNLIMITED_SPACE,
      space_used: storage.used,
      max_upload_size: storage.maxFileSize,
    };
  });
}
