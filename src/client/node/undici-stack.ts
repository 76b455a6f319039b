import { Agent, request, type Dispatcher } from 'undici';
import { AbortedError, NetworkError } from '../errors.js';
import type { HttpAnswer, HttpRequest, HttpStack } from '../http-stack.js';
import { boxApiError } from '../transport.js';

/**
 * Node's HttpStack: undici with a pool of kept-alive connections (parts go in parallel), generous
 * timeouts for big parts, and redirects left to the caller (a download link must not get the token).
 */
export class UndiciStack implements HttpStack {
  readonly followsRedirects = false;
  readonly dispatcher: Agent;
  readonly #userAgent: string;

  constructor(options: { connections?: number; userAgent?: string } = {}) {
    this.#userAgent = options.userAgent ?? 'partway-client';
    this.dispatcher = new Agent({ connections: options.connections ?? 64, keepAliveTimeout: 30_000, bodyTimeout: 300_000, headersTimeout: 300_000 });
  }

  async send(http: HttpRequest): Promise<HttpAnswer> {
    const response = await this.#request(http.method, http.url, http.headers, http.body, http.signal);
    let text = '';
    try {
      if (http.discardBody && response.statusCode < 400) await response.body.dump();
      else text = await response.body.text();
    } catch (error) {
      if (http.signal?.aborted) throw new AbortedError();
      throw new NetworkError(`${http.method} ${http.url}: the answer was cut short`, error);
    }
    return { status: response.statusCode, url: http.url, header: (name) => headerOf(response, name), text };
  }

  /** Opens a GET whose body the caller streams (a download); a refusal becomes BoxApiError. */
  async openStream(url: string, options: { headers: Record<string, string>; signal?: AbortSignal | undefined }): Promise<Dispatcher.ResponseData> {
    const response = await this.#request('GET', url, options.headers, undefined, options.signal);
    if (response.statusCode >= 400) {
      const text = await response.body.text().catch(() => '');
      throw boxApiError({ method: 'GET', url }, { status: response.statusCode, header: (name) => headerOf(response, name), text });
    }
    return response;
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  async #request(method: HttpRequest['method'], url: string, headers: Record<string, string>, body: HttpRequest['body'],
    signal: AbortSignal | undefined): Promise<Dispatcher.ResponseData> {
    try {
      // undici sends Blobs (it streams them) though its types do not say so.
      return await request(url, {
        method, headers: { 'user-agent': this.#userAgent, ...headers }, body: body as Dispatcher.RequestOptions['body'], signal, dispatcher: this.dispatcher,
      });
    } catch (error) {
      if (signal?.aborted) throw new AbortedError();
      throw new NetworkError(`${method} ${url}: ${(error as Error).message}`, error);
    }
  }
}

function headerOf(response: Dispatcher.ResponseData, name: string): string | undefined {
  const value = response.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
