/**
 * The seam between the client and the platform's HTTP (undici in Node, `fetch` in the browser), like
 * tus-js-client's `httpStack`. A stack makes one attempt and reports what came back; the Transport
 * above it adds the token, Box's errors and the retries. No imports, no I/O of its own.
 */

/** Bodies the client sends: JSON text, a part's bytes (Node), a slice of a File (browser), a Blob. */
export type RequestBody = string | Uint8Array | Blob;

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  headers: Record<string, string>;
  body?: RequestBody | undefined;
  signal?: AbortSignal | undefined;
  /** Do not read a successful answer's body (it may be a whole file). */
  discardBody?: boolean | undefined;
}

export interface HttpAnswer {
  status: number;
  /** Where the answer came from: the request's URL, or where a followed redirect led. */
  url: string;
  header(name: string): string | undefined;
  /** The body as text ('' when discarded). */
  text: string;
}

export interface HttpStack {
  /** Whether a `3xx` is followed (`fetch`) rather than handed back with its `Location` (undici). */
  readonly followsRedirects: boolean;
  /**
   * One attempt. Rejects with AbortedError when the signal fired, NetworkError when no whole answer
   * arrived; any answer that did arrive, errors included, resolves.
   */
  send(request: HttpRequest): Promise<HttpAnswer>;
  /** Waits until another attempt is worth making (a browser that is offline waits to be online). */
  whenReachable?(signal: AbortSignal | undefined): Promise<void>;
}
