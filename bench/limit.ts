/**
 * 3. The limit: the same process layout (client process, server process, loopback HTTP, 8 MiB parts,
 * 4 in flight) doing only the unavoidable work: read the file once, SHA-1 each byte twice in the
 * client (part, whole file) and twice in the server (part, whole file), write it once with an fsync
 * per part (one file per part, as Partway stores them; BENCH_LIMIT_LAYOUT=file for one file). See
 * clients/limit-client.ts and servers/limit-server.ts.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type BenchContext, type ThroughputRun } from './lib/context.js';
import { sha1File } from './lib/data.js';
import { freePort, resultOf, SERVER_NODE_OPTIONS, startTs, stop, waitForHttp } from './lib/proc.js';
import { mibPerSecond } from './lib/stats.js';
import { machineBusySeconds, RssSampler } from './rss.js';

interface LimitClientResult { ms: number; bytes: number; sha1: string; clientCpuSeconds: number; clientMaxRssMiB: number }

export async function runLimit(context: BenchContext, run: number): Promise<ThroughputRun> {
  const dir = join(context.tmpDir, `limit-${run}-${Date.now()}`);
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const layout = process.env.BENCH_LIMIT_LAYOUT === 'file' ? 'file' : 'parts';
  const server = startTs('servers/limit-server.ts', [
    '--dir', dir, '--port', String(port), '--part-size', String(context.partSize), '--layout', layout,
  ], { echo: 'limit-server', nodeArgs: [...SERVER_NODE_OPTIONS] });
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitForHttp(base, server);
    const busy0 = machineBusySeconds();
    const sampler = new RssSampler(server.pid, 100);
    const client = startTs('clients/limit-client.ts', [
      '--server', base, '--file', context.file, '--part-size', String(context.partSize), '--parallel', String(context.parallel),
    ], { echo: 'limit-client' });
    const result = await resultOf<LimitClientResult>(client, 'limit client');
    const rss = sampler.stop();
    const busy = machineBusySeconds() - busy0;
    const stored = layout === 'file' ? await sha1File(join(dir, 'upload-1.bin')) : await sha1Parts(dir);
    if (result.sha1 !== context.fileSha1 || stored.sha1 !== context.fileSha1 || stored.size !== context.fileSize) {
      throw new Error(`The limit pipeline stored ${stored.sha1} (client read ${result.sha1}); the file is ${context.fileSha1}`);
    }
    return {
      name: 'limit', run, ms: result.ms, mibPerSecond: mibPerSecond(result.bytes, result.ms),
      serverPeakRssMiB: rss.peakMiB, serverCpuSeconds: rss.cpuSeconds, clientCpuSeconds: result.clientCpuSeconds,
      clientMaxRssMiB: result.clientMaxRssMiB,
      otherCpuSeconds: rss.cpuSeconds === undefined ? undefined : busy - rss.cpuSeconds - result.clientCpuSeconds, detail: {},
    };
  } finally {
    await stop(server);
    await rm(dir, { recursive: true, force: true });
  }
}

/** SHA-1 of the part files `upload-1.<index>.part`, joined in order. */
async function sha1Parts(dir: string): Promise<{ sha1: string; size: number }> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.part'))
    .sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1]));
  const hash = createHash('sha1');
  let size = 0;
  for (const name of names) {
    for await (const chunk of createReadStream(join(dir, name), { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
    }
  }
  return { sha1: hash.digest('hex'), size };
}
