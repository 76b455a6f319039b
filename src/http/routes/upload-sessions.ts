import type { FastifyInstance } from 'fastify';
import { BoxError } from '../../core/errors.js';
import type { ListedPart } from '../../core/part-rules.js';
import { apiBase, type ApiContext } from '../context.js';
import { setRetryAfter } from '../errors.js';
import { contentLength, isSafeCount, jsonObject, optionalDate, optionalString, paging, singleHeader } from '../parse.js';
import { presentFile, presentPart, presentSession } from '../present.js';

type WithId = { Params: { id: string } };

/** Box's chunked upload API: ../shared/spec/BOX-API.md §3. */
export function uploadSessionRoutes(app: FastifyInstance, context: ApiContext): void {
  const { uploads, folders } = context;

  app.post('/files/upload_sessions', async (request, reply) => {
    const body = jsonObject(request.body);
    const session = await uploads.create(request.user, {
      folderId: folderIdOf(body.folder_id),
      fileSize: fileSizeOf(body.file_size),
      fileName: fileNameOf(body.file_name, true)!,
    });
    return reply.code(201).send(presentSession(session, apiBase(request, context)));
  });

  app.post<WithId>('/files/:id/upload_sessions', async (request, reply) => {
    const body = jsonObject(request.body);
    const session = await uploads.createForVersion(request.user, request.params.id, {
      fileSize: fileSizeOf(body.file_size),
      fileName: fileNameOf(body.file_name, false),
    });
    return reply.code(201).send(presentSession(session, apiBase(request, context)));
  });

  app.get<WithId>('/files/upload_sessions/:id', async (request) => {
    const session = await uploads.get(request.user, request.params.id);
    return presentSession(session, apiBase(request, context));
  });

  app.put<WithId>('/files/upload_sessions/:id', async (request) => {
    const part = await uploads.uploadPart(request.user, request.params.id, {
      contentRange: singleHeader(request.headers['content-range'], 'Content-Range'),
      digest: singleHeader(request.headers.digest, 'Digest'),
      contentLength: contentLength(request.headers['content-length']),
    }, request.raw);
    context.metrics.bytesReceived.inc(part.size);
    return { part: presentPart(part) };
  });

  app.get<WithId>('/files/upload_sessions/:id/parts', async (request) => {
    const { offset, limit } = paging(request.query as Record<string, unknown>, { limit: 1000, maxLimit: 1000, maxOffset: 10_000 });
    const page = await uploads.listParts(request.user, request.params.id, offset, limit);
    return { total_count: page.total, limit, offset, entries: page.entries.map(presentPart) };
  });

  app.post<WithId>('/files/upload_sessions/:id/commit', async (request, reply) => {
    const body = jsonObject(request.body ?? {});
    const attributes = body.attributes === undefined || body.attributes === null ? {} : jsonObject(body.attributes);
    const outcome = await uploads.commit(request.user, request.params.id, {
      digest: singleHeader(request.headers.digest, 'Digest'),
      ifMatch: singleHeader(request.headers['if-match'], 'If-Match'),
      parts: partsOf(body.parts),
      contentCreatedAt: optionalDate(attributes.content_created_at, 'content_created_at'),
      contentModifiedAt: optionalDate(attributes.content_modified_at, 'content_modified_at'),
      description: optionalString(attributes.description, 'description'),
    });
    if ('retryAfterSeconds' in outcome) {
      setRetryAfter(reply, outcome.retryAfterSeconds);
      return reply.code(202).send();
    }
    const path = await folders.pathOf(outcome.file);
    return reply.code(201).send({ total_count: 1, entries: [presentFile(outcome.file, path, request.user)] });
  });

  app.delete<WithId>('/files/upload_sessions/:id', async (request, reply) => {
    await uploads.abort(request.user, request.params.id);
    return reply.code(204).send();
  });

  // Box's web uploader logs failures here before aborting; nothing to keep.
  app.post<WithId>('/files/upload_sessions/:id/log', async (request, reply) => {
    await uploads.get(request.user, request.params.id);
    return reply.code(204).send();
  });
}

function folderIdOf(value: unknown): string {
  if (value === undefined || value === null) throw new BoxError('missing_destination');
  if (typeof value === 'number' && isSafeCount(value)) return String(value);
  if (typeof value !== 'string' || value === '') throw new BoxError('invalid_folder_id');
  return value;
}

function fileSizeOf(value: unknown): number {
  if (value === undefined || value === null) throw new BoxError('missing_file_size');
  if (!isSafeCount(value)) throw new BoxError('invalid_file_size', 'file_size must be a whole number of bytes');
  return value;
}

function fileNameOf(value: unknown, required: boolean): string | undefined {
  if (value === undefined || value === null) {
    if (required) throw new BoxError('missing_file_name');
    return undefined;
  }
  if (typeof value !== 'string') throw new BoxError('item_name_invalid', 'file_name must be a string');
  return value;
}

function partsOf(value: unknown): ListedPart[] {
  if (!Array.isArray(value)) throw new BoxError('bad_request', 'The commit body must list the parts: {"parts": [...]}');
  return value.map((entry: unknown, index) => {
    const part = typeof entry === 'object' && entry !== null ? entry as Record<string, unknown> : {};
    if (!isSafeCount(part.offset) || !isSafeCount(part.size)
      || (part.part_id !== undefined && typeof part.part_id !== 'string')
      || (part.sha1 !== undefined && typeof part.sha1 !== 'string')) {
      throw new BoxError('bad_request', `parts[${index}] must be {part_id, offset, size, sha1} with integer offset and size`);
    }
    return { offset: part.offset, size: part.size, part_id: part.part_id as string | undefined, sha1: part.sha1 as string | undefined };
  });
}
