import type { FastifyInstance } from 'fastify';
import type { ItemRecord } from '../../core/model.js';
import type { ApiContext } from '../context.js';
import { requestedFields, withFields } from '../fields.js';
import { paging } from '../parse.js';
import { presentItemFull, presentItemMini, presentItems } from '../present.js';
import {
  purgeFileSchema, purgeFolderSchema, restoreFileSchema, restoreFolderSchema, trashedFileSchema, trashedFolderSchema, trashItemsSchema,
} from '../schemas.js';

type WithId = { Params: { id: string } };

/** The body as its schema (../schemas.ts) lets it through. */
interface RestoreBody { name?: string; parent?: { id: string | number } }

const TRASH_PAGING = { limit: 100, maxLimit: 1000, maxOffset: Number.MAX_SAFE_INTEGER };

/**
 * The trash: what `DELETE /files/{id}` and `DELETE /folders/{id}` put there, listed, shown, restored
 * (`POST` on the item) or deleted for good (`DELETE .../trash`).
 */
export function trashRoutes(app: FastifyInstance, context: ApiContext): void {
  const { folders } = context;

  app.get('/folders/trash/items', { schema: trashItemsSchema }, async (request) => {
    const query = request.query as { offset?: string; limit?: string };
    const fields = requestedFields(query);
    const { offset, limit } = paging(query, TRASH_PAGING);
    const page = await folders.listTrash(request.user, offset, limit);
    // A trashed item has left its folder: its path is empty.
    const present = (item: ItemRecord) => withFields(presentItemFull(item, [], request.user), fields, presentItemMini(item));
    return presentItems({ total: page.total, entries: page.entries, offset, limit, present });
  });

  for (const type of ['file', 'folder'] as const) {
    const base = `/${type}s/:id`;

    app.get<WithId>(`${base}/trash`, { schema: type === 'file' ? trashedFileSchema : trashedFolderSchema }, async (request) => {
      const item = await folders.trashed(request.user, type, request.params.id);
      const full = presentItemFull(item, [], request.user);
      return withFields(full, requestedFields(request.query), full);
    });

    app.post<WithId & { Body: RestoreBody | null }>(base, { schema: type === 'file' ? restoreFileSchema : restoreFolderSchema },
      async (request, reply) => {
        const body = request.body ?? {};
        const item = await folders.restore(request.user, type, request.params.id, { name: body.name, parentId: body.parent && String(body.parent.id) });
        const full = presentItemFull(item, await folders.pathOf(item), request.user);
        return reply.code(201).send(withFields(full, requestedFields(request.query), full));
      });

    app.delete<WithId>(`${base}/trash`, { schema: type === 'file' ? purgeFileSchema : purgeFolderSchema }, async (request, reply) => {
      await folders.deleteForGood(request.user, type, request.params.id);
      return reply.code(204).send();
    });
  }
}
