/**
 * `BENCH_ONLY=clients`: `partway upload` against the other Box clients, each its own process,
 * uploading the same file to a fresh `partway serve` (SQLite + disk, as `npm start` runs it):
 *
 *   partway_cli     `partway upload FILE --parallel 4 --json` (dist/cli/main.js, with the bin's Node options)
 *   box_sdk_v10     box-node-sdk v10 `chunkedUploads.uploadBigFile` (clients/box-sdk-v10-client.ts)
 *   box_sdk_legacy  box-node-sdk v3 `files.getChunkedUploader(...).start()` (clients/box-sdk-legacy-client.ts)
 *   rclone          Debian's rclone, `rclone copy FILE partway:` with its defaults, through the interop
 *                   tests' TLS front (its Box URLs are compiled in), which runs as its own process
 *
 * Time: for the CLI and rclone, the command from start to exit (what its user waits for); for the SDKs,
 * create → commit inside their script (a library's caller pays no start-up). Client CPU: the CLI's and
 * rclone's whole process (bash's `times` after it exits); the SDK scripts' CPU over that same span.
 */
import { readFile, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { rcloneSetup } from '../test/interop/support/rclone.js';
import { onPath } from '../test/setup/system.js';
import type { BenchContext, ThroughputRun } from './lib/context.js';
import { startPartway, type PartwayServer } from './lib/partway-server.js';
import { PARTWAY_CLI, resultOf, ROOT, SERVER_NODE_OPTIONS, start, startTs, stop, type Spawned } from './lib/proc.js';
import { mibPerSecond } from './lib/stats.js';
import { machineBusySeconds, readProc, RssSampler } from './rss.js';

const cpuOf = (pid: number) => readProc(pid)?.cpuSeconds ?? 0;

export const CLIENTS = ['partway_cli', 'box_sdk_v10', 'box_sdk_legacy', 'rclone'] as const;
export type ClientName = typeof CLIENTS[number];

/** What each client checks, read from its code (Partway's server always checks every part's Digest and the whole file's SHA-1). */
export const CLIENT_LABELS: Record<ClientName, string> = {
  partway_cli: '`partway upload --parallel 4` (4 in flight; part SHA-1 sent and checked against the answer; whole-file SHA-1 sent and checked against the committed file)',
  box_sdk_v10: 'box-node-sdk v10 `uploadBigFile` (1 part at a time; part SHA-1 sent and checked against the answer, with size and offset; lists parts; whole-file SHA-1 sent, committed file not checked)',
  box_sdk_legacy: 'box-node-sdk v3 `ChunkedUploader` (4 in flight by default; part SHA-1 sent, answer not checked; whole-file SHA-1 sent, committed file not checked)',
  rclone: 'rclone `copy` (box backend, defaults: 4 transfers; part SHA-1 sent, answer not checked; whole-file SHA-1 sent; afterwards compares the SHA-1 the server reports with the local file\'s), through a local TLS front',
};

/** The tools a client needs besides Node, with what to do when one is missing. */
export function missingClientTools(names: readonly ClientName[]): string[] {
  const missing: string[] = [];
  if (names.includes('rclone')) {
    if (!onPath('rclone')) missing.push('rclone (Debian\'s 1.60 has the box backend: apt-get install rclone)');
    if (!onPath('openssl')) missing.push('openssl (the TLS front\'s throwaway certificates: apt-get install openssl)');
  }
  if (!onPath('bash')) missing.push('bash (its `times` measures the CLI\'s and rclone\'s CPU)');
  return missing;
}

interface Measured { wallMs: number; cpuSeconds: number; code: number | null; proc: Spawned }

/**
 * Runs a command under bash, whose `times` reports the CPU of the child once it ended (user + system,
 * every thread), which polling /proc cannot see after the process exits.
 */
async function measured(context: BenchContext, command: string, args: string[], env: NodeJS.ProcessEnv, echo: string): Promise<Measured> {
  const timesFile = join(context.tmpDir, `times-${process.pid}-${Date.now()}`);
  const t0 = performance.now();
  const proc = start('bash', ['-c', '"$@"; code=$?; times > "$BENCH_TIMES_FILE"; exit $code', 'bash', command, ...args], {
    cwd: ROOT, echo, env: { ...env, BENCH_TIMES_FILE: timesFile },
  });
  const code = await proc.exited;
  const wallMs = performance.now() - t0;
  // Second line: the children's user and system time, e.g. "0m5.123s 0m1.010s".
  const childLine = (await readFile(timesFile, 'utf8').catch(() => '')).trim().split('\n')[1] ?? '';
  await rm(timesFile, { force: true });
  const seconds = [...childLine.matchAll(/(\d+)m([\d.]+)s/g)].map(([, m, s]) => Number(m) * 60 + Number(s));
  if (seconds.length !== 2) throw new Error(`${echo}: could not read bash's times (${JSON.stringify(childLine)}), exit code ${code}\n${proc.stderr().slice(-2000)}`);
  return { wallMs, cpuSeconds: seconds[0]! + seconds[1]!, code, proc };
}

interface Outcome { ms: number; clientCpuSeconds: number; fileName: string; detail: Record<string, number> }

async function runCli(context: BenchContext, server: PartwayServer, run: number): Promise<Outcome> {
  const profile = context.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', context.cpuProfDir, '--cpu-prof-name', `client-cli${run}-${Date.now()}.cpuprofile`] : [];
  const result = await measured(context, process.execPath, [...SERVER_NODE_OPTIONS, ...profile, PARTWAY_CLI, 'upload', context.file, '--parallel', String(context.parallel), '--json'], {
    ...process.env, PARTWAY_SERVER: server.url, PARTWAY_TOKEN: server.token,
    PARTWAY_STATE_DIR: join(server.dataDir, 'cli-state'), PARTWAY_CONFIG_DIR: join(server.dataDir, 'cli-config'),
  }, 'partway-cli');
  const line = result.proc.stdout().trim().split('\n').at(-1) ?? '';
  const answer = JSON.parse(line || '{}') as { ok?: boolean; sha1?: string };
  if (result.code !== 0 || !answer.ok) throw new Error(`partway upload failed (${result.code}): ${line}\n${result.proc.stderr().slice(-2000)}`);
  return { ms: result.wallMs, clientCpuSeconds: result.cpuSeconds, fileName: basename(context.file), detail: { processCpuSeconds: result.cpuSeconds } };
}

async function runSdk(context: BenchContext, server: PartwayServer, run: number, script: string, name: ClientName): Promise<Outcome> {
  const fileName = `${name}-${run}.bin`;
  const t0 = performance.now();
  const proc = startTs(script, ['--server', server.url, '--token', server.token, '--file', context.file, '--name', fileName], { echo: name });
  const result = await resultOf<{ ms: number; cpuSeconds: number; clientCpuSeconds: number; serverSha1: string }>(proc, name);
  return {
    ms: result.ms, clientCpuSeconds: result.cpuSeconds, fileName,
    detail: { processWallMs: performance.now() - t0, processCpuSeconds: result.clientCpuSeconds },
  };
}

async function runRclone(context: BenchContext, server: PartwayServer): Promise<Outcome> {
  const front = startTs('servers/tls-front.ts', ['--target', server.url], { echo: 'tls-front' });
  try {
    const { proxyUrl, caPath } = await firstJsonLine<{ proxyUrl: string; caPath: string }>(front, 'the TLS front');
    const setup = await rcloneSetup({ proxyUrl, caPath, token: server.token });
    try {
      const frontCpu0 = cpuOf(front.pid);
      const result = await measured(context, 'rclone', [...setup.args, 'copy', context.file, 'partway:'], setup.env, 'rclone');
      const frontCpu = cpuOf(front.pid) - frontCpu0;
      if (result.code !== 0) throw new Error(`rclone copy exited ${result.code}:\n${result.proc.stderr().slice(-4000)}`);
      return { ms: result.wallMs, clientCpuSeconds: result.cpuSeconds, fileName: basename(context.file), detail: { frontCpuSeconds: frontCpu } };
    } finally {
      await rm(setup.home, { recursive: true, force: true });
    }
  } finally {
    await stop(front);
  }
}

async function firstJsonLine<T>(proc: Spawned, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (!proc.stdout().includes('\n')) {
    if (proc.child.exitCode !== null) throw new Error(`${what} exited with ${proc.child.exitCode}:\n${proc.stderr().slice(-4000)}`);
    if (Date.now() > deadline) throw new Error(`${what} did not start within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return JSON.parse(proc.stdout().split('\n')[0]!) as T;
}

/** Not timed: the file the server committed must have the test file's size and SHA-1 (which the server checked against its bytes). */
async function checkStored(context: BenchContext, server: PartwayServer, fileName: string, who: string): Promise<void> {
  const response = await request(`${server.url}/2.0/folders/0/items?fields=name,size,sha1`, { headers: { authorization: `Bearer ${server.token}` } });
  const listing = await response.body.json() as { entries?: Array<{ name: string; size: number; sha1: string }> };
  const stored = listing.entries?.find((entry) => entry.name === fileName);
  if (stored?.sha1 !== context.fileSha1 || stored.size !== context.fileSize) {
    throw new Error(`${who}: Partway holds ${JSON.stringify(stored)} as ${fileName}; the file has SHA-1 ${context.fileSha1} and ${context.fileSize} bytes`);
  }
}

/** One upload of the test file by one client, to a fresh server. */
export async function runClient(context: BenchContext, run: number, name: ClientName): Promise<ThroughputRun> {
  const server = await startPartway(context.tmpDir, {
    name: `${name}${run}`, cpuProfDir: context.cpuProfDir,
    // rclone reaches Partway as https://api.box.com, so the links Partway hands out must say so too.
    env: name === 'rclone' ? { PARTWAY_PUBLIC_URL: 'https://api.box.com' } : {},
  });
  try {
    const busy0 = machineBusySeconds();
    const sampler = new RssSampler(server.pid, 100);
    const outcome = name === 'partway_cli' ? await runCli(context, server, run)
      : name === 'box_sdk_v10' ? await runSdk(context, server, run, 'clients/box-sdk-v10-client.ts', name)
        : name === 'box_sdk_legacy' ? await runSdk(context, server, run, 'clients/box-sdk-legacy-client.ts', name)
          : await runRclone(context, server);
    const rss = sampler.stop();
    const busy = machineBusySeconds() - busy0;
    await checkStored(context, server, outcome.fileName, name);
    const ours = (rss.cpuSeconds ?? 0) + (outcome.detail.processCpuSeconds ?? outcome.clientCpuSeconds) + (outcome.detail.frontCpuSeconds ?? 0);
    return {
      name, run, ms: outcome.ms, mibPerSecond: mibPerSecond(context.fileSize, outcome.ms),
      serverPeakRssMiB: rss.peakMiB, serverCpuSeconds: rss.cpuSeconds, clientCpuSeconds: outcome.clientCpuSeconds, clientMaxRssMiB: Number.NaN,
      otherCpuSeconds: rss.cpuSeconds === undefined ? undefined : busy - ours,
      detail: outcome.detail,
    };
  } finally {
    await server.close();
  }
}
