import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, PARTWAY_CLI, resultOf, ROOT, SERVER_NODE_OPTIONS, start, stop, waitForHttp, type Spawned } from './proc.js';

export interface PartwayServer {
  proc: Spawned;
  pid: number;
  /** e.g. http://127.0.0.1:40123 */
  url: string;
  token: string;
  dataDir: string;
  /** Stops the server (SIGINT: it finishes requests in flight and exits) and deletes its data. */
  close(): Promise<void>;
}

/**
 * `partway serve` as its own process, on a fresh data directory under `tmpDir`, with the default
 * part size (8 MiB), SQLite and the local disk; logs at warn so request logging costs nothing.
 */
export async function startPartway(tmpDir: string, options: { name: string; cpuProfDir?: string | undefined; env?: Record<string, string> }): Promise<PartwayServer> {
  const dataDir = join(tmpDir, `partway-${options.name}-${Date.now()}`);
  await mkdir(dataDir, { recursive: true });
  const tokenProc = start(process.execPath, [PARTWAY_CLI, 'token', 'create', '--user', 'bench', '--data-dir', dataDir], { cwd: ROOT });
  const code = await tokenProc.exited;
  const token = tokenProc.stdout().trim();
  if (code !== 0 || !token.startsWith('pw_')) throw new Error(`token create failed (${code}): ${tokenProc.stderr()}`);

  const port = await freePort();
  const nodeArgs = options.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfDir, '--cpu-prof-name', `server-${options.name}-${Date.now()}.cpuprofile`] : [];
  // As `npm start` runs it.
  const proc = start(process.execPath, [...SERVER_NODE_OPTIONS, ...nodeArgs, PARTWAY_CLI, 'serve'], {
    cwd: ROOT,
    echo: 'partway-server',
    env: {
      ...process.env, PARTWAY_DATA_DIR: dataDir, PARTWAY_PORT: String(port), PARTWAY_HOST: '127.0.0.1', PARTWAY_LOG_LEVEL: 'warn',
      ...options.env,
    },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/healthz`, proc);
  return {
    proc, pid: proc.pid, url, token, dataDir,
    async close() {
      await stop(proc, 30_000, 'SIGINT');
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export { resultOf };
