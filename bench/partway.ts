/**
 * 1. Partway end to end with its own client: `partway serve` in one process, the client library
 * (the code behind `partway upload --parallel 4`) in another. Also: the `partway upload` CLI
 * process's peak RSS while it uploads a 2 GiB file.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type BenchContext, type ThroughputRun } from './lib/context.js';
import { startPartway } from './lib/partway-server.js';
import { PARTWAY_CLI, resultOf, ROOT, SERVER_NODE_OPTIONS, start, startTs } from './lib/proc.js';
import { mibPerSecond } from './lib/stats.js';
import { LatencyProbe } from './lib/latency-probe.js';
import { machineBusySeconds, RssSampler } from './rss.js';

interface PartwayClientResult {
  ms: number; createMs: number; partsMs: number; commitMs: number; bytes: number; sha1: string; serverSha1: string;
  partsSent: number; clientCpuSeconds: number; clientMaxRssMiB: number;
}

export async function runPartway(context: BenchContext, run: number): Promise<ThroughputRun> {
  const server = await startPartway(context.tmpDir, { name: `e2e${run}`, cpuProfDir: context.cpuProfDir });
  try {
    const busy0 = machineBusySeconds();
    const sampler = new RssSampler(server.pid, 100);
    const probe = new LatencyProbe(`${server.url}/2.0/users/me`, server.token);
    const nodeArgs = context.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', context.cpuProfDir, '--cpu-prof-name', `client-e2e${run}-${Date.now()}.cpuprofile`] : [];
    const client = startTs('clients/partway-client.ts', [
      '--server', server.url, '--token', server.token, '--file', context.file, '--parallel', String(context.parallel), '--name', `bench-${run}.bin`,
    ], { nodeArgs, echo: 'partway-client' });
    const result = await resultOf<PartwayClientResult>(client, 'partway client');
    const rss = sampler.stop();
    const probed = await probe.stop();
    const busy = machineBusySeconds() - busy0;
    if (result.sha1 !== context.fileSha1 || result.serverSha1 !== context.fileSha1 || result.bytes !== context.fileSize) {
      throw new Error(`Partway stored ${result.serverSha1} (client read ${result.sha1}); the file is ${context.fileSha1}`);
    }
    return {
      name: 'partway', run, ms: result.ms, mibPerSecond: mibPerSecond(result.bytes, result.ms),
      serverPeakRssMiB: rss.peakMiB, serverCpuSeconds: rss.cpuSeconds, clientCpuSeconds: result.clientCpuSeconds,
      clientMaxRssMiB: result.clientMaxRssMiB,
      otherCpuSeconds: rss.cpuSeconds === undefined ? undefined : busy - rss.cpuSeconds - result.clientCpuSeconds,
      detail: {
        createMs: result.createMs, partsMs: result.partsMs, commitMs: result.commitMs,
        probeCount: probed.count, probeP50Ms: probed.p50Ms, probeP99Ms: probed.p99Ms, probeMaxMs: probed.maxMs,
      },
    };
  } finally {
    await server.close();
  }
}

export interface CliRssResult {
  bytes: number;
  wallMs: number;
  mibPerSecondWall: number;
  cliPeakRssMiB: number;
  cliSamples: number;
  serverPeakRssMiB: number;
}

/** `partway upload FILE --parallel 4 --json` as its own process; its VmHWM/VmRSS polled every 50 ms. */
export async function runCliRss(context: BenchContext, file: string, fileSha1: string, bytes: number): Promise<CliRssResult> {
  const server = await startPartway(context.tmpDir, { name: 'cli' });
  const stateDir = join(context.tmpDir, 'cli-state');
  await mkdir(stateDir, { recursive: true });
  try {
    const serverSampler = new RssSampler(server.pid, 100);
    const t0 = performance.now();
    // With the options the bin's shebang gives every `partway` command.
    const cli = start(process.execPath, [...SERVER_NODE_OPTIONS, PARTWAY_CLI, 'upload', file, '--parallel', String(context.parallel), '--json'], {
      cwd: ROOT, echo: 'partway-cli',
      env: {
        ...process.env, PARTWAY_SERVER: server.url, PARTWAY_TOKEN: server.token, PARTWAY_STATE_DIR: stateDir,
        PARTWAY_CONFIG_DIR: join(context.tmpDir, 'cli-config'),
      },
    });
    const cliSampler = new RssSampler(cli.pid, 50);
    const code = await cli.exited;
    const wallMs = performance.now() - t0;
    const cliRss = cliSampler.stop();
    const serverRss = serverSampler.stop();
    const line = cli.stdout().trim().split('\n').at(-1) ?? '';
    const result = JSON.parse(line || '{}') as { ok?: boolean; sha1?: string; size?: number };
    if (code !== 0 || !result.ok || result.sha1 !== fileSha1 || result.size !== bytes) {
      throw new Error(`partway upload failed (${code}): ${line}\n${cli.stderr()}`);
    }
    return {
      bytes, wallMs, mibPerSecondWall: mibPerSecond(bytes, wallMs), cliPeakRssMiB: cliRss.peakMiB, cliSamples: cliRss.samples,
      serverPeakRssMiB: serverRss.peakMiB,
    };
  } finally {
    await server.close();
    await rm(stateDir, { recursive: true, force: true });
  }
}
