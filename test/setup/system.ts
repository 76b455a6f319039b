import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

export const run = promisify(execFile);

/** A service the test set-up could not provide: why, and the command that would provide it. */
export class Unavailable extends Error {
  constructor(readonly why: string, readonly remedy: string) {
    super(why);
  }
}

/** What the set-up provides for one service: the variables the tests read, and how to stop what it started. */
export interface Provided {
  env: Record<string, string>;
  /** One line for the start of the run: what is used. */
  description: string;
  stop?(): Promise<void>;
  /** The same, synchronously, for a run that is interrupted (vitest exits without its teardown). */
  stopNow?(): void;
}

export const isRoot = process.getuid?.() === 0;

export function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && executable(join(dir, command)));
}

/** Why this run may not install Debian packages, or undefined when it may. */
export function whyNoApt(): string | undefined {
  if (!onPath('apt-get')) return 'no apt-get on this machine (not Debian?)';
  if (!isRoot) return 'installing needs root';
  return undefined;
}

/** `apt-get install`, after an `apt-get update` if the package lists do not know a package yet. */
export async function aptInstall(packages: string[]): Promise<void> {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Wait for another apt/dpkg run (another engineer, unattended upgrades) rather than fail at once.
  const install = () => run('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'install', '-y', '-qq', '--no-install-recommends', ...packages],
    { env, maxBuffer: 64 * 1024 * 1024 });
  try {
    await install();
  } catch {
    await run('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'update', '-qq'], { env, maxBuffer: 64 * 1024 * 1024 }).catch(() => {});
    try {
      await install();
    } catch (error) {
      throw new Error(`apt-get install ${packages.join(' ')} failed: ${lastLines(error)}`);
    }
  }
}

/** Whether nothing listens on this TCP port of 127.0.0.1 (0: asks for any free port, and answers it). */
function tryListen(port: number): Promise<number | undefined> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as { port: number };
      server.close(() => resolve(bound));
    });
  });
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  const port = await tryListen(0);
  if (port === undefined) throw new Error('no free TCP port on 127.0.0.1');
  return port;
}

/** The first of `count` consecutive free ports, below the ephemeral range so that no client socket takes one meanwhile. */
export async function freePorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = 20_000 + Math.floor(Math.random() * 12_000);
    const ports = Array.from({ length: count }, (_, index) => first + index);
    if ((await Promise.all(ports.map(tryListen))).every((port) => port !== undefined)) return first;
  }
  throw new Error(`no ${count} consecutive free TCP ports on 127.0.0.1`);
}

/** The last lines a failed command printed (stderr, else stdout, else its message). */
export function lastLines(error: unknown, lines = 5): string {
  const failed = error as { stderr?: string; stdout?: string; message?: string };
  const text = (failed.stderr?.trim() || failed.stdout?.trim() || failed.message || String(error)).trim();
  return text.split('\n').slice(-lines).join(' | ');
}
