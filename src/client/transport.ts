import { boxErrorFields, parseJson, sleep as wait } from './answers.js';
import { AbortedError, BoxApiError, isTransient, NetworkError, PartwayClientError } from './errors.js';
import type { HttpAnswer, HttpRequest, HttpStack, RequestBody } from './http-stack.js';
import { DEFAULT_RETRY, retryAfterSeconds, retryDelayMs, type RetryPolicy } from './retry.js';

export { DEFAULT_RETRY, type RetryPolicy } from './retry.js';

export interface CallOptions {
  method: HttpRequest['method'];
  url: string;
  headers?: Record<string, string>;
  json?: unknown;
  /** A body that can be sent again on a retry (bytes or a Blob, not a stream). */
  body?: RequestBody;
  signal?: AbortSignal | undefined;
  /** Also retry these statuses (commit: 202 until the server has processed the parts). */
  retryStatuses?: readonly number[];
  /** Do not read a successful answer's body (it may be a whole file). */
  discardBody?: boolean;
  /**
   * Called before retrying after a network error; throwing ends the retries. A body read from a
   * local file fails like a network error when the file changed, and retrying that is useless.
   */
  beforeRetry?: (() => Promise<void>) | undefined;
}

export interface CallResult {
  status: number;
  url: string;
  header(name: string): string | undefined;
  json: any;
}

export interface TransportOptions {
  retry?: RetryPolicy | undefined;
  /** Called on every 401 (the web page then asks for a new token). */
  onUnauthorized?: (() => void) | undefined;
}

/**
 * HTTP for both clients, over a platform's HttpStack: bearer auth, Box errors turned into
 * BoxApiError, and retries with exponential backoff (honouring Retry-After) on network errors, 5xx
 * and 429. Bodies are bytes or Blobs so that a retry sends exactly what the first attempt sent.
 */
export class Transport {
  readonly stack: HttpStack;
  readonly #token: string;
  readonly #retry: RetryPolicy;
  readonly #onUnauthorized: (() => void) | undefined;

  constructor(stack: HttpStack, token: string, options: TransportOptions = {}) {
    this.stack = stack;
    this.#token = token;
    this.#retry = options.retry ?? DEFAULT_RETRY;
    this.#onUnauthorized = options.onUnauthorized;
  }

  /** The header that proves who calls; only for the API's own origin, never for signed download links. */
  get authorization(): Record<string, string> {
    return { authorization: `Bearer ${this.#token}` };
  }

  /** One call, retried as the policy says; resolves with the final 2xx answer. */
  async call(options: CallOptions): Promise<CallResult> {
    for (let attempt = 1; ; attempt++) {
      let retryAfter: number | undefined;
      try {
        const result = await this.once(options);
        if (!options.retryStatuses?.includes(result.status)) return result;
        retryAfter = retryAfterSeconds(result.header('retry-after')) ?? 1;
        if (attempt >= this.#retry.attempts) {
          throw new PartwayClientError('api', `${options.method} ${options.url} still answered ${result.status} after ${attempt} attempts`);
        }
      } catch (error) {
        if (!isTransient(error) || attempt >= this.#retry.attempts) throw error;
        if (error instanceof NetworkError) await options.beforeRetry?.();
        retryAfter = error instanceof BoxApiError ? error.retryAfterSeconds : undefined;
      }
      await sleep(retryDelayMs(this.#retry, attempt, retryAfter), options.signal);
      await this.stack.whenReachable?.(options.signal);
    }
  }

  /** One attempt, no retry. */
  async once(options: CallOptions): Promise<CallResult> {
    if (options.signal?.aborted) throw new AbortedError();
    const headers: Record<string, string> = { ...options.headers, ...this.authorization };
    let body = options.body;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    }
    const answer = await this.stack.send({
      method: options.method, url: options.url, headers, body, signal: options.signal, discardBody: options.discardBody,
    });
    const json = parseJson(answer.text);
    if (answer.status >= 400) {
      if (answer.status === 401) this.#onUnauthorized?.();
      throw boxApiError(options, answer, json);
    }
    return { status: answer.status, url: answer.url, header: (name) => answer.header(name), json };
  }
}

/** A refusal as BoxApiError, with Box's fields when the body is Box's ClientError. */
export function boxApiError(request: Pick<HttpRequest, 'method' | 'url'>, answer: Pick<HttpAnswer, 'status' | 'header' | 'text'>,
  json: unknown = parseJson(answer.text)): BoxApiError {
  const fields = boxErrorFields(answer.status, json, answer.text);
  return new BoxApiError({
    status: answer.status,
    ...fields,
    requestId: fields.requestId ?? answer.header('box-request-id'),
    retryAfterSeconds: retryAfterSeconds(answer.header('retry-after')),
    method: request.method,
    url: request.url,
  });
}

/** Waits, or rejects with AbortedError as soon as the signal fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return wait(ms, signal, () => new AbortedError());
}
