import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BoxError } from '../../core/errors.js';
import { publicBase, type ApiContext } from '../context.js';
import { jsonObject } from '../parse.js';

type WithId = { Params: { id: string } };

/**
 * Box's preflight check: `OPTIONS /files/content` (and `/files/{id}/content` for a new version) with
 * `{name, parent: {id}, size}` runs the checks an upload would, without uploading. rclone calls it
 * before each upload into a known folder (a 409's `context_info.conflicts` tells it the file to
 * update), Box's ContentUploader before every file. A browser's CORS preflight, which has
 * `Access-Control-Request-Method`, never reaches these routes (app.ts answers it first).
 */
export function preflightRoutes(app: FastifyInstance, context: ApiContext): void {
  const { uploads } = context;

  app.options('/files/content', async (request) => {
    const body = jsonObject(request.body ?? {});
    const parent = body.parent === undefined || body.parent === null ? {} : jsonObject(body.parent);
    if (typeof parent.id !== 'string' && typeof parent.id !== 'number') throw new BoxError('missing_destination', 'parent.id is required');
    if (typeof body.name !== 'string') throw new BoxError('missing_file_name', 'name is required');
    await uploads.preflightNewFile(request.user, { folderId: String(parent.id), fileName: body.name, fileSize: sizeOf(body.size) });
    return answer(request, '/files/content');
  });

  app.options<WithId>('/files/:id/content', async (request) => {
    const body = jsonObject(request.body ?? {});
    if (body.name !== undefined && body.name !== null && typeof body.name !== 'string') {
      throw new BoxError('item_name_invalid', 'name must be a string');
    }
    await uploads.preflightNewVersion(request.user, request.params.id, {
      fileName: (body.name ?? undefined) as string | undefined, fileSize: sizeOf(body.size),
    });
    return answer(request, `/files/${request.params.id}/content`);
  });

  /** Where to upload: always the upload layout (`/api/2.0`), which the ContentUploader takes the host of. */
  function answer(request: FastifyRequest, path: string) {
    return { upload_url: `${publicBase(request, context)}/api/2.0${path}`, upload_token: null };
  }
}

function sizeOf(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new BoxError('invalid_file_size', 'size must be a whole number of bytes');
  return value;
}
