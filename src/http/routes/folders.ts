import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { paging, type PagingQuery } from '../parse.js';
import { presentFolder, presentItems } from '../present.js';
import { createFolderSchema, folderItemsSchema, folderSchema } from '../schemas.js';

type WithId = { Params: { id: string } };

/** The body as its schema (../schemas.ts) lets it through. */
interface CreateFolderBody { name: string; parent: { id: string | number } }

const ITEM_PAGING = { limit: 100, maxLimit: 1000, maxOffset: Number.MAX_SAFE_INTEGER };

/** Folders: the root is "0" for every user. */
export function folderRoutes(app: FastifyInstance, context: ApiContext): void {
  const { folders } = context;

  app.post<{ Body: CreateFolderBody }>('/folders', { schema: createFolderSchema }, async (request, reply) => {
    const { name, parent } = request.body;
    const folder = await folders.createFolder(request.user, String(parent.id), name);
    const path = await folders.pathOf(folder);
    return reply.code(201).send(presentFolder(folder, path, request.user, { total: 0, entries: [], offset: 0, limit: ITEM_PAGING.limit }));
  });

  app.get<WithId>('/folders/:id', { schema: folderSchema }, async (request) => {
    const folder = await folders.folder(request.user, request.params.id);
    const items = await folders.list(request.user, request.params.id, 0, ITEM_PAGING.limit);
    return presentFolder(folder, await folders.pathOf(folder), request.user, { ...items, offset: 0, limit: ITEM_PAGING.limit });
  });

  app.get<WithId & { Querystring: PagingQuery }>('/folders/:id/items', { schema: folderItemsSchema }, async (request) => {
    const { offset, limit } = paging(request.query, ITEM_PAGING);
    const items = await folders.list(request.user, request.params.id, offset, limit);
    return presentItems({ ...items, offset, limit });
  });
}
