/**
 * The load benchmark: `npm run load` (or `tsx scripts/load.ts`). Starts `partway serve` as its own process,
 * then for LOAD_SECONDS (default 30) runs LOAD_CLIENTS (default 200) concurrent clients that each create a
 * session, upload two small parts and commit, again and again, while 4 large uploads of LOAD_LARGE_MIB
 * (default 64) MiB run through the client library. Prints statuses, latency percentiles per request kind
 * and the server's peak RSS, and fails (exit code 1) on any error answer or a peak RSS over
 * LOAD_MAX_RSS_MIB (default 400). `npm test` runs only a short smoke of it (test/reliability/load.test.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { PartwayClient } from '../src/client/index.js';
import { runCli, spawnServer, waitForExit } from '../test/helpers/process.js';

export interface LoadOptions {
  seconds: number;
  clients: number;
  largeUploads: number;
  largeUploadMiB: number;
}

export interface LoadReport {
  seconds: number;
  clients: number;
  statuses: Record<string, number>;
  /** Answers that were neither 2xx nor an intended 429. */
  errors: number;
  sessionsCommitted: number;
  largeUploadsCommitted: number;
  latencyMs: Record<string, { count: number; p50: number; p99: number; max: number }>;
  serverPeakRssMiB: number;
  serverRssAtStartMiB: number;
}

const SMALL_PART = 64 * 1024;

