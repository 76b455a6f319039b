import type { FastifyRequest, FastifySchemaValidationError } from 'fastify';
import { BoxError, type BoxErrorCode } from '../core/errors.js';

/** Which part of the request failed its schema, as Fastify names it; `attributes` is a simple upload's field. */
type RequestPart = 'body' | 'headers' | 'params' | 'querystring' | 'attributes';

/**
 * A request that fails its route's schema (src/http/schemas.ts) gets the Box error code Box gives for
 * that field; any other field is a plain `bad_request`. Fields are listed in the order Box checks
 * them: when several are wrong, the first one listed is the error (a bad `folder_id` before a missing
 * `file_size`). A field sent as `null` counts as missing, as in Box.
 */
const FIELD_ERRORS: ReadonlyArray<{
  part: RequestPart; field: string; missing: BoxErrorCode; invalid: BoxErrorCode;
  /** A failure inside the field (`parent.id`) is the field's too. */
  within?: boolean;
}> = [
  { part: 'body', field: 'folder_id', missing: 'missing_destination', invalid: 'invalid_folder_id' },
  { part: 'body', field: 'file_size', missing: 'missing_file_size', invalid: 'invalid_file_size' },
  { part: 'body', field: 'file_name', missing: 'missing_file_name', invalid: 'item_name_invalid' },
  { part: 'querystring', field: 'offset', missing: 'invalid_offset', invalid: 'invalid_offset' },
  { part: 'querystring', field: 'limit', missing: 'invalid_limit', invalid: 'invalid_limit' },
  { part: 'attributes', field: 'parent', missing: 'missing_destination', invalid: 'missing_destination', within: true },
  { part: 'attributes', field: 'name', missing: 'missing_file_name', invalid: 'missing_file_name' },
];

/** The Ajv options the formatter relies on: every error (to pick Box's first) with the value it saw. */
export const VALIDATOR_OPTIONS = { coerceTypes: false, allErrors: true, verbose: true, allowUnionTypes: true } as const;

/** Fastify's `schemaErrorFormatter`: Ajv's errors for one part of the request, as one BoxError. */
export function boxErrorForSchema(errors: FastifySchemaValidationError[], part: RequestPart): BoxError {
  const described = errors.map((error) => describe(error, part));
  // The request as a whole (not an object at all) comes first, then fields in Box's order.
  const first = described.reduce((best, next) => (next.rank < best.rank ? next : best));
  return new BoxError(first.code, first.message);
}

/** `value` as `schema` lets it through, for what the route reads itself (a multipart field). */
export function validated<T>(request: FastifyRequest, schema: object, value: unknown, part: RequestPart): T {
  const validate = request.compileValidationSchema(schema);
  if (validate(value)) return value as T;
  throw boxErrorForSchema(validate.errors ?? [], part);
}

function describe(error: FastifySchemaValidationError, part: RequestPart) {
  const missingProperty = error.keyword === 'required' ? String(error.params.missingProperty) : undefined;
  const path = missingProperty === undefined ? error.instancePath : `${error.instancePath}/${missingProperty}`;
  const field = path.split('/')[1];
  const message = `${part}${error.instancePath.replaceAll('/', '.')} ${error.message ?? 'is not valid'}`
    .replace(/^body /, 'The request body ');
  if (field === undefined) return { rank: -1, code: 'bad_request' as const, message };
  const index = FIELD_ERRORS.findIndex((entry) => entry.part === part && entry.field === field);
  const known = FIELD_ERRORS[index];
  // A field's own failure, not one inside it (a part of `parts`).
  const isField = path === `/${field}` || known?.within === true;
  if (!known || !isField) return { rank: index < 0 ? FIELD_ERRORS.length : index, code: 'bad_request' as const, message };
  const missing = missingProperty !== undefined || (error as { data?: unknown }).data === null;
  // Box's own words for these codes (src/core/errors.ts).
  return { rank: index, code: missing ? known.missing : known.invalid, message: undefined };
}
