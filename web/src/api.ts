/**
 * The page's Box API: the client's shared BoxApi (src/client/box-api.ts) over `fetch`, on the
 * server's origin (or any server that speaks Box's API to a browser: same origin, or CORS allowed).
 * Errors are the client's (BoxApiError, NetworkError, ...); network errors, 429 and 5xx are retried
 * with backoff, honouring Retry-After, and wait for the browser to be back online.
 */

import { BoxApi } from '../../src/client/box-api.js';
import type { RetryPolicy } from '../../src/client/retry.js';
import { Transport } from '../../src/client/transport.js';
import { FetchStack } from './fetch-stack.js';

export { BoxApi } from '../../src/client/box-api.js';
export type { BoxFile, BoxFolder, BoxFolderDetails, BoxItem, BoxUser, UploadedPart, UploadSession } from '../../src/client/box-api.js';
export { AbortedError, BoxApiError, NetworkError, SourceChangedError, VerificationError } from '../../src/client/errors.js';

export function connect(options: { origin: string; token: string; retry?: RetryPolicy; onUnauthorized?: () => void }): BoxApi {
  const transport = new Transport(new FetchStack(new URL(options.origin).origin), options.token, { retry: options.retry, onUnauthorized: options.onUnauthorized });
  return new BoxApi(transport, { api: `${options.origin}/2.0`, upload: `${options.origin}/api/2.0` });
}
