import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SERVER_NODE_OPTIONS } from '../../src/cli/node-options.js';

/** The built CLI, as `npx partway` runs it. */
export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export async function runCli(args: string[], env: Record<string, string> = {}) {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
  return { stdout, stderr };
}

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** Everything the process wrote to stdout (JSON log lines). */
  output(): string;
}

/**
 * Starts `partway serve` as its own process, with the Node options `npm start` gives it (or
 * `nodeOptions`), and resolves once it listens.
 */
export function spawnServer(env: Record<string, string>, nodeOptions: readonly string[] = SERVER_NODE_OPTIONS): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...nodeOptions, CLI, 'serve'], {
    env: { ...process.env, PARTWAY_PORT: '0', PARTWAY_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      const match = /Partway is serving on (https?:\/\/[0-9.:]+)/.exec(output);
      if (match) resolve({ child, url: match[1]!, output: () => output });
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
    child.on('exit', (code) => reject(new Error(`partway serve exited with ${code}: ${output}`)));
  });
}

export function waitForExit(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}
