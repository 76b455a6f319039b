import type { FastifyRequest } from 'fastify';

/**
 * A signed download link is itself the credential (`/downloads/<file>.<version>.<expiry>.<signature>`):
 * access logs keep which file was fetched and until when, not the signature that would let a log
 * reader fetch it too.
 */
export function redactUrl(url: string): string {
  return url.replace(/^(\/downloads\/[^/?#]*\.)[^./?#]+/, '$1[redacted]');
}

/** Fastify's own request serializer, with the URL redacted. */
export function serializeRequest(request: FastifyRequest) {
  return {
    method: request.method,
    url: redactUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}