export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const dataDir = await mkdtemp(join(tmpdir(), 'partway-load-'));
  const env = { PARTWAY_DATA_DIR: dataDir, PARTWAY_BASE_PART_SIZE: String(SMALL_PART), PARTWAY_MIN_CHUNKED_SIZE: '1000', PARTWAY_LOG_LEVEL: 'info' };
  const tokens = await Promise.all(Array.from({ length: 10 }, (_, user) => runCli(['token', 'create', '--user', `load${user}`], env).then((out) => out.stdout.trim())));
  // Logs off after start: 200 clients would write megabytes of request lines.
  const server = await spawnServer({ ...env, PARTWAY_LOG_LEVEL: 'info' });
  const pid = server.child.pid!;
  const rssMiB = async () => Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
  const serverRssAtStartMiB = await rssMiB();
  let serverPeakRssMiB = serverRssAtStartMiB;
  const sampler = setInterval(() => {
    rssMiB().then((value) => { serverPeakRssMiB = Math.max(serverPeakRssMiB, value); }, () => {});
  }, 100);

  const dispatcher = new Agent({ connections: options.clients + 8 });
  const base = `${server.url}/api/2.0`;
  const statuses: Record<string, number> = {};
  const latencies: Record<string, number[]> = {};
  let sessionsCommitted = 0;
  const deadline = Date.now() + options.seconds * 1000;

  async function timed(kind: string, method: 'GET' | 'POST' | 'PUT', url: string, token: string, headers: Record<string, string>, body?: Buffer | string) {
    const started = performance.now();
    const response = await request(url, { method, headers: { authorization: `Bearer ${token}`, ...headers }, body, dispatcher });
    const text = await response.body.text();
    (latencies[kind] ??= []).push(performance.now() - started);
    const key = `${kind} ${response.statusCode}`;
    statuses[key] = (statuses[key] ?? 0) + 1;
    return { status: response.statusCode, json: text ? JSON.parse(text) : undefined, headers: response.headers };
  }

  async function smallClient(index: number) {
    const token = tokens[index % tokens.length]!;
    const data = randomBytes(SMALL_PART + 1000);
    const partSha1 = (offset: number, size: number) => createHash('sha1').update(data.subarray(offset, offset + size)).digest('base64');
    for (let round = 0; Date.now() < deadline; round++) {
      const created = await timed('create', 'POST', `${base}/files/upload_sessions`, token, { 'content-type': 'application/json' },
        JSON.stringify({ folder_id: '0', file_size: data.length, file_name: `c${index}-r${round}.bin` }));
      if (created.status === 429) {
        await new Promise((resolve) => setTimeout(resolve, Number(created.headers['retry-after'] ?? 1) * 1000));
        continue;
      }
      if (created.status !== 201) continue;
      const url = created.json.session_endpoints.upload_part as string;
      const parts = [];
      for (const [offset, size] of [[0, SMALL_PART], [SMALL_PART, 1000]] as const) {
        const put = await timed('part', 'PUT', url, token, {
          'content-type': 'application/octet-stream', 'content-range': `bytes ${offset}-${offset + size - 1}/${data.length}`,
          digest: `sha=${partSha1(offset, size)}`,
        }, data.subarray(offset, offset + size));
        if (put.status === 200) parts.push(put.json.part);
      }
      if (parts.length !== 2) continue;
      const committed = await timed('commit', 'POST', created.json.session_endpoints.commit, token,
        { 'content-type': 'application/json', digest: `sha=${createHash('sha1').update(data).digest('base64')}` }, JSON.stringify({ parts }));
      if (committed.status === 201) sessionsCommitted++;
    }
  }

  // Large uploads run next to the crowd, each on its own client, until the deadline.
  const largeDir = await mkdtemp(join(tmpdir(), 'partway-load-large-'));
  let largeUploadsCommitted = 0;
  async function largeUploader(index: number) {
    const client = new PartwayClient({ server: server.url, token: tokens[index % tokens.length]! });
    for (let round = 0; Date.now() < deadline; round++) {
      const path = join(largeDir, `large-${index}-${round}.bin`);
      await writeFile(path, randomBytes(options.largeUploadMiB * 1024 * 1024));
      try {
        await client.upload(path, { concurrency: 4, chunkedThreshold: 1000 });
        largeUploadsCommitted++;
      } catch (error) {
        statuses[`large-upload ${(error as Error).name}`] = (statuses[`large-upload ${(error as Error).name}`] ?? 0) + 1;
      } finally {
        await rm(path);
      }
    }
    await client.close();
  }

  try {
    await Promise.all([
      ...Array.from({ length: options.clients }, (_, index) => smallClient(index)),
      ...Array.from({ length: options.largeUploads }, (_, index) => largeUploader(index)),
    ]);
  } finally {
    clearInterval(sampler);
    await dispatcher.close();
    server.child.kill('SIGTERM');
    await waitForExit(server.child);
    await rm(dataDir, { recursive: true, force: true });
    await rm(largeDir, { recursive: true, force: true });
  }
  const errors = Object.entries(statuses)
    .filter(([key]) => !/ (2\d\d|429)$/.test(key))
    .reduce((sum, [, count]) => sum + count, 0);
  const latencyMs = Object.fromEntries(Object.entries(latencies).map(([kind, values]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 10) / 10;
    return [kind, { count: sorted.length, p50: at(0.5), p99: at(0.99), max: at(1) }];
  }));
  return {
    seconds: options.seconds, clients: options.clients, statuses, errors, sessionsCommitted, largeUploadsCommitted,
    latencyMs, serverPeakRssMiB: Math.round(serverPeakRssMiB), serverRssAtStartMiB: Math.round(serverRssAtStartMiB),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const maxRssMiB = Number(process.env.LOAD_MAX_RSS_MIB ?? 400);
  const report = await runLoad({
    seconds: Number(process.env.LOAD_SECONDS ?? 30), clients: Number(process.env.LOAD_CLIENTS ?? 200),
    largeUploads: 4, largeUploadMiB: Number(process.env.LOAD_LARGE_MIB ?? 64),
  });
  console.log(JSON.stringify(report, null, 2));
  const rssWithinBound = report.serverPeakRssMiB < maxRssMiB;
  console.log(`errors: ${report.errors}`);
  console.log(`server peak RSS: ${report.serverPeakRssMiB} MiB (bound ${maxRssMiB} MiB: ${rssWithinBound ? 'within' : 'OVER'})`);
  process.exitCode = report.errors === 0 && rssWithinBound ? 0 : 1;
}
