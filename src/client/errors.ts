import { isRetryableStatus } from './retry.js';

/**
 * Every failure of the client (Node and the web uploader alike) is one of these; `instanceof` and
 * `.kind` both tell them apart. No imports beyond the retry rules, no I/O.
 */
export class PartwayClientError extends Error {
  readonly kind: 'api' | 'network' | 'verification' | 'aborted' | 'usage' | 'changed';

  constructor(kind: PartwayClientError['kind'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.kind = kind;
  }
}

/** The server answered with an error (Box's ClientError body, when it sent one). */
export class BoxApiError extends PartwayClientError {
  readonly status: number;
  readonly code: string;
  /** The server's own message, without the request it answered. */
  readonly serverMessage: string;
  readonly requestId: string | undefined;
  readonly contextInfo: Record<string, unknown> | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(init: { status: number; code: string; message: string; requestId?: string | undefined;
    contextInfo?: Record<string, unknown> | undefined; retryAfterSeconds?: number | undefined; method: string; url: string }) {
    super('api', `${init.method} ${init.url} failed: ${init.status} ${init.code} - ${init.message}`
      + (init.requestId ? ` (request id ${init.requestId})` : ''));
    this.status = init.status;
    this.code = init.code;
    this.serverMessage = init.message;
    this.requestId = init.requestId;
    this.contextInfo = init.contextInfo;
    this.retryAfterSeconds = init.retryAfterSeconds;
  }

  /** Worth trying again: the server is busy or broken for now, not refusing the request. */
  get retryable(): boolean {
    return isRetryableStatus(this.status);
  }
}

/** The connection failed or broke before an answer arrived. */
export class NetworkError extends PartwayClientError {
  constructor(message: string, cause?: unknown) {
    super('network', message, { cause });
  }
}

/** What arrived or was stored is not what was sent: a SHA-1 or a size does not match. */
export class VerificationError extends PartwayClientError {
  constructor(message: string) {
    super('verification', message);
  }
}

/** The caller's AbortSignal stopped the work; an upload can be resumed. */
export class AbortedError extends PartwayClientError {
  constructor(message = 'The transfer was stopped') {
    super('aborted', message);
  }
}

/** The local file changed while it was being uploaded or resumed. */
export class SourceChangedError extends PartwayClientError {
  constructor(message: string) {
    super('changed', message);
  }
}

/** Whether another attempt may succeed: no answer arrived, or the server is busy or broken for now. */
export function isTransient(error: unknown): boolean {
  return error instanceof NetworkError || (error instanceof BoxApiError && error.retryable);
}
