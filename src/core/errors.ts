import { StorageFullError } from './store-errors.js';
import type { ItemRecord, PartRecord } from './model.js';

/**
 * Every error Partway can answer, in one table.
 *
 * The status belongs to the code because that pairing is part of Box's contract: a client branches
 * on `code`, and the SDKs branch on the status. The HTTP layer turns a BoxError into Box's ClientError
 * JSON; nothing else in the server invents a status.
 */
export const BOX_ERRORS = {
  // 400
  bad_request: { status: 400, message: 'The request is malformed' },
  invalid_upload_session_id: { status: 400, message: 'The upload session ID provided in the URL is not of a valid format' },
  invalid_parameter: { status: 400, message: 'A parameter in the request is invalid' },
  missing_destination: { status: 400, message: 'A folder_id must be given' },
  invalid_folder_id: { status: 400, message: 'The folder_id is not valid' },
  missing_file_name: { status: 400, message: 'A file_name must be given' },
  missing_file_size: { status: 400, message: 'A file_size must be given' },
  invalid_file_size: { status: 400, message: 'The file_size is not a valid number of bytes' },
  file_size_too_small: { status: 400, message: 'The file is too small for a chunked upload' },
  item_name_invalid: { status: 400, message: 'Item name invalid' },
  item_name_too_long: { status: 400, message: 'Item name too long' },
  cyclical_folder_structure: { status: 400, message: 'A folder cannot be moved into itself or a folder below it' },
  digest_mismatch: { status: 400, message: 'The digest of the content does not match the Digest header' },
  parts_mismatch: { status: 400, message: 'The parts do not match the parts uploaded to the session' },
  invalid_limit: { status: 400, message: 'The limit parameter is not valid' },
  invalid_offset: { status: 400, message: 'The offset parameter is not valid' },
  metadata_after_file_contents: { status: 400, message: 'The attributes part must come before the file part' },
  request_size_mismatch: { status: 400, message: 'The request body size does not match its Content-Length' },
  // 401, 403, 404, 405
  unauthorized: { status: 401, message: 'Unauthorized' },
  storage_limit_exceeded: { status: 403, message: 'Account storage limit reached' },
  file_size_limit_exceeded: { status: 403, message: 'The file is larger than the maximum file size allowed' },
  access_denied_insufficient_permissions: { status: 403, message: 'Access denied - insufficient permission' },
  // Not a documented Box code: Box publishes no limit on open sessions. Named in Box's style.
  upload_session_limit_exceeded: { status: 403, message: 'Too many upload sessions are open' },
  // Box's code for an operation a policy blocks; here the operator's hook (src/core/upload-gate.ts).
  forbidden_by_policy: { status: 403, message: 'The server\'s upload policy refused this request' },
  not_found: { status: 404, message: 'Not Found' },
  trashed: { status: 404, message: 'Item is trashed' },
  method_not_allowed: { status: 405, message: 'Method Not Allowed' },
  // Not Box codes: Node's HTTP parser answers these before any route (src/http/client-errors.ts).
  request_timeout: { status: 408, message: 'The request did not arrive in time' },
  request_header_fields_too_large: { status: 431, message: 'The request headers are larger than the server accepts' },
  // 409, 410, 412, 413
  item_name_in_use: { status: 409, message: 'Item with the same name already exists' },
  conflict: { status: 409, message: 'The request conflicts with the current state of the resource' },
  folder_not_empty: { status: 409, message: 'The folder is not empty' },
  session_expired: { status: 410, message: 'The upload session has expired and can no longer be accessed' },
  precondition_failed: { status: 412, message: 'The resource has been modified. Retrieve the resource again and retry' },
  request_entity_too_large: { status: 413, message: 'The request body is too large' },
  unsupported_media_type: { status: 415, message: 'The Content-Type of the request is not supported' },
  // 416
  requested_range_not_satisfiable: { status: 416, message: 'The Content-Range does not match a range of this session' },
  range_overlaps_existing_part: { status: 416, message: 'The range overlaps a part already uploaded to this session' },
  // 429, 5xx
  rate_limit_exceeded: { status: 429, message: 'Request rate limit exceeded, please try again later' },
  internal_server_error: { status: 500, message: 'Internal Server Error' },
  unavailable: { status: 503, message: 'The service is temporarily unavailable, please try again later' },
  insufficient_storage: { status: 507, message: 'The server has no space left to store the content' },
} as const satisfies Record<string, { status: number; message: string }>;

export type BoxErrorCode = keyof typeof BOX_ERRORS;

export interface BoxErrorOptions {
  /** Free-form details Box puts in `context_info` (e.g. `conflicts`, `conflicting_part`). */
  contextInfo?: Record<string, unknown>;
  /** Seconds a client should wait before retrying; sent as `Retry-After`. */
  retryAfterSeconds?: number;
  cause?: unknown;
}

/** An error with a Box error code: the only kind of error a request may end with on purpose. */
export class BoxError extends Error {
  readonly code: BoxErrorCode;
  readonly status: number;
  readonly contextInfo: Record<string, unknown> | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: BoxErrorCode, message?: string, options: BoxErrorOptions = {}) {
    super(message ?? BOX_ERRORS[code].message, { cause: options.cause });
    this.name = 'BoxError';
    this.code = code;
    this.status = BOX_ERRORS[code].status;
    this.contextInfo = options.contextInfo;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export function isBoxError(error: unknown): error is BoxError {
  return error instanceof BoxError;
}

/** 409 `item_name_in_use`: the item already holding the name goes to `context_info.conflicts`. */
export class ItemConflictError extends BoxError {
  readonly item: ItemRecord;

  constructor(item: ItemRecord) {
    super('item_name_in_use');
    this.item = item;
  }
}

/** 416 `range_overlaps_existing_part`: the stored part goes to `context_info.conflicting_part`. */
export class PartOverlapError extends BoxError {
  readonly part: PartRecord;

  constructor(part: PartRecord) {
    super('range_overlaps_existing_part', undefined, {
      contextInfo: { conflicting_part: { part_id: part.partId, offset: part.offset, size: part.size, sha1: part.sha1 } },
    });
    this.part = part;
  }
}

/** Turns the blob store's "no space left" into Box's 507; anything else passes unchanged. */
export function rethrowStorageFull(error: unknown): never {
  if (error instanceof StorageFullError) {
    throw new BoxError('insufficient_storage', 'The server has no space left to store this content', { cause: error });
  }
  throw error;
}
