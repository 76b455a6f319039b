import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ItemsQuery } from '../../core/folders.js';
import type { ApiContext } from '../context.js';
import { itemsQuery, requestedFields, withFields } from '../fields.js';
import { presentFolder, presentFolderOnly, presentItemFull, presentItemMini, presentItems } from '../present.js';
import { createFolderSchema, deleteFolderSchema, folderItemsSchema, folderSchema, updateFolderSchema } from '../schemas.js';
import { copyRoutes } from './copies.js';
import { trashRoutes } from './trash.js';
import { singleHeader } from '../parse.js';
import type { FolderRecord, ItemRecord } from '../../core/model.js';

type WithId = { Params: { id: string } };

/** The body as its schema (../schemas.ts) lets it through. */
interface CreateFolderBody { name: string; parent: { id: string | number } }
interface UpdateFolderBody { name?: string; parent?: { id: string | number } }

const ITEM_PAGING = { limit: 100, maxLimit: 1000 };

/** Folders: the root is "0" for every user. */
export function folderRoutes(app: FastifyInstance, context: ApiContext): void {
  const { folders } = context;

  app.post<{ Body: CreateFolderBody }>('/folders', { schema: createFolderSchema }, async (request, reply) => {
    const { name, parent } = request.body;
    const fields = requestedFields(request.query);
    const folder = await folders.createFolder(request.user, String(parent.id), name);
    const path = await folders.pathOf(folder);
    const items = { total: 0, entries: [], offset: 0, limit: ITEM_PAGING.limit };
    return reply.code(201).send(withFields(
      { ...presentFolderOnly(folder, path, request.user), item_collection: presentItems(items) },
      fields, presentFolder(folder, path, request.user, items)));
  });

  app.get<WithId>('/folders/:id', { schema: folderSchema }, async (request) => {
    const query = request.query as Record<string, unknown>;
    const fields = requestedFields(query);
    // The folder's first page of items, in the order asked for (Box's `sort`, `direction`, `offset`, `limit`).
    const wanted = itemsQuery({ ...query, usemarker: undefined, marker: undefined }, ITEM_PAGING);
    const folder = await folders.folder(request.user, request.params.id);
    const path = await folders.pathOf(folder);
    const itemsWanted = fields === undefined || fields.includes('item_collection');
    const collection = itemsWanted ? await itemsAnswer(request, folder, wanted, undefined) : undefined;
    const full = { ...presentFolderOnly(folder, path, request.user), ...(collection && { item_collection: presentItems(collection) }) };
    return withFields(full, fields, full);
  });

  app.put<WithId & { Body: UpdateFolderBody | null }>('/folders/:id', { schema: updateFolderSchema }, async (request) => {
    const query = request.query as Record<string, unknown>;
    const fields = requestedFields(query);
    const body = request.body ?? {};
    const folder = await folders.updateFolder(request.user, request.params.id, {
      name: body.name, parentId: body.parent && String(body.parent.id), ifMatch: singleHeader(request.headers['if-match'], 'If-Match'),
    });
    const path = await folders.pathOf(folder);
    const collection = fields === undefined || fields.includes('item_collection')
      ? await itemsAnswer(request, folder, itemsQuery({}, ITEM_PAGING), undefined) : undefined;
    const full = { ...presentFolderOnly(folder, path, request.user), ...(collection && { item_collection: presentItems(collection) }) };
    return withFields(full, fields, full);
  });

  app.delete<WithId & { Querystring: { recursive?: string } }>('/folders/:id', { schema: deleteFolderSchema }, async (request, reply) => {
    await folders.trash(request.user, 'folder', request.params.id, {
      recursive: request.query.recursive === 'true', ifMatch: singleHeader(request.headers['if-match'], 'If-Match'),
    });
    return reply.code(204).send();
  });

  app.get<WithId>('/folders/:id/items', { schema: folderItemsSchema }, async (request) => {
    const query = request.query as Record<string, unknown>;
    const fields = requestedFields(query);
    const wanted = itemsQuery(query, ITEM_PAGING);
    const folder = await folders.folder(request.user, request.params.id);
    return presentItems(await itemsAnswer(request, folder, wanted, fields));
  });

  // The trash and copies change folders' contents; registered here, they need no lines of their own in app.ts.
  trashRoutes(app, context);
  copyRoutes(app, context);

  /** A page of a folder's items, each in the shape `fields` asks for (the mini shape by default). */
  async function itemsAnswer(request: FastifyRequest, folder: FolderRecord, wanted: ItemsQuery, fields: string[] | undefined) {
    const page = await folders.listItems(request.user, folder.id, wanted);
    // Only the fuller shapes name each item's parent and path.
    const childPath = fields && [...await folders.pathOf(folder), folder];
    return {
      total: page.total, entries: page.entries, offset: wanted.offset ?? 0, limit: wanted.limit, order: wanted.order,
      nextMarker: wanted.useMarker ? page.nextMarker : undefined,
      present: childPath && ((item: ItemRecord) => withFields(presentItemFull(item, childPath, request.user), fields, presentItemMini(item))),
    };
  }
}
