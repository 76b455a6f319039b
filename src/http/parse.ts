import { BoxError, type BoxErrorCode } from '../core/errors.js';

/** Turning request JSON and query strings into typed values, with Box's error codes for each failure. */

export function jsonObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BoxError('bad_request', 'The request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

/** `offset` and `limit` as their schema (schemas.ts) lets them through: digits, or empty for the default. */
export interface PagingQuery {
  offset?: string;
  limit?: string;
}

/** Box's offset paging: `offset` at most `maxOffset`, `limit` clamped to `maxLimit` (as Box does). */
export function paging(query: PagingQuery, defaults: { limit: number; maxLimit: number; maxOffset: number }) {
  const offset = query.offset ? Number(query.offset) : 0;
  if (offset > defaults.maxOffset) throw new BoxError('invalid_offset', `The offset must not exceed ${defaults.maxOffset}`);
  const limit = query.limit ? Number(query.limit) : defaults.limit;
  if (limit === 0) throw new BoxError('invalid_limit', 'The limit must be at least 1');
  return { offset, limit: Math.min(limit, defaults.maxLimit) };
}

/** An optional RFC 3339 date-time from a JSON body, as epoch milliseconds. */
export function optionalDate(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)
    ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw new BoxError('bad_request', `${name} must be an RFC 3339 date-time such as 2017-04-08T00:58:08Z`);
  return ms;
}

/** A single-valued request header (a repeated one is refused rather than guessed at). */
export function singleHeader(value: string | string[] | undefined, name: string): string | undefined {
  if (Array.isArray(value)) throw new BoxError('bad_request', `The ${name} header must be sent once`);
  return value;
}

/**
 * A header's parsed value, or the BoxError it earns, for the core to throw once it has checked what
 * Box checks first (that the session exists).
 */
export function parsedOrError<T>(parse: (header: string | undefined) => T, header: string | undefined): T | BoxError {
  try {
    return parse(header);
  } catch (error) {
    if (error instanceof BoxError) return error;
    throw error;
  }
}

/** The declared body length; a huge one becomes a number that matches no range (and gets a 416 at once). */
export function contentLength(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  return /^[0-9]+$/.test(value) ? Number(value) : undefined;
}
