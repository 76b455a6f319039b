import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { BoxError } from '../core/errors.js';
import { errorBody } from './errors.js';
import type { Metrics } from './metrics.js';

/**
 * Requests Node's HTTP parser refuses before any route sees them (an unknown method, a malformed
 * request line or path, control bytes or a bad or doubled Content-Length or Transfer-Encoding, headers
 * over the limit) get Box's error JSON and a `box-request-id` like every other answer, in place of
 * Fastify's `{"error":"Bad Request",...}`. The connection is closed after it, as Node and Fastify do:
 * the parser has lost its place in the stream.
 */
export function answerClientError(deps: { newRequestId: () => string; metrics: Metrics; logger: Logger | undefined }) {
  return (error: NodeJS.ErrnoException, socket: Socket): void => {
    // A reset connection has nobody left to answer.
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const boxError = boxErrorFor(error);
    deps.logger?.debug({ err: error }, 'request refused by the HTTP parser');
    // A response already under way on this connection (a pipelined request went bad): writing another
    // would corrupt it, so the connection just closes, as Node does.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) {
      const requestId = deps.newRequestId();
      deps.metrics.errors.inc({ code: boxError.code });
      const body = JSON.stringify(errorBody(boxError, requestId));
      socket.write(`HTTP/1.1 ${boxError.status} ${STATUS_TEXT[boxError.status] ?? 'Bad Request'}\r\n`
        + `box-request-id: ${requestId}\r\n`
        + 'content-type: application/json; charset=utf-8\r\n'
        + `content-length: ${Buffer.byteLength(body)}\r\n`
        + 'connection: close\r\n\r\n'
        + body);
    }
    socket.destroy(error);
  };
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

function boxErrorFor(error: NodeJS.ErrnoException): BoxError {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new BoxError('request_header_fields_too_large');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new BoxError('request_timeout');
    default:
      return new BoxError('bad_request', `The request is malformed HTTP: ${parserReason(error)}`);
  }
}

/** Node's own words for what it refused (`Invalid header value char`), without its internal code. */
function parserReason(error: NodeJS.ErrnoException): string {
  const reason = (error as { reason?: unknown }).reason;
  return typeof reason === 'string' && reason !== '' ? reason : error.message.replace(/^Parse Error: /, '');
}
