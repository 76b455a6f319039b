/**
 * `npm run bench`: every measurement of the benchmark in one run on this machine (see README.md
 * beside this file). Settings, all optional:
 *
 *   BENCH_SIZE_MB=1024      test file for the throughput runs (MiB)
 *   BENCH_RUNS=3            runs per throughput contender (medians are reported), interleaved
 *   BENCH_COMMIT_8G=1       0 skips the 8 GiB commit-latency upload
 *   BENCH_COMMIT_RUNS=3     1 GiB commit-latency runs (default: BENCH_RUNS)
 *   BENCH_COMMIT_8G_RUNS=1  8 GiB commit-latency runs
 *   BENCH_CLI_SIZE_MB=2048  file the `partway upload` CLI's RSS is measured with (0 skips)
 *   BENCH_RPS_SECONDS=10, BENCH_RPS_CONNECTIONS=50, BENCH_RPS_PARTS=16   autocannon settings
 *   BENCH_ONLY=partway,tus,tus_sha1,limit,commit,rps,cli,clients   run only these parts
 *   BENCH_CLIENTS=partway_cli,box_sdk_v10,box_sdk_legacy,rclone   the Box clients of `clients` (clients.ts)
 *   BENCH_CPU_PROF=1        Partway's server and client write V8 CPU profiles to bench/.profiles
 *   BENCH_TMP_DIR=bench/.tmp  scratch directory (deleted at the end unless BENCH_KEEP_TMP=1)
 *   BENCH_QUIET_WAIT=120    before each measurement, wait up to this many seconds for other processes
 *                           to leave the cores alone (under 0.25 cores busy over 2 s); 0 never waits
 */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { rmSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CLIENTS, missingClientTools, runClient, type ClientName } from './clients.js';
import { runCommitLatency, type CommitRun } from './commit-latency.js';
import { syncDisks, waitForQuiet, type BenchContext, type ThroughputRun } from './lib/context.js';
import { MiB, writeRandomFile } from './lib/data.js';
import { BENCH_DIR, killAll, onSignalExit, ROOT } from './lib/proc.js';
import { runLimit } from './limit.js';
import { runMetadataRps } from './metadata-rps.js';
import { runCliRss, runPartway } from './partway.js';
import { renderReport, type BenchResults } from './report.js';
import { runTus } from './tus.js';

