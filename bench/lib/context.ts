import { execFileSync } from 'node:child_process';
import { machineBusySeconds } from '../rss.js';

/** What every phase gets from run.ts. */
export interface BenchContext {
  /** Scratch directory (deleted at the end). */
  tmpDir: string;
  /** The test file of phases 1–3, its size and SHA-1 (hex). */
  file: string;
  fileSize: number;
  fileSha1: string;
  /** Part / chunk size used by every contender: Partway's default. */
  partSize: number;
  parallel: number;
  /** When set, Partway's server and client processes write V8 CPU profiles here. */
  cpuProfDir: string | undefined;
  log(message: string): void;
}

/** One timed upload of one contender. */
export interface ThroughputRun {
  name: string;
  run: number;
  ms: number;
  mibPerSecond: number;
  serverPeakRssMiB: number;
  serverCpuSeconds: number | undefined;
  clientCpuSeconds: number;
  clientMaxRssMiB: number;
  /** CPU the rest of the machine used meanwhile (busy time of all cores minus client and server). */
  otherCpuSeconds: number | undefined;
  /** Anything else the contender reports (phase timings). */
  detail: Record<string, number>;
}

/** Flushes dirty pages so one run's write-back does not land in the next run's time. */
export function syncDisks(): void {
  execFileSync('sync');
}

/**
 * Other processes share this machine's two cores; a run taken while they are busy measures them
 * too. Waits (up to `maxWaitSeconds`) until the machine's busy time over 2 s is under `cores` cores,
 * and says how busy it was. Our own processes are stopped between runs, so what is seen is others'.
 */
export async function waitForQuiet(maxWaitSeconds: number, log: (message: string) => void, cores = 0.25): Promise<number> {
  const deadline = Date.now() + maxWaitSeconds * 1000;
  let warned = false;
  for (;;) {
    const before = machineBusySeconds();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const busyCores = (machineBusySeconds() - before) / 2;
    if (busyCores < cores || Date.now() >= deadline) {
      if (busyCores >= cores) log(`  the machine is still busy (${busyCores.toFixed(2)} cores used by other processes); measuring anyway`);
      return busyCores;
    }
    if (!warned) log(`  other processes use ${busyCores.toFixed(2)} cores; waiting up to ${maxWaitSeconds} s for a quieter machine`);
    warned = true;
  }
}
