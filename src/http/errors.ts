import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { MetadataUnavailableError, StorageFullError } from '../core/store-errors.js';
import { BoxError, ItemConflictError, type BoxErrorCode } from '../core/errors.js';
import type { Metrics } from './metrics.js';
import { presentItemMini } from './present.js';

declare module 'fastify' {
  interface FastifyInstance {
    metrics?: Metrics;
  }
}

const HELP_URL = 'https://developer.box.com/guides/api-calls/permissions-and-errors/common-errors/';

/** Box's ClientError body. */
export function errorBody(error: BoxError, requestId: string) {
  const contextInfo = error instanceof ItemConflictError ? { conflicts: presentItemMini(error.item) } : error.contextInfo;
  return {
    type: 'error',
    status: error.status,
    code: error.code,
    message: error.message,
    context_info: contextInfo ?? null,
    help_url: HELP_URL,
    request_id: requestId,
  };
}

export function sendBoxError(reply: FastifyReply, error: BoxError): FastifyReply {
  reply.server.metrics?.errors.inc({ code: error.code });
  if (error.retryAfterSeconds !== undefined) setRetryAfter(reply, error.retryAfterSeconds);
  // A body left unread is discarded after the answer, or the connection closed (src/http/unread-body.ts).
  if (error.status === 401) reply.header('www-authenticate', 'Bearer realm="Partway", error="invalid_token"');
  return reply.code(error.status).type('application/json').send(errorBody(error, reply.request.id));
}

/**
 * Box clients look up `Retry-After` case-sensitively (../shared/spec/BOX-API.md §1.3); Fastify lower-cases
 * the header names it is given, so this one is set on the raw response, which keeps its case.
 */
export function setRetryAfter(reply: FastifyReply, seconds: number): void {
  reply.raw.setHeader('Retry-After', String(seconds));
}

/** Maps any error that reaches Fastify to a Box error; only the unexpected ones are 500s and logged as errors. */
export function handleError(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof BoxError) return sendBoxError(reply, error);
  if (error instanceof StorageFullError) {
    request.log.warn({ err: error }, 'storage full');
    return sendBoxError(reply, new BoxError('insufficient_storage', 'The server has no space left to store this content'));
  }
  if (error instanceof MetadataUnavailableError) {
    request.log.warn({ err: error }, 'metadata database unavailable');
    return sendBoxError(reply, new BoxError('unavailable', 'The metadata database is unavailable; try again shortly', { retryAfterSeconds: 5 }));
  }
  const fastifyCode = (error as FastifyError).code;
  const mapped = FASTIFY_ERRORS[fastifyCode ?? ''];
  if (mapped) return sendBoxError(reply, new BoxError(mapped, error.message));
  if (error instanceof SyntaxError || fastifyCode === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return sendBoxError(reply, new BoxError('bad_request', 'The request body is not valid JSON'));
  }
  if (clientWentAway(error, request)) {
    request.log.info({ err: error }, 'client went away before the request ended');
    return sendBoxError(reply, new BoxError('bad_request', 'The request body was cut short'));
  }
  const status = (error as FastifyError).statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    return sendBoxError(reply, new BoxError('bad_request', error.message));
  }
  request.log.error({ err: error }, 'request failed');
  return sendBoxError(reply, new BoxError('internal_server_error'));
}

const FASTIFY_ERRORS: Record<string, BoxErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'request_entity_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'bad_request',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'request_size_mismatch',
  FST_ERR_BAD_URL: 'bad_request',
  FST_ERR_MAX_PARAM_LENGTH: 'bad_request',
  FST_ERR_ASYNC_CONSTRAINT: 'bad_request',
};

/**
 * Only a body that never arrived in full can have been cut short. Node 20 destroys a request once its
 * body is read, so `destroyed` alone would also blame the client for a store failing afterwards; and a
 * store's own ECONNRESET (S3, PostgreSQL) must not pass for the client's.
 */
function clientWentAway(error: Error, request: FastifyRequest): boolean {
  if (request.raw.complete) return false;
  const code = (error as NodeJS.ErrnoException).code;
  return request.raw.destroyed || code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || error.message === 'aborted';
}
