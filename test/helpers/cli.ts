import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from './process.js';

export interface CliOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunningCli {
  child: ChildProcess;
  /** Settles when the process has exited, with everything it wrote. */
  done: Promise<CliOutcome>;
  stdout(): string;
  stderr(): string;
}

/**
 * The environment for a `partway` client command: this process's, minus any PARTWAY_* or XDG_* that
 * could point at a real configuration, plus the test's own (config and state dirs among them).
 */
export function cliEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('PARTWAY_') && !key.startsWith('XDG_')));
  return { ...base, ...env };
}

const started = new Set<ChildProcess>();

/** Starts `node dist/cli/main.js ...args` with stdio piped (not a TTY) and collects its output. */
export function startCli(args: string[], env: Record<string, string>): RunningCli {
  const child = spawn(process.execPath, [CLI, ...args], { env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child);
  child.on('exit', () => started.delete(child));
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const done = new Promise<CliOutcome>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done, stdout: () => stdout, stderr: () => stderr };
}

/** Runs a command to its end; never rejects on a non-zero exit (the test looks at the code). */
export function runPartway(args: string[], env: Record<string, string>): Promise<CliOutcome> {
  return startCli(args, env).done;
}

/** The JSON lines a `--json` command printed on stdout. */
export function jsonLines(stdout: string): any[] {
  return stdout.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line));
}

/** A fresh directory under the OS temp dir, and a way to remove it. */
export async function tempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** The files in a directory (none if it does not exist). */
export async function filesIn(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

/** Kills (by their own handles) the CLI processes this test file started that are still running, e.g. after a failed test. */
export async function killStartedClis(): Promise<void> {
  await Promise.all([...started].map((child) => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  })));
}
