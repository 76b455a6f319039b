import { describe, expect, it } from 'vitest';
import { runLoad } from '../../scripts/load.js';

/** Seconds of load: 5 by default, more in CI (`PARTWAY_LOAD_SECONDS`); `npm run load` runs the full 30 s. */
const SECONDS = Number(process.env.PARTWAY_LOAD_SECONDS ?? 5);

describe('load', () => {
  it(`serves 200 concurrent clients creating, uploading and committing, plus 4 large uploads, for ${SECONDS} s without an error`, async () => {
    const report = await runLoad({ seconds: SECONDS, clients: 200, largeUploads: 4, largeUploadMiB: 32 });
    console.info(`load: ${JSON.stringify(report)}`);
    expect(report.errors, JSON.stringify(report.statuses)).toBe(0);
    expect(report.sessionsCommitted).toBeGreaterThan(0);
    expect(report.largeUploadsCommitted).toBeGreaterThan(0);
    expect(report.serverPeakRssMiB).toBeLessThan(400);
  }, 60_000 + SECONDS * 3000);
});
