/**
 * When to retry and how long to wait, shared by the Node client and the web uploader (no imports, no
 * I/O): network errors, 429 and 5xx are retried with exponential backoff and jitter, or after the
 * server's Retry-After when it sends one.
 */

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 8, baseDelayMs: 500, maxDelayMs: 30_000 };

/** Statuses worth trying again: the server is busy or broken for now, not refusing the request. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status !== 501 && status !== 507);
}

/** A Retry-After header (seconds or an HTTP date) in seconds, or undefined. */
export function retryAfterSeconds(header: string | readonly string[] | null | undefined): number | undefined {
  const value = typeof header === 'string' ? header : header?.[0];
  if (value === undefined) return undefined;
  if (/^[0-9]+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/** How long to wait before attempt `attempt + 1`. */
export function retryDelayMs(policy: RetryPolicy, attempt: number, retryAfter: number | undefined): number {
  if (retryAfter !== undefined) return Math.min(retryAfter * 1000, policy.maxDelayMs);
  const exponential = Math.min(policy.baseDelayMs * 2 ** (attempt - 1), policy.maxDelayMs);
  return exponential / 2 + Math.random() * exponential / 2;
}
