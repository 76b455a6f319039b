import type { FastifyRequest, FastifySchemaValidationError } from 'fastify';
import { BoxError, type BoxErrorCode } from '../core/errors.js';

/** Which part of the request failed its schema, as Fastify names it; `attributes` is a simple upload's field. */
type RequestPart = 'body' | 'headers' | 'params' | 'querystring' | 'attributes';

/**
 * A request that fails its route's schema (src/http/schemas.ts) gets the Box error code Box gives for
 * that field; any other field is a plain `bad_request`. A field sent as `null` counts as missing, as
 * in Box. Which field is reported when several are wrong is the schemas' order: Ajv stops at the
 * first failure (all errors would cost time in proportion to a hostile body, and the order is Box's).
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

/** The Ajv options the formatter relies on: no coercion ("300000" is not a size), the value that failed. */
export const VALIDATOR_OPTIONS = { coerceTypes: false, allErrors: false, verbose: true, allowUnionTypes: true } as const;

/** Fastify's `schemaErrorFormatter`: Ajv's (first) error for one part of the request, as a BoxError. */
export function boxErrorForSchema(errors: FastifySchemaValidationError[], part: RequestPart): BoxError {
  const error = errors[0];
  if (error === undefined) return new BoxError('bad_request', `The request's ${part} is not valid`);
  const missingProperty = error.keyword === 'required' ? String(error.params.missingProperty) : undefined;
  const path = missingProperty === undefined ? error.instancePath : `${error.instancePath}/${missingProperty}`;
  const field = path.split('/')[1];
  const known = FIELD_ERRORS.find((entry) => entry.part === part && entry.field === field);
  // A field's own failure, not one inside it (an entry of `parts`), unless the entry says so.
  if (known && (path === `/${field}` || known.within)) {
    const missing = missingProperty !== undefined || (error as { data?: unknown }).data === null;
    // Box's own words for these codes (src/core/errors.ts).
    return new BoxError(missing ? known.missing : known.invalid);
  }
  const where = `${part}${error.instancePath.replaceAll('/', '.')}`.replace(/^body/, 'The request body');
  return new BoxError('bad_request', `${where} ${error.message ?? 'is not valid'}`);
}

/** `value` as `schema` lets it through, for what the route reads itself (a multipart field). */
export function validated<T>(request: FastifyRequest, schema: object, value: unknown, part: RequestPart): T {
  const validate = request.compileValidationSchema(schema);
  if (validate(value)) return value as T;
  throw boxErrorForSchema(validate.errors ?? [], part);
}
