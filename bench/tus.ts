/**
 * 2. @tus/server + @tus/file-store (one process) and tus-js-client (another), same file, 8 MiB
 * chunks, with and without SHA-1 checksums on each PATCH. See servers/tus-server.ts and
 * clients/tus-client.ts for exactly what runs.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type BenchContext, type ThroughputRun } from './lib/context.js';
import { sha1File } from './lib/data.js';
import { freePort, resultOf, SERVER_NODE_OPTIONS, startTs, stop, waitForHttp } from './lib/proc.js';
import { mibPerSecond } from './lib/stats.js';
import { machineBusySeconds, RssSampler } from './rss.js';

interface TusClientResult { ms: number; bytes: number; url: string; patches: number; clientCpuSeconds: number; clientMaxRssMiB: number }

export async function runTus(context: BenchContext, run: number, checksum: boolean): Promise<ThroughputRun> {
  const name = checksum ? 'tus_sha1' : 'tus';
  const dir = join(context.tmpDir, `${name}-${run}-${Date.now()}`);
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const server = startTs('servers/tus-server.ts', ['--dir', dir, '--port', String(port)], { echo: 'tus-server', nodeArgs: [...SERVER_NODE_OPTIONS] });
  try {
    const endpoint = `http://127.0.0.1:${port}/files`;
    await waitForHttp(endpoint, server);
    const busy0 = machineBusySeconds();
    const sampler = new RssSampler(server.pid, 100);
    const client = startTs('clients/tus-client.ts', [
      '--endpoint', endpoint, '--file', context.file, '--chunk-size', String(context.partSize), '--checksum', checksum ? '1' : '0',
    ], { echo: 'tus-client' });
    const result = await resultOf<TusClientResult>(client, `${name} client`);
    const rss = sampler.stop();
    const busy = machineBusySeconds() - busy0;
    // Not timed: the bytes the server stored must be the file's.
    const stored = await sha1File(join(dir, result.url.split('/').at(-1)!));
    if (stored.sha1 !== context.fileSha1 || stored.size !== context.fileSize) {
      throw new Error(`tus stored ${stored.size} bytes with SHA-1 ${stored.sha1}; the file is ${context.fileSha1}`);
    }
    return {
      name, run, ms: result.ms, mibPerSecond: mibPerSecond(result.bytes, result.ms),
      serverPeakRssMiB: rss.peakMiB, serverCpuSeconds: rss.cpuSeconds, clientCpuSeconds: result.clientCpuSeconds,
      clientMaxRssMiB: result.clientMaxRssMiB,
      otherCpuSeconds: rss.cpuSeconds === undefined ? undefined : busy - rss.cpuSeconds - result.clientCpuSeconds, detail: { patches: result.patches },
    };
  } finally {
    await stop(server);
    await rm(dir, { recursive: true, force: true });
  }
}
