import { Agent, request, type Dispatcher } from 'undici';
import { AbortedError, BoxApiError, NetworkError, PartwayClientError } from './errors.js';
import { boxErrorFields, parseJson, sleep as wait } from './answers.js';
import { DEFAULT_RETRY, retryAfterSeconds, retryDelayMs, type RetryPolicy } from './retry.js';

export { DEFAULT_RETRY, type RetryPolicy } from './retry.js';

export interface CallOptions {
  method: Dispatcher.HttpMethod;
  url: string;
  headers?: Record<string, string>;
  json?: unknown;
  /** A body that can be sent again on a retry (bytes, not a stream). */
  body?: Uint8Array | string;
  signal?: AbortSignal | undefined;
  /** Also retry these statuses (commit: 202 until the server has processed the parts). */
  retryStatuses?: readonly number[];
  /** Do not read a successful answer's body (it may be a whole file). */
  discardBody?: boolean;
}

export interface CallResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: any;
}

/**
 * HTTP for the client: bearer auth, Box errors turned into BoxApiError, and retries with exponential
 * backoff (honouring Retry-After) on network errors, 5xx and 429. Bodies are bytes so that a retry
 * sends exactly what the first attempt sent.
 */
export class Transport {
  readonly #token: string;
  readonly #retry: RetryPolicy;
  readonly dispatcher: Agent;
  readonly #userAgent: string;

  constructor(token: string, options: { retry?: RetryPolicy; connections?: number; userAgent?: string } = {}) {
    this.#token = token;
    this.#retry = options.retry ?? DEFAULT_RETRY;
    this.#userAgent = options.userAgent ?? 'partway-client';
    this.dispatcher = new Agent({ connections: options.connections ?? 64, keepAliveTimeout: 30_000, bodyTimeout: 300_000, headersTimeout: 300_000 });
  }

  /** One call, retried as the policy says; resolves with the final 2xx answer. */
  async call(options: CallOptions): Promise<CallResult> {
    for (let attempt = 1; ; attempt++) {
      let retryAfter: number | undefined;
      try {
        const result = await this.once(options);
        if (!options.retryStatuses?.includes(result.status)) return result;
        retryAfter = retryAfterSeconds(result.headers['retry-after']) ?? 1;
        if (attempt >= this.#retry.attempts) {
          throw new PartwayClientError('api', `${options.method} ${options.url} still answered ${result.status} after ${attempt} attempts`);
        }
      } catch (error) {
        const retryable = error instanceof NetworkError || (error instanceof BoxApiError && error.retryable);
        if (!retryable || attempt >= this.#retry.attempts) throw error;
        retryAfter = error instanceof BoxApiError ? error.retryAfterSeconds : undefined;
      }
      await sleep(retryDelayMs(this.#retry, attempt, retryAfter), options.signal);
    }
  }

  /** One attempt, no retry. */
  async once(options: CallOptions): Promise<CallResult> {
    if (options.signal?.aborted) throw new AbortedError();
    const headers: Record<string, string> = { authorization: `Bearer ${this.#token}`, 'user-agent': this.#userAgent, ...options.headers };
    let body = options.body;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    }
    let response: Dispatcher.ResponseData;
    try {
      response = await request(options.url, {
        method: options.method, headers, body, signal: options.signal, dispatcher: this.dispatcher,
      });
    } catch (error) {
      if (options.signal?.aborted) throw new AbortedError();
      throw new NetworkError(`${options.method} ${options.url}: ${(error as Error).message}`, error);
    }
    if (options.discardBody && response.statusCode < 400) {
      await response.body.dump();
      return { status: response.statusCode, headers: response.headers, json: undefined };
    }
    let text: string;
    try {
      text = await response.body.text();
    } catch (error) {
      if (options.signal?.aborted) throw new AbortedError();
      throw new NetworkError(`${options.method} ${options.url}: the answer was cut short`, error);
    }
    const json = parseJson(text);
    if (response.statusCode >= 400) throw apiError(options, response, json, text);
    return { status: response.statusCode, headers: response.headers, json };
  }

  /**
   * Opens a GET whose body the caller streams (a download). The bearer token is sent only when
   * `withToken` says so: download links on another origin are signed and must not receive it.
   */
  async openStream(url: string, options: { headers?: Record<string, string>; withToken: boolean; signal?: AbortSignal | undefined }): Promise<Dispatcher.ResponseData> {
    const headers: Record<string, string> = { 'user-agent': this.#userAgent, ...options.headers };
    if (options.withToken) headers.authorization = `Bearer ${this.#token}`;
    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, { method: 'GET', headers, signal: options.signal, dispatcher: this.dispatcher });
    } catch (error) {
      if (options.signal?.aborted) throw new AbortedError();
      throw new NetworkError(`GET ${url}: ${(error as Error).message}`, error);
    }
    if (response.statusCode >= 400) {
      const text = await response.body.text().catch(() => '');
      throw apiError({ method: 'GET', url }, response, parseJson(text), text);
    }
    return response;
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

}

function apiError(options: CallOptions, response: Dispatcher.ResponseData, json: any, text: string): BoxApiError {
  return new BoxApiError({
    status: response.statusCode,
    ...boxErrorFields(response.statusCode, json, text),
    retryAfterSeconds: retryAfterSeconds(response.headers['retry-after']),
    method: options.method,
    url: options.url,
  });
}

/** Waits, or rejects with AbortedError as soon as the signal fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return wait(ms, signal, () => new AbortedError());
}
