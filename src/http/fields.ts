import { BoxError } from '../core/errors.js';
import type { ItemsQuery } from '../core/folders.js';
import type { ChildOrder } from '../core/model.js';
import { paging } from './parse.js';

/** The fields every item answer keeps whatever `fields` asks for (Box's base set). */
const BASE_FIELDS = ['type', 'id', 'etag'];

/** Box's `fields` query parameter: a comma-separated list; undefined when absent (the default shape). */
export function requestedFields(query: unknown): string[] | undefined {
  const raw = (query as Record<string, unknown> | undefined)?.fields;
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') throw new BoxError('bad_request', 'fields must be given once, as a comma-separated list');
  return raw.split(',').map((field) => field.trim()).filter((field) => field !== '');
}

/**
 * The answer Box gives for `fields`: only the fields asked for plus the base ones, taken from the
 * item's full shape; fields this server does not know are left out rather than invented.
 */
export function withFields<T extends Record<string, unknown>>(full: T, fields: string[] | undefined, fallback: Record<string, unknown>) {
  if (fields === undefined) return fallback;
  const chosen: Record<string, unknown> = {};
  for (const field of [...BASE_FIELDS, ...fields]) if (field in full) chosen[field] = full[field];
  return chosen;
}

const SORTS = ['id', 'name', 'date', 'size'] as const;

/** `sort` and `direction` of a folder's items (Box's default: folders first, then by name). */
export function itemOrder(query: Record<string, unknown>): ChildOrder {
  const sort = query.sort ?? 'name';
  const direction = typeof query.direction === 'string' ? query.direction.toUpperCase() : query.direction ?? 'ASC';
  if (!SORTS.includes(sort as ChildOrder['by'])) throw new BoxError('invalid_parameter', `sort must be one of ${SORTS.join(', ')}`);
  if (direction !== 'ASC' && direction !== 'DESC') throw new BoxError('invalid_parameter', 'direction must be ASC or DESC');
  return { by: sort as ChildOrder['by'], direction };
}

/** A folder's items query: offset paging, or marker paging with `usemarker=true` (or a `marker`). */
export function itemsQuery(query: Record<string, unknown>, defaults: { limit: number; maxLimit: number }): ItemsQuery {
  const order = itemOrder(query);
  const { marker, usemarker } = query;
  if (marker !== undefined && typeof marker !== 'string') throw new BoxError('invalid_parameter', 'marker must be given once');
  if (usemarker !== undefined && usemarker !== 'true' && usemarker !== 'false') {
    throw new BoxError('invalid_parameter', 'usemarker must be true or false');
  }
  const useMarker = usemarker === 'true' || (marker !== undefined && marker !== '');
  const { offset, limit } = paging(useMarker ? { limit: query.limit } : query, { ...defaults, maxOffset: Number.MAX_SAFE_INTEGER });
  return { order, limit, offset, useMarker, marker: marker === '' ? undefined : marker };
}
