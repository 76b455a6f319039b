/**
 * The JSON Schemas of what the API takes: Fastify validates each request against its route's schema
 * before the handler runs (src/http/schema-errors.ts turns a failure into Box's error code), and
 * `/openapi.json` is generated from the same schemas. They check shapes only; the rules (a name Box
 * refuses, a size below the chunked minimum, an offset past the last part) stay in the core.
 *
 * Values are not coerced: `"file_size": "300000"` is Box's `invalid_file_size`, not a number.
 */

const SAFE_COUNT = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;

/** RFC 3339 with seconds and a zone, as Box writes dates (the route also checks the date exists). */
const DATE_TIME = {
  type: ['string', 'null'],
  pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$',
  description: 'RFC 3339, e.g. 2017-04-08T00:58:08Z',
} as const;

/** A query integer as sent: digits only (no sign, exponent or hex), empty for the default. */
const QUERY_COUNT = { type: 'string', pattern: '^[0-9]{0,15}$' } as const;

const WITH_ID = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } as const;

const PAGING = {
  type: 'object',
  properties: {
    offset: { ...QUERY_COUNT, description: 'The first entry to answer (default 0)' },
    limit: { ...QUERY_COUNT, description: 'How many entries to answer (clamped to 1000)' },
  },
} as const;

/** Single-valued headers the upload routes read; the core decides when one is required. */
const header = (description: string) => ({ type: 'string', description }) as const;
const DIGEST = header('sha=<base64 SHA-1> (RFC 3230); SHA= is accepted too');
const IF_MATCH = header('The etag the file must still have');

const FILE_NAME = { type: 'string', description: 'Checked against Box\'s name rules by the core' } as const;

/**
 * Box looks at these fields one after another and answers for the first one wrong (a bad `folder_id`
 * before a missing `file_size`), so each is its own step of an `allOf`: Ajv stops at the first step
 * that fails, where `required` beside `properties` would report any missing field first.
 */
function fieldsInOrder(...fields: Array<[name: string, schema: object]>) {
  return fields.map(([name, schema]) => ({ required: [name], properties: { [name]: schema } }));
}

export const createSessionSchema = {
  summary: 'Create an upload session for a new file',
  body: {
    type: 'object',
    allOf: fieldsInOrder(
      ['folder_id', { anyOf: [{ type: 'string', minLength: 1 }, SAFE_COUNT], description: 'The folder to upload into; "0" is the root' }],
      ['file_size', SAFE_COUNT],
      ['file_name', FILE_NAME],
    ),
  },
} as const;

export const createVersionSessionSchema = {
  summary: 'Create an upload session for a new version of a file',
  params: WITH_ID,
  body: {
    type: 'object',
    required: ['file_size'],
    properties: {
      file_size: SAFE_COUNT,
      file_name: { ...FILE_NAME, type: ['string', 'null'], description: 'A new name for the file' },
    },
  },
} as const;

export const sessionSchema = { summary: 'An upload session', params: WITH_ID } as const;
export const abortSessionSchema = { summary: 'Abort an upload session', params: WITH_ID } as const;
export const logSessionEventSchema = { summary: 'Box\'s web uploader logs failures here; nothing is kept', params: WITH_ID } as const;

export const uploadPartSchema = {
  summary: 'Upload a part',
  params: WITH_ID,
  headers: {
    type: 'object',
    properties: {
      'content-range': header('bytes <first>-<last>/<file size>'),
      digest: DIGEST,
    },
  },
} as const;

export const listPartsSchema = { summary: 'The parts uploaded to a session', params: WITH_ID, querystring: PAGING } as const;

const COMMITTED_PART = {
  type: 'object',
  required: ['offset', 'size'],
  properties: { part_id: { type: 'string' }, offset: SAFE_COUNT, size: SAFE_COUNT, sha1: { type: 'string' } },
} as const;

export const commitSchema = {
  summary: 'Commit an upload session',
  params: WITH_ID,
  headers: { type: 'object', properties: { digest: DIGEST, 'if-match': IF_MATCH } },
  body: {
    type: 'object',
    required: ['parts'],
    properties: {
      parts: { type: 'array', items: COMMITTED_PART },
      attributes: {
        type: ['object', 'null'],
        properties: { content_created_at: DATE_TIME, content_modified_at: DATE_TIME, description: { type: ['string', 'null'] } },
      },
    },
  },
} as const;

export const fileSchema = { summary: 'A file', params: WITH_ID } as const;

export const deleteFileSchema = {
  summary: 'Move a file to the trash',
  params: WITH_ID,
  headers: { type: 'object', properties: { 'if-match': IF_MATCH } },
} as const;

const PARENT = { type: 'object', required: ['id'], properties: { id: { type: ['string', 'number'] } } } as const;

/** Box's `PUT` on an item: each field is optional and an absent one stays as it is. */
const ITEM_CHANGES = {
  name: { ...FILE_NAME, description: 'A new name, checked against Box\'s name rules by the core' },
  parent: { ...PARENT, description: 'Moves the item into this folder ("0" is the root)' },
} as const;

