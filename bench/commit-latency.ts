/**
 * 4. Commit latency for files uploaded in order, by size (1 GiB, 8 GiB): a fresh `partway serve`
 * each time, the parts PUT by clients/commit-client.ts, then `POST .../commit` timed alone. The
 * server's peak RSS during the whole upload is recorded too (4 parts in flight).
 */
import { type BenchContext } from './lib/context.js';
import { startPartway } from './lib/partway-server.js';
import { resultOf, startTs } from './lib/proc.js';
import { mibPerSecond } from './lib/stats.js';
import { RssSampler } from './rss.js';

export interface CommitRun {
  bytes: number;
  commitMs: number;
  commitStatus: number;
  retries202: number;
  uploadMs: number;
  uploadMibPerSecond: number;
  parts: number;
  partSize: number;
  serverPeakRssMiB: number;
  serverCpuSeconds: number | undefined;
}

interface CommitClientResult { commitMs: number; commitStatus: number; retries202: number; uploadMs: number; bytes: number; parts: number; partSize: number }

export async function runCommitLatency(context: BenchContext, bytes: number, label: string): Promise<CommitRun> {
  const server = await startPartway(context.tmpDir, { name: `commit-${label}` });
  try {
    const sampler = new RssSampler(server.pid, 100);
    const client = startTs('clients/commit-client.ts', [
      '--server', server.url, '--token', server.token, '--size', String(bytes), '--parallel', String(context.parallel),
    ], { echo: 'commit-client' });
    const result = await resultOf<CommitClientResult>(client, `commit client (${label})`);
    const rss = sampler.stop();
    return {
      bytes, commitMs: result.commitMs, commitStatus: result.commitStatus, retries202: result.retries202, uploadMs: result.uploadMs,
      uploadMibPerSecond: mibPerSecond(bytes, result.uploadMs), parts: result.parts, partSize: result.partSize,
      serverPeakRssMiB: rss.peakMiB, serverCpuSeconds: rss.cpuSeconds,
    };
  } finally {
    await server.close();
  }
}
