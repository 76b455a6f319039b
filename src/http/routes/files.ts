import type { FastifyInstance } from 'fastify';
import { BoxError } from '../../core/errors.js';
import { isItemId } from '../../core/ids.js';
import { publicBase, type ApiContext } from '../context.js';
import { readSimpleUpload } from '../multipart.js';
import { optionalDate, singleHeader } from '../parse.js';
import { presentFile, presentFileVersion } from '../present.js';
import { validated } from '../schema-errors.js';
import {
  deleteFileSchema, downloadFileSchema, fileSchema, simpleUploadAttributesSchema, simpleUploadSchema, simpleUploadVersionAttributesSchema,
  simpleUploadVersionSchema, updateFileSchema, fileVersionsSchema,
} from '../schemas.js';
import { requestedFields, withFields } from '../fields.js';

type WithId = { Params: { id: string } };

const VERSIONS_PAGE = 1000;

/** The body as its schema (../schemas.ts) lets it through. */
interface UpdateFileBody { name?: string; parent?: { id: string | number }; description?: string; content_modified_at?: string | null }

/** The `attributes` field as its schema (../schemas.ts) lets it through. */
interface SimpleUploadVersionAttributes { content_modified_at?: string | null }
interface SimpleUploadAttributes extends SimpleUploadVersionAttributes {
  parent: { id: string | number };
  name: string;
  content_created_at?: string | null;
}

/** Files: info, update (rename, move, description, content time), delete (to the trash), download (302 to a signed link, as Box does) and Box's simple upload. */
export function fileRoutes(app: FastifyInstance, context: ApiContext): void {
  const { folders, links } = context;

  app.get<WithId>('/files/:id', { schema: fileSchema }, async (request) => {
    const fields = requestedFields(request.query);
    const file = await folders.file(request.user, request.params.id);
    const full = presentFile(file, await folders.pathOf(file), request.user);
    return withFields(full, fields, full);
  });

  app.put<WithId & { Body: UpdateFileBody | null }>('/files/:id', { schema: updateFileSchema }, async (request) => {
    const fields = requestedFields(request.query);
    const body = request.body ?? {};
    const file = await folders.updateFile(request.user, request.params.id, {
      name: body.name, parentId: body.parent && String(body.parent.id), description: body.description,
      contentModifiedAt: optionalDate(body.content_modified_at, 'content_modified_at'),
      ifMatch: singleHeader(request.headers['if-match'], 'If-Match'),
    });
    const full = presentFile(file, await folders.pathOf(file), request.user);
    return withFields(full, fields, full);
  });

  app.get<WithId>('/files/:id/versions', { schema: fileVersionsSchema }, async (request) => {
    const file = await folders.file(request.user, request.params.id);
    const versions = await folders.previousVersions(request.user, file.id);
    // One page, Box's largest; files with more previous versions than that are not a Partway workload.
    const entries = versions.slice(0, VERSIONS_PAGE).map((version) => presentFileVersion(version, file, request.user));
    return { total_count: versions.length, entries, offset: 0, limit: VERSIONS_PAGE };
  });

  app.delete<WithId>('/files/:id', { schema: deleteFileSchema }, async (request, reply) => {
    await folders.trash(request.user, 'file', request.params.id, { recursive: false, ifMatch: singleHeader(request.headers['if-match'], 'If-Match') });
    return reply.code(204).send();
  });

  // The legacy SDK insists on a 302 here; every SDK follows it.
  app.get<WithId & { Querystring: { version?: string } }>('/files/:id/content', { schema: downloadFileSchema }, async (request, reply) => {
    const file = await folders.file(request.user, request.params.id);
    const versionId = request.query.version ?? file.versionId;
    if (!isItemId(versionId)) throw new BoxError('not_found', `Could not find version ${versionId}`);
    if (!(await folders.downloadable(file.id, versionId))) throw new BoxError('not_found', `Could not find version ${versionId}`);
    const token = links.sign({ fileId: file.id, versionId });
    return reply.redirect(`${publicBase(request, context)}/downloads/${token}`, 302);
  });

  app.post('/files/content', { schema: simpleUploadSchema }, async (request, reply) => {
    const answerFields = requestedFields(request.query);
    const file = await readSimpleUpload(request, (fields, stream) => {
      const attributes = validated<SimpleUploadAttributes>(request, simpleUploadAttributesSchema, fields, 'attributes');
      return folders.uploadFile(request.user, String(attributes.parent.id), {
        name: attributes.name, maxSize: context.maxFileSize, sha1: contentSha1(request.headers['content-md5']),
        contentCreatedAt: optionalDate(attributes.content_created_at, 'content_created_at'),
        contentModifiedAt: optionalDate(attributes.content_modified_at, 'content_modified_at'),
        linkBase: publicBase(request, context),
      }, stream);
    });
    context.metrics.bytesReceived.inc(file.size);
    const full = presentFile(file, await folders.pathOf(file), request.user);
    return reply.code(201).send({ total_count: 1, entries: [withFields(full, answerFields, full)] });
  });

  app.post<WithId>('/files/:id/content', { schema: simpleUploadVersionSchema }, async (request, reply) => {
    const answerFields = requestedFields(request.query);
    const file = await readSimpleUpload(request, (fields, stream) => {
      const attributes = validated<SimpleUploadVersionAttributes>(request, simpleUploadVersionAttributesSchema, fields, 'attributes');
      return folders.uploadVersion(request.user, request.params.id, {
        maxSize: context.maxFileSize, sha1: contentSha1(request.headers['content-md5']),
        ifMatch: singleHeader(request.headers['if-match'], 'If-Match'),
        contentModifiedAt: optionalDate(attributes.content_modified_at, 'content_modified_at'),
        linkBase: publicBase(request, context),
      }, stream);
    });
    return reply.code(201).send({ total_count: 1, entries: [presentFile(file, await folders.pathOf(file), request.user)] });
  });
}

/** Box's SDK sends the content's SHA-1 (hex) in a header it calls `Content-MD5`. */
function contentSha1(header: string | string[] | undefined): string | undefined {
  const value = singleHeader(header, 'Content-MD5')?.trim().toLowerCase();
  return value !== undefined && /^[0-9a-f]{40}$/.test(value) ? value : undefined;
}