export const updateFileSchema = {
  summary: 'Rename, move or describe a file, or set its content modification time',
  params: WITH_ID,
  headers: { type: 'object', properties: { 'if-match': IF_MATCH } },
  body: {
    type: ['object', 'null'],
    properties: { ...ITEM_CHANGES, description: { type: 'string' }, content_modified_at: DATE_TIME },
  },
} as const;

export const updateFolderSchema = {
  summary: 'Rename or move a folder (never into itself or a folder below it)',
  params: WITH_ID,
  headers: { type: 'object', properties: { 'if-match': header('The etag the folder must still have') } },
  body: { type: ['object', 'null'], properties: ITEM_CHANGES },
} as const;

export const deleteFolderSchema = {
  summary: 'Move a folder to the trash (with its items only with recursive=true)',
  params: WITH_ID,
  headers: { type: 'object', properties: { 'if-match': header('The etag the folder must still have') } },
  querystring: { type: 'object', properties: { recursive: { type: 'string', enum: ['true', 'false'] } } },
} as const;

export const trashItemsSchema = { summary: 'The items in the trash (those deleted themselves)', querystring: PAGING } as const;
export const trashedFileSchema = { summary: 'A file in the trash', params: WITH_ID } as const;
export const trashedFolderSchema = { summary: 'A folder in the trash', params: WITH_ID } as const;

const RESTORE_BODY = {
  type: ['object', 'null'],
  properties: {
    name: { ...FILE_NAME, description: 'A name to restore under, when the item\'s own is taken' },
    parent: { ...PARENT, description: 'A folder to restore into instead of the one it was deleted from' },
  },
} as const;

export const restoreFileSchema = { summary: 'Restore a file from the trash', params: WITH_ID, body: RESTORE_BODY } as const;
export const restoreFolderSchema = { summary: 'Restore a folder and its items from the trash', params: WITH_ID, body: RESTORE_BODY } as const;
export const purgeFileSchema = { summary: 'Delete a trashed file for good', params: WITH_ID } as const;
export const purgeFolderSchema = { summary: 'Delete a trashed folder and its items for good', params: WITH_ID } as const;

const COPY_BODY = {
  type: 'object',
  required: ['parent'],
  properties: {
    parent: { ...PARENT, description: 'The folder to copy into ("0" is the root)' },
    name: { ...FILE_NAME, description: 'The copy\'s name; by default the item\'s own' },
  },
} as const;

export const copyFileSchema = { summary: 'Copy a file (it shares the stored bytes)', params: WITH_ID, body: COPY_BODY } as const;
export const copyFolderSchema = { summary: 'Copy a folder with everything in it', params: WITH_ID, body: COPY_BODY } as const;

export const fileVersionsSchema = { summary: 'A file\'s previous versions, newest first (not the current one)', params: WITH_ID } as const;

export const downloadFileSchema = {
  summary: 'Download a file: a 302 to a signed link',
  params: WITH_ID,
  querystring: { type: 'object', properties: { version: { type: 'string', description: 'A file version id' } } },
} as const;

/**
 * Multipart bodies (an `attributes` JSON field, then the file) are read by the route as they stream;
 * it checks the attributes against the schemas below once they have arrived.
 */
export const simpleUploadSchema = { summary: 'Upload a small file in one multipart/form-data request', consumes: ['multipart/form-data'] } as const;
export const simpleUploadVersionSchema = { ...simpleUploadSchema, summary: 'Upload a new version of a file in one request', params: WITH_ID } as const;

export const simpleUploadAttributesSchema = {
  type: 'object',
  allOf: [
    ...fieldsInOrder(
      ['parent', { type: 'object', required: ['id'], properties: { id: { type: ['string', 'number'] } } }],
      ['name', FILE_NAME],
    ),
    { properties: { content_created_at: DATE_TIME, content_modified_at: DATE_TIME } },
  ],
} as const;

export const simpleUploadVersionAttributesSchema = { type: 'object', properties: { content_modified_at: DATE_TIME } } as const;

export const createFolderSchema = {
  summary: 'Create a folder',
  body: {
    type: 'object',
    required: ['name', 'parent'],
    properties: {
      name: FILE_NAME,
      parent: { type: 'object', required: ['id'], properties: { id: { type: ['string', 'number'] } } },
    },
  },
} as const;

export const folderSchema = { summary: 'A folder and its first items', params: WITH_ID } as const;
export const folderItemsSchema = { summary: 'The items of a folder', params: WITH_ID, querystring: PAGING } as const;
export const currentUserSchema = { summary: 'The user of the token' } as const;
export const downloadSchema = {
  summary: 'A signed download link (no token needed); serves single Range requests',
  params: { type: 'object', properties: { token: { type: 'string' } }, required: ['token'] },
  headers: { type: 'object', properties: { range: header('bytes=<first>-<last>') } },
} as const;
