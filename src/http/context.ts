import { isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';
import type { Applications } from '../core/applications.js';
import type { Authenticator } from '../core/bearer-credentials.js';
import type { DownloadLinks } from '../core/download-links.js';
import type { Folders } from '../core/folders.js';
import type { JwtGrant } from '../core/jwt-grant.js';
import type { Tokens } from '../core/tokens.js';
import type { UploadSessions } from '../core/upload-sessions.js';
import type { Webhooks } from '../core/webhooks.js';
import type { UserRecord } from '../core/model.js';
import type { Metrics } from './metrics.js';
import type { HealthChecks } from './routes/health.js';
import { unmapped } from './trusted-proxy.js';

/** What the routes reach: the core's services and the few settings that shape responses. */
export interface ApiContext {
  uploads: UploadSessions;
  folders: Folders;
  tokens: Tokens;
  /** OAuth 2.0 applications, which trade client credentials for tokens (`/oauth2/token`). */
  applications: Applications;
  /** Box's JWT grant: assertions signed by an application's key, traded for tokens (`/oauth2/token`). */
  jwtGrant: JwtGrant;
  /** Who a bearer credential is: Partway's tokens, and the identity provider's when one is configured. */
  credentials: Authenticator;
  links: DownloadLinks;
  /** Box's webhooks (V2), each user's own. */
  webhooks: Webhooks;
  maxFileSize: number;
  /** The base URL clients see (no trailing slash); when unset, see `publicBase`. */
  publicUrl: string | undefined;
  /** Whether a peer address is a configured proxy, whose `X-Forwarded-*` headers (and Host) are believed. */
  trustedProxy: (address: string | undefined) => boolean;
  health: HealthChecks;
  metrics: Metrics;
  /** Where a host app mounted the API (`/files`, src/fastify-plugin.ts); '' on Partway's own server. */
  mountPath?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated user; set for every route of the API. */
    user: UserRecord;
  }
}

/**
 * The base URL for links this server hands out (upload endpoints, download redirects); SDKs send the
 * bearer token to them. The configured public URL; else, behind a trusted proxy, what the proxy says
 * the client used; else the address the request came in on, never a Host header anyone could set.
 */
export function publicBase(request: FastifyRequest, context: ApiContext): string {
  return `${serverBase(request, context)}${context.mountPath ?? ''}`;
}

function serverBase(request: FastifyRequest, context: ApiContext): string {
  if (context.publicUrl !== undefined) return context.publicUrl;
  // With the proxy trusted, Fastify reads X-Forwarded-Proto and -Host (falling back to Host) for us.
  if (context.trustedProxy(request.socket.remoteAddress)) return `${request.protocol}://${request.host}`;
  // Otherwise the scheme is the socket's own: https when Partway serves TLS itself.
  return localBase(request.protocol, request.socket.localAddress, request.socket.localPort);
}

function localBase(scheme: string, address: string | undefined, port: number | undefined): string {
  const host = unmapped(address ?? '127.0.0.1');
  return `${scheme}://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/** The API base of this request: `/api/2.0` (Box's upload layout) or `/2.0`, on the public URL. */
export function apiBase(request: FastifyRequest, context: ApiContext): string {
  const prefix = request.url.startsWith(`${context.mountPath ?? ''}/api/2.0/`) ? '/api/2.0' : '/2.0';
  return `${publicBase(request, context)}${prefix}`;
}
