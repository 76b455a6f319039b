import type { FastifyInstance } from 'fastify';
import parseRange from 'range-parser';
import { BoxError } from '../../core/errors.js';
import type { Downloadable } from '../../core/folders.js';
import type { ApiContext } from '../context.js';
import { singleHeader } from '../parse.js';
import { downloadSchema } from '../schemas.js';

/**
 * The target of `GET /files/{id}/content`'s redirect: a signed, short-lived link to one file version,
 * served with single-range `Range` support. The signature is the permission, so no token is needed.
 * The same route serves the pre-commit hook's `content_url`: bytes not yet a file (`p.` tokens).
 */
export function downloadRoutes(app: FastifyInstance, context: ApiContext): void {
  app.get<{ Params: { token: string } }>('/downloads/:token', { schema: downloadSchema }, async (request, reply) => {
    const download = await downloadFor(context, request.params.token);
    if (!download) throw new BoxError('not_found', 'This download link is not valid or has expired');

    // The signature is the only credential, so any page may fetch the link (the web uploader follows
    // its redirect here cross-origin when it was opened by another name than the public URL).
    reply.header('access-control-allow-origin', '*')
      .header('access-control-expose-headers', 'content-length, content-range, content-disposition, etag, accept-ranges')
      .header('accept-ranges', 'bytes')
      .header('etag', `"${download.sha1}"`)
      .header('cache-control', 'private, max-age=0')
      .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(download.name)}`)
      .type('application/octet-stream');

    const rangeHeader = singleHeader(request.headers.range, 'Range');
    const ranges = rangeHeader === undefined || download.size === 0 ? -2 : parseRange(download.size, rangeHeader, { combine: true });
    if (ranges === -1) {
      reply.header('content-range', `bytes */${download.size}`);
      throw new BoxError('requested_range_not_satisfiable', `The file has ${download.size} bytes`);
    }
    // A malformed header or several ranges: answer with the whole file, as RFC 9110 allows.
    if (ranges === -2 || ranges.length !== 1) {
      reply.header('content-length', download.size);
      return reply.send(await download.open());
    }
    const { start, end } = ranges[0]!;
    reply.code(206).header('content-range', `bytes ${start}-${end}/${download.size}`).header('content-length', end - start + 1);
    return reply.send(await download.open({ start, end }));
  });
}

async function downloadFor(context: ApiContext, token: string): Promise<Downloadable | undefined> {
  const pending = context.links.verifyPending(token);
  if (pending) return context.uploads.pendingContent(pending);
  const grant = context.links.verify(token);
  return grant && context.folders.downloadable(grant.fileId, grant.versionId);
}
