import { AbortedError, NetworkError } from '../../src/client/errors.js';
import type { HttpAnswer, HttpRequest, HttpStack } from '../../src/client/http-stack.js';

/**
 * The browser's HttpStack: `fetch`, which follows redirects (a download link's answer comes from the
 * link) and streams a File slice from disk. Before a retry it waits for the browser to be online.
 */
export class FetchStack implements HttpStack {
  readonly followsRedirects = true;

  /**
   * `apiOrigin` pins the token to the origin the user signed in to: an API URL the server names on
   * another origin (its `session_endpoints`, built on its listening address when it has no public URL)
   * is sent to the same path there instead, so the page never hands its token to another host.
   */
  constructor(readonly apiOrigin?: string) {}

  async send(request: HttpRequest): Promise<HttpAnswer> {
    const http = { ...request, url: this.#pinned(request.url) };
    // The page sends strings and Blobs; TypeScript's BodyInit only refuses bytes on a SharedArrayBuffer.
    const body = (http.body ?? null) as BodyInit | null;
    let response: Response;
    try {
      response = await fetch(http.url, {
        method: http.method, headers: http.headers, body, signal: http.signal ?? null,
        cache: 'no-store', credentials: 'omit', redirect: 'follow',
      });
    } catch (error) {
      if (http.signal?.aborted) throw new AbortedError();
      throw new NetworkError(`${http.method} ${http.url}: ${(error as Error).message}`, error);
    }
    let text: string;
    try {
      text = http.method === 'HEAD' ? '' : await response.text();
    } catch (error) {
      if (http.signal?.aborted) throw new AbortedError();
      throw new NetworkError(`${http.method} ${http.url}: the answer was cut short`, error);
    }
    return { status: response.status, url: response.url, header: (name) => response.headers.get(name) ?? undefined, text };
  }

  #pinned(url: string): string {
    if (this.apiOrigin === undefined) return url;
    const target = new URL(url, this.apiOrigin);
    if (target.origin === this.apiOrigin || !/^\/(api\/)?2\.0\//.test(target.pathname)) return url;
    return `${this.apiOrigin}${target.pathname}${target.search}`;
  }

  /** Resolves at once when the browser believes it is online, else when it comes back online. */
  whenReachable(signal: AbortSignal | undefined): Promise<void> {
    if (navigator.onLine) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => {
        window.removeEventListener('online', done);
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        window.removeEventListener('online', done);
        reject(new AbortedError());
      };
      window.addEventListener('online', done);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
