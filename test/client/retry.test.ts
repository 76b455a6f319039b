import { describe, expect, it } from 'vitest';
import { AbortedError, BoxApiError, isTransient, NetworkError, SourceChangedError, VerificationError } from '../../src/client/errors.js';
import { retryAfterSeconds, retryDelayMs, type RetryPolicy } from '../../src/client/retry.js';

const refusal = (status: number) => new BoxApiError({ status, code: `http_${status}`, message: '', method: 'PUT', url: 'http://x/' });

describe('the retry decision, shared by the Node client and the web uploader', () => {
  it.each([429, 500, 502, 503, 504])('retries a %d (the server is busy or broken for now)', (status) => {
    expect(isTransient(refusal(status))).toBe(true);
  });

  it.each([400, 401, 403, 404, 409, 410, 412, 416, 501, 507])('does not retry a %d (a refusal, or a lasting lack)', (status) => {
    expect(isTransient(refusal(status))).toBe(false);
  });

  it('retries when no answer arrived, and nothing that is the caller\'s or the file\'s doing', () => {
    expect(isTransient(new NetworkError('reset'))).toBe(true);
    for (const error of [new AbortedError(), new SourceChangedError('changed'), new VerificationError('sha-1'), new Error('bug'), 'text', undefined]) {
      expect(isTransient(error)).toBe(false);
    }
  });

  it('reads Retry-After in seconds or as an HTTP date', () => {
    expect(retryAfterSeconds('7')).toBe(7);
    expect(retryAfterSeconds(['3', '9'])).toBe(3);
    expect(retryAfterSeconds(new Date(Date.now() + 5_000).toUTCString())).toBeGreaterThanOrEqual(4);
    expect(retryAfterSeconds(new Date(Date.now() - 60_000).toUTCString())).toBe(0);
    expect([retryAfterSeconds('soon'), retryAfterSeconds(undefined), retryAfterSeconds(null)]).toEqual([undefined, undefined, undefined]);
  });

  it('waits as Retry-After says, capped, or backs off exponentially with jitter', () => {
    const policy: RetryPolicy = { attempts: 8, baseDelayMs: 100, maxDelayMs: 1_000 };
    expect(retryDelayMs(policy, 1, 0)).toBe(0);
    expect(retryDelayMs(policy, 1, 2)).toBe(1_000);
    for (let attempt = 1; attempt <= 6; attempt++) {
      const ceiling = Math.min(100 * 2 ** (attempt - 1), 1_000);
      for (let sample = 0; sample < 50; sample++) {
        const delay = retryDelayMs(policy, attempt, undefined);
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delay).toBeLessThanOrEqual(ceiling);
      }
    }
  });
});
