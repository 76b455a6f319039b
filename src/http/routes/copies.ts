import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { requestedFields, withFields } from '../fields.js';
import { presentItemFull } from '../present.js';
import { copyFileSchema, copyFolderSchema } from '../schemas.js';

/** The body as its schema (../schemas.ts) lets it through. */
interface CopyBody { parent: { id: string | number }; name?: string }

/** `POST /files/{id}/copy` and `POST /folders/{id}/copy`: a copy of a file shares its source's blob. */
export function copyRoutes(app: FastifyInstance, context: ApiContext): void {
  const { folders } = context;
  for (const type of ['file', 'folder'] as const) {
    app.post<{ Params: { id: string }; Body: CopyBody }>(`/${type}s/:id/copy`, { schema: type === 'file' ? copyFileSchema : copyFolderSchema },
      async (request, reply) => {
        const item = await folders.copy(request.user, type, request.params.id, { parentId: String(request.body.parent.id), name: request.body.name });
        const full = presentItemFull(item, await folders.pathOf(item), request.user);
        return reply.code(201).send(withFields(full, requestedFields(request.query), full));
      });
  }
}
