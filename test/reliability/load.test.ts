import { describe, expect, it } from 'vitest';
import { runLoad } from '../../scripts/load.js';

/**
 * A short smoke of the load benchmark: a few clients for a few seconds, next to one large upload, must
 * all succeed. The benchmark itself (200 clients, its RSS bound) is `npm run load`, not a test.
 */
describe('load (smoke)', () => {
  it('serves 20 concurrent clients creating, uploading and committing, plus a large upload, for 3 s without an error', async () => {
    const report = await runLoad({ seconds: 3, clients: 20, largeUploads: 1, largeUploadMiB: 8 });
    console.info(`load smoke: ${JSON.stringify(report)}`);
    expect(report.errors, JSON.stringify(report.statuses)).toBe(0);
    expect(report.sessionsCommitted).toBeGreaterThan(0);
    expect(report.largeUploadsCommitted).toBeGreaterThan(0);
  }, 60_000);
});
