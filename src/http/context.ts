import type { FastifyRequest } from 'fastify';
import type { Authenticator } from '../core/bearer-credentials.js';
import type { DownloadLinks } from '../core/download-links.js';
import type { Folders } from '../core/folders.js';
import type { Tokens } from '../core/tokens.js';
import type { UploadSessions } from '../core/upload-sessions.js';
import type { UserRecord } from '../core/model.js';
import type { Metrics } from './metrics.js';
import type { HealthChecks } from './routes/health.js';

/** What the routes reach: the core's services and the few settings that shape responses. */
export interface ApiContext {
  uploads: UploadSessions;
  folders: Folders;
  tokens: Tokens;
  /** Who a bearer credential is: Partway's tokens, and the identity provider's when one is configured. */
  credentials: Authenticator;
  links: DownloadLinks;
  maxFileSize: number;
  /** The base URL clients see (no trailing slash); derived from each request's Host when unset. */
  publicUrl: string | undefined;
  health: HealthChecks;
  metrics: Metrics;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated user; set for every route of the API. */
    user: UserRecord;
  }
}

/** The base URL this request was made to, as the client sees it. */
export function publicBase(request: FastifyRequest, context: ApiContext): string {
  return context.publicUrl ?? `${request.protocol}://${request.host}`;
}

/** The API base of this request: `/api/2.0` (Box's upload layout) or `/2.0`, on the public URL. */
export function apiBase(request: FastifyRequest, context: ApiContext): string {
  const prefix = request.url.startsWith('/api/2.0/') ? '/api/2.0' : '/2.0';
  return `${publicBase(request, context)}${prefix}`;
}
