import type { FastifyInstance } from 'fastify';
import type { ListedPart } from '../../core/part-rules.js';
import { apiBase, publicBase, type ApiContext } from '../context.js';
import { setRetryAfter } from '../errors.js';
import { parseContentRange, parseSha1Digest } from '../../core/headers.js';
import { contentLength, optionalDate, paging, parsedOrError, singleHeader, type PagingQuery } from '../parse.js';
import { presentFile, presentPart, presentSession } from '../present.js';
import {
  abortSessionSchema, commitSchema, createSessionSchema, createVersionSessionSchema, listPartsSchema, logSessionEventSchema,
  sessionSchema, uploadPartSchema,
} from '../schemas.js';
import { requestedFields, withFields } from '../fields.js';

type WithId = { Params: { id: string } };

/** The bodies as their schemas (../schemas.ts) let them through. */
interface CreateSessionBody { folder_id: string | number; file_size: number; file_name: string }
interface CreateVersionSessionBody { file_size: number; file_name?: string | null }
interface CommitBody {
  parts: ListedPart[];
  attributes?: { content_created_at?: string | null; content_modified_at?: string | null; description?: string | null } | null;
}

/** Box's chunked upload API: ../shared/spec/BOX-API.md §3. */
export function uploadSessionRoutes(app: FastifyInstance, context: ApiContext): void {
  const { uploads, folders } = context;

  app.post<{ Body: CreateSessionBody }>('/files/upload_sessions', { schema: createSessionSchema }, async (request, reply) => {
    const { folder_id: folderId, file_size: fileSize, file_name: fileName } = request.body;
    const session = await uploads.create(request.user, { folderId: String(folderId), fileSize, fileName });
    return reply.code(201).send(presentSession(session, apiBase(request, context)));
  });

  app.post<WithId & { Body: CreateVersionSessionBody }>('/files/:id/upload_sessions', { schema: createVersionSessionSchema }, async (request, reply) => {
    const { file_size: fileSize, file_name: fileName } = request.body;
    const session = await uploads.createForVersion(request.user, request.params.id, { fileSize, fileName: fileName ?? undefined });
    return reply.code(201).send(presentSession(session, apiBase(request, context)));
  });

  app.get<WithId>('/files/upload_sessions/:id', { schema: sessionSchema }, async (request) => {
    const session = await uploads.get(request.user, request.params.id);
    return presentSession(session, apiBase(request, context));
  });

  app.put<WithId>('/files/upload_sessions/:id', { schema: uploadPartSchema }, async (request) => {
    const part = await uploads.uploadPart(request.user, request.params.id, {
      sha1: parsedOrError(parseSha1Digest, singleHeader(request.headers.digest, 'Digest')),
      range: parsedOrError(parseContentRange, singleHeader(request.headers['content-range'], 'Content-Range')),
      contentLength: contentLength(request.headers['content-length']),
    }, request.raw);
    context.metrics.bytesReceived.inc(part.size);
    return { part: presentPart(part) };
  });

  app.get<WithId & { Querystring: PagingQuery }>('/files/upload_sessions/:id/parts', { schema: listPartsSchema }, async (request) => {
    const { offset, limit } = paging(request.query, { limit: 1000, maxLimit: 1000, maxOffset: 10_000 });
    const page = await uploads.listParts(request.user, request.params.id, offset, limit);
    return { total_count: page.total, limit, offset, entries: page.entries.map(presentPart) };
  });

  app.post<WithId & { Body: CommitBody }>('/files/upload_sessions/:id/commit', { schema: commitSchema }, async (request, reply) => {
    const fields = requestedFields(request.query);
    const { parts, attributes } = request.body;
    const digest = singleHeader(request.headers.digest, 'Digest');
    const ifMatch = singleHeader(request.headers['if-match'], 'If-Match');
    const contentCreatedAt = optionalDate(attributes?.content_created_at, 'content_created_at');
    const contentModifiedAt = optionalDate(attributes?.content_modified_at, 'content_modified_at');
    const outcome = await uploads.commit(request.user, request.params.id, {
      sha1: parseSha1Digest(digest),
      ifMatch,
      // Only the fields Box defines: a client's extra keys go no further.
      parts: parts.map(({ part_id, offset, size, sha1 }) => ({ part_id, offset, size, sha1 })),
      contentCreatedAt,
      contentModifiedAt,
      description: attributes?.description ?? undefined,
      linkBase: publicBase(request, context),
    });
    if ('retryAfterSeconds' in outcome) {
      setRetryAfter(reply, outcome.retryAfterSeconds);
      return reply.code(202).send();
    }
    const full = presentFile(outcome.file, await folders.pathOf(outcome.file), request.user);
    return reply.code(201).send({ total_count: 1, entries: [withFields(full, fields, full)] });
  });

  app.delete<WithId>('/files/upload_sessions/:id', { schema: abortSessionSchema }, async (request, reply) => {
    await uploads.abort(request.user, request.params.id);
    return reply.code(204).send();
  });

  // Box's web uploader logs failures here before aborting; nothing to keep.
  app.post<WithId>('/files/upload_sessions/:id/log', { schema: logSessionEventSchema }, async (request, reply) => {
    await uploads.get(request.user, request.params.id);
    return reply.code(204).send();
  });
}
