import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';

export const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
export const ROOT = dirname(BENCH_DIR);
export const PARTWAY_CLI = join(ROOT, 'dist', 'cli', 'main.js');

/** Every process this benchmark started and that may still run; killed on exit, by pid only. */
const children = new Set<ChildProcess>();
/** Synchronous clean-ups (scratch directories) for an exit by signal, when `finally` blocks do not run. */
const cleanups: Array<() => void> = [];

export function onSignalExit(cleanup: () => void): void {
  hookExit();
  cleanups.push(cleanup);
}

export function killAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
}

let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      killAll();
      for (const cleanup of cleanups) {
        try {
          cleanup();
        } catch {
          // best effort
        }
      }
      process.exit(130);
    });
  }
}

export interface Spawned {
  child: ChildProcess;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code once the process ended. */
  exited: Promise<number | null>;
}

/** Spawns a process we own; its output is collected (and echoed with a prefix when `echo`). */
export function start(command: string, args: string[], options: SpawnOptions & { echo?: string } = {}): Spawned {
  hookExit();
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (text: string) => {
    out += text;
    if (out.length > 1_000_000) out = out.slice(-500_000);
  });
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    err += text;
    if (err.length > 1_000_000) err = err.slice(-500_000);
    if (options.echo) process.stderr.write(text.replace(/^(?=.)/gm, `[${options.echo}] `));
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      children.delete(child);
      resolve(code);
    });
  });
  if (child.pid === undefined) throw new Error(`Could not start ${command}`);
  return { child, pid: child.pid, stdout: () => out, stderr: () => err, exited };
}

/** A TypeScript file of this directory run by node with tsx's loader: one process, whose pid we poll. */
/**
 * The Node options every server of the bench runs with: those `npm start` gives Partway
 * (src/cli/node-options.ts), given to the tus and limit servers too so that all run alike.
 */
export { SERVER_NODE_OPTIONS } from '../../dist/cli/node-options.js';

export function startTs(file: string, args: string[], options: SpawnOptions & { echo?: string; nodeArgs?: string[] } = {}): Spawned {
  return start(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', join(BENCH_DIR, file), ...args], { cwd: ROOT, ...options });
}

/** Waits for a process to end by itself; returns its last stdout line parsed as JSON. */
export async function resultOf<T>(spawned: Spawned, what: string): Promise<T> {
  const code = await spawned.exited;
  const lines = spawned.stdout().trim().split('\n').filter(Boolean);
  const last = lines.at(-1);
  if (code !== 0 || last === undefined) {
    throw new Error(`${what} exited with ${code}\n--- stdout ---\n${spawned.stdout().slice(-4000)}\n--- stderr ---\n${spawned.stderr().slice(-4000)}`);
  }
  return JSON.parse(last) as T;
}

/** Ends a process we started: SIGTERM, then SIGKILL after `graceMs`. */
export async function stop(spawned: Spawned, graceMs = 10_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (spawned.child.exitCode !== null || spawned.child.signalCode !== null) return;
  spawned.child.kill(signal);
  const timer = setTimeout(() => spawned.child.kill('SIGKILL'), graceMs);
  await spawned.exited.catch(() => undefined);
  clearTimeout(timer);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls a URL until it answers (any status), or fails after `timeoutMs`. */
export async function waitForHttp(url: string, spawned: Spawned, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (spawned.child.exitCode !== null) {
      throw new Error(`The process serving ${url} exited with ${spawned.child.exitCode}:\n${spawned.stderr().slice(-4000)}${spawned.stdout().slice(-4000)}`);
    }
    try {
      const response = await request(url, { method: 'GET' });
      await response.body.dump();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