const env = process.env;
const int = (name: string, fallback: number) => {
  const value = env[name] === undefined || env[name] === '' ? fallback : Number(env[name]);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number`);
  return value;
};

const sizeMiB = int('BENCH_SIZE_MB', 1024);
const runs = Math.max(1, int('BENCH_RUNS', 3));
const commit8g = env.BENCH_COMMIT_8G !== '0';
const commitRuns = int('BENCH_COMMIT_RUNS', runs);
const commit8gRuns = Math.max(1, int('BENCH_COMMIT_8G_RUNS', 1));
const cliSizeMiB = int('BENCH_CLI_SIZE_MB', 2048);
const only = new Set((env.BENCH_ONLY ?? 'partway,tus,tus_sha1,limit,commit,rps,cli,clients').split(',').map((part) => part.trim()));
const tmpDir = resolve(env.BENCH_TMP_DIR ?? join(BENCH_DIR, '.tmp'), `run-${process.pid}`);
const cpuProfDir = env.BENCH_CPU_PROF === '1' ? join(BENCH_DIR, '.profiles') : undefined;
const quietWait = int('BENCH_QUIET_WAIT', 120);
const clients = only.has('clients') ? (env.BENCH_CLIENTS || CLIENTS.join(',')).split(',').map((name) => name.trim()) as ClientName[] : [];
const unknownClients = clients.filter((name) => !CLIENTS.includes(name));
if (unknownClients.length > 0) throw new Error(`BENCH_CLIENTS: no client called ${unknownClients.join(', ')} (there are ${CLIENTS.join(', ')})`);
const PART_SIZE = 8 * MiB;
const started = Date.now();

/** Waits for a quiet machine, then flushes dirty pages, before a measurement. */
async function settle(): Promise<void> {
  if (quietWait > 0) await waitForQuiet(quietWait, log);
  syncDisks();
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
}

function log(message: string): void {
  process.stderr.write(`[bench +${((Date.now() - started) / 1000).toFixed(0)}s] ${message}\n`);
}

async function main(): Promise<void> {
  const missing = missingClientTools(clients);
  if (missing.length > 0) throw new Error(`BENCH_ONLY=clients needs: ${missing.join('; ')} (or leave a client out with BENCH_CLIENTS)`);
  await mkdir(tmpDir, { recursive: true });
  if (env.BENCH_KEEP_TMP !== '1') onSignalExit(() => rmSync(tmpDir, { recursive: true, force: true }));
  if (cpuProfDir) await mkdir(cpuProfDir, { recursive: true });
  const results: BenchResults = {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '?', memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.versions.node, kernel: release(), loadAverageAtStart: loadavg().map((value) => Math.round(value * 100) / 100),
    },
    partway: {
      commit: git(['rev-parse', '--short', 'HEAD']), subject: git(['log', '-1', '--format=%s']),
      dirty: git(['status', '--porcelain', '--', 'src']) !== '',
    },
    settings: { sizeMiB, runs, partSize: PART_SIZE, parallel: 4, commit8g, cliSizeMiB },
    throughput: [], clients: [], commit1g: [], commit8g: [], rps: undefined, cli: undefined,
  };

  const file = join(tmpDir, 'test.bin');
  const fileSize = sizeMiB * MiB;
  const contenders = (['partway', 'tus', 'tus_sha1', 'limit'] as const).filter((name) => only.has(name));
  let fileSha1 = '';
  if (contenders.length > 0 || clients.length > 0) {
    log(`writing a ${sizeMiB} MiB random test file`);
    fileSha1 = await writeRandomFile(file, fileSize);
  }
  const context: BenchContext = { tmpDir, file, fileSize, fileSha1, partSize: PART_SIZE, parallel: 4, cpuProfDir, log };

  // 1–3: the contenders take turns, run after run, so that drift in the machine hits them alike.
  for (let run = 1; run <= runs && contenders.length > 0; run++) {
    for (const name of contenders) {
      await settle();
      let result: ThroughputRun;
      if (name === 'partway') result = await runPartway(context, run);
      else if (name === 'limit') result = await runLimit(context, run);
      else result = await runTus(context, run, name === 'tus_sha1');
      results.throughput.push(result);
      log(`run ${run}/${runs} ${name}: ${result.mibPerSecond.toFixed(1)} MiB/s (${(result.ms / 1000).toFixed(2)} s), server peak RSS ${result.serverPeakRssMiB.toFixed(1)} MiB`);
    }
  }
  // The Box clients take turns the same way.
  for (let run = 1; run <= runs && clients.length > 0; run++) {
    for (const name of clients) {
      await settle();
      const result = await runClient(context, run, name);
      results.clients.push(result);
      log(`run ${run}/${runs} ${name}: ${result.mibPerSecond.toFixed(1)} MiB/s (${(result.ms / 1000).toFixed(2)} s), client CPU ${result.clientCpuSeconds.toFixed(2)} s, server CPU ${result.serverCpuSeconds?.toFixed(2)} s`);
    }
  }
  if (contenders.length > 0 || clients.length > 0) await rm(file, { force: true });

  // 4: commit latency by file size.
  if (only.has('commit')) {
    const sizes: Array<[string, number, CommitRun[], number]> = [['1g', 1024 * MiB, results.commit1g, commitRuns]];
    if (commit8g) sizes.push(['8g', 8192 * MiB, results.commit8g, commit8gRuns]);
    for (const [label, bytes, into, count] of sizes) {
      for (let run = 1; run <= count; run++) {
        await settle();
        log(`commit latency ${label} run ${run}/${count}: uploading ${bytes / MiB} MiB in order`);
        const result = await runCommitLatency(context, bytes, `${label}-${run}`);
        into.push(result);
        log(`  commit ${result.commitMs.toFixed(1)} ms (status ${result.commitStatus}); upload ${result.uploadMibPerSecond.toFixed(1)} MiB/s; server peak RSS ${result.serverPeakRssMiB.toFixed(1)} MiB`);
      }
    }
  }

  // 5: metadata reads.
  if (only.has('rps')) {
    await settle();
    log('metadata reads (autocannon)');
    results.rps = await runMetadataRps(context, {
      seconds: int('BENCH_RPS_SECONDS', 10), connections: int('BENCH_RPS_CONNECTIONS', 50), parts: int('BENCH_RPS_PARTS', 16),
    });
    log(`  session ${results.rps.session.requestsPerSecondMean.toFixed(0)} req/s, parts ${results.rps.listParts.requestsPerSecondMean.toFixed(0)} req/s`);
  }

  // The CLI's memory while it uploads a 2 GiB file.
  if (only.has('cli') && cliSizeMiB > 0) {
    const cliFile = join(tmpDir, 'cli.bin');
    log(`writing a ${cliSizeMiB} MiB random file for the CLI run`);
    const cliSha1 = await writeRandomFile(cliFile, cliSizeMiB * MiB);
    await settle();
    log('partway upload CLI');
    results.cli = await runCliRss(context, cliFile, cliSha1, cliSizeMiB * MiB);
    await rm(cliFile, { force: true });
    log(`  CLI peak RSS ${results.cli.cliPeakRssMiB.toFixed(1)} MiB`);
  }

  const headAtEnd = git(['rev-parse', '--short', 'HEAD']);
  if (headAtEnd !== results.partway.commit) {
    results.partway.subject += ` [HEAD moved to ${headAtEnd} during the run: another process may have rebuilt dist/]`;
  }
  const report = renderReport(results);
  await writeFile(join(BENCH_DIR, 'last-run.json'), `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(join(BENCH_DIR, 'last-run.md'), `${report}\n`);
  process.stdout.write(`\n${report}\n`);
}

try {
  await main();
} catch (error) {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exitCode = 1;
} finally {
  killAll();
  if (env.BENCH_KEEP_TMP !== '1') await rm(tmpDir, { recursive: true, force: true });
  if (cpuProfDir) log(`CPU profiles in ${cpuProfDir} (summarize with: npx tsx bench/profile-summary.ts FILE.cpuprofile)`);
}
