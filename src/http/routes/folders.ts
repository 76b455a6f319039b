import type { FastifyInstance } from 'fastify';
import { BoxError } from '../../core/errors.js';
import type { ApiContext } from '../context.js';
import { jsonObject, paging } from '../parse.js';
import { presentFolder, presentItems } from '../present.js';

type WithId = { Params: { id: string } };

const ITEM_PAGING = { limit: 100, maxLimit: 1000, maxOffset: Number.MAX_SAFE_INTEGER };

/** Folders: the root is "0" for every user. */
export function folderRoutes(app: FastifyInstance, context: ApiContext): void {
  const { folders } = context;

  app.post('/folders', async (request, reply) => {
    const body = jsonObject(request.body);
    const parent = typeof body.parent === 'object' && body.parent !== null ? body.parent as Record<string, unknown> : {};
    if (typeof body.name !== 'string') throw new BoxError('bad_request', 'name is required');
    if (typeof parent.id !== 'string' && typeof parent.id !== 'number') throw new BoxError('bad_request', 'parent.id is required');
    const folder = await folders.createFolder(request.user, String(parent.id), body.name);
    const path = await folders.pathOf(folder);
    return reply.code(201).send(presentFolder(folder, path, request.user, { total: 0, entries: [], offset: 0, limit: ITEM_PAGING.limit }));
  });

  app.get<WithId>('/folders/:id', async (request) => {
    const folder = await folders.folder(request.user, request.params.id);
    const items = await folders.list(request.user, request.params.id, 0, ITEM_PAGING.limit);
    return presentFolder(folder, await folders.pathOf(folder), request.user, { ...items, offset: 0, limit: ITEM_PAGING.limit });
  });

  app.get<WithId>('/folders/:id/items', async (request) => {
    const { offset, limit } = paging(request.query as Record<string, unknown>, ITEM_PAGING);
    const items = await folders.list(request.user, request.params.id, offset, limit);
    return presentItems({ ...items, offset, limit });
  });
}
