import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RcloneResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Rclone {
  /** The remote's name in the generated config: `partway:` is Partway's root folder. */
  remote: string;
  run(args: readonly string[], options?: { timeoutMs?: number }): Promise<RcloneResult>;
  /** Runs and throws with rclone's output unless it exits 0. */
  ok(args: readonly string[], options?: { timeoutMs?: number }): Promise<string>;
  remove(): Promise<void>;
}

/**
 * Debian's rclone with its `box` backend, unchanged: its URLs (api.box.com, upload.box.com) are
 * compiled in, so it reaches Partway through `HTTPS_PROXY` (the test's TLS front) and trusts only the
 * test's CA (`--ca-cert`). The config is the test's own, with a Partway token as an OAuth access
 * token that does not expire, so rclone never asks Box's OAuth server for another.
 */
export async function rcloneFor(options: { proxyUrl: string; caPath: string; token: string }): Promise<Rclone> {
  const { home, env, args: common } = await rcloneSetup(options);
  const run = (args: readonly string[], runOptions: { timeoutMs?: number } = {}) => new Promise<RcloneResult>((resolve) => {
    execFile('rclone', [...common, '--retries', '1', '--low-level-retries', '2', ...args],
      { env, timeout: runOptions.timeoutMs ?? 120_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }));
  });
  return {
    remote: 'partway:',
    run,
    async ok(args, runOptions) {
      const result = await run(args, runOptions);
      if (result.code !== 0) throw new Error(`rclone ${args.join(' ')} exited ${result.code}:\n${result.stderr}`);
      return result.stdout;
    },
    remove: () => rm(home, { recursive: true, force: true }),
  };
}

/**
 * What running rclone against Partway takes, for callers that start it themselves (the benchmark,
 * which measures its CPU): a home with the config, the environment, and the arguments every run needs.
 */
export async function rcloneSetup(options: { proxyUrl: string; caPath: string; token: string }): Promise<{ home: string; env: Record<string, string>; args: string[] }> {
  const home = await mkdtemp(join(tmpdir(), 'partway-rclone-'));
  const config = join(home, 'rclone.conf');
  const token = JSON.stringify({ access_token: options.token, token_type: 'Bearer', expiry: '2099-01-01T00:00:00Z' });
  await writeFile(config, `[partway]\ntype = box\ntoken = ${token}\n`);
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, RCLONE_CONFIG: config,
    HTTPS_PROXY: options.proxyUrl, https_proxy: options.proxyUrl, NO_PROXY: '', no_proxy: '',
  };
  return { home, env, args: ['--ca-cert', options.caPath] };
}
