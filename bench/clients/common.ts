import { performance } from 'node:perf_hooks';

/** Command-line `--name value` pairs. */
export function args(): Record<string, string> {
  const result: Record<string, string> = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i]!;
    if (!name.startsWith('--') || argv[i + 1] === undefined) throw new Error(`Bad arguments: ${argv.join(' ')}`);
    result[name.slice(2)] = argv[i + 1]!;
  }
  return result;
}

export function required(values: Record<string, string>, name: string): string {
  const value = values[name];
  if (value === undefined) throw new Error(`--${name} is required`);
  return value;
}

/** What every client prints as its last line: its own timings, CPU and peak memory. */
export function finish(result: Record<string, unknown>): void {
  const usage = process.resourceUsage();
  process.stdout.write(`${JSON.stringify({
    ...result,
    clientCpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
    clientMaxRssMiB: usage.maxRSS / 1024,
  })}\n`);
}

export const now = () => performance.now();

export function fail(error: unknown): never {
  process.stderr.write(`${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
}
