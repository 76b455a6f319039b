import { readFileSync } from 'node:fs';

/** One process's memory and CPU, read from /proc (Linux). */
export interface ProcSample {
  rssKiB: number;
  hwmKiB: number;
  /** utime + stime, in seconds. */
  cpuSeconds: number;
}

const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux

export function readProc(pid: number): ProcSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    // Fields after the command name (which may hold spaces) start at field 3; utime is 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSeconds = (Number(rest[11]) + Number(rest[12])) / CLOCK_TICKS;
    return { rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM'), cpuSeconds };
  } catch {
    return undefined; // the process is gone
  }
}

/**
 * Polls a process's VmRSS (and VmHWM, the kernel's own high-water mark) every `intervalMs` and keeps
 * the largest. `peakMiB` is the larger of the two, so a peak between two polls is not missed while
 * the process is alive when `stop()` is called.
 */
export class RssSampler {
  readonly pid: number;
  #maxRssKiB = 0;
  #maxHwmKiB = 0;
  #samples = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #startCpu: number;

  constructor(pid: number, intervalMs = 100) {
    this.pid = pid;
    this.#startCpu = readProc(pid)?.cpuSeconds ?? 0;
    this.#poll();
    this.#timer = setInterval(() => this.#poll(), intervalMs);
    this.#timer.unref();
  }

  #poll(): ProcSample | undefined {
    const sample = readProc(this.pid);
    if (sample) {
      this.#samples++;
      this.#maxRssKiB = Math.max(this.#maxRssKiB, sample.rssKiB);
      this.#maxHwmKiB = Math.max(this.#maxHwmKiB, sample.hwmKiB);
    }
    return sample;
  }

  /** Stops polling; CPU seconds used since the sampler started (if the process is still alive). */
  stop(): { peakMiB: number; maxPolledRssMiB: number; hwmMiB: number; samples: number; cpuSeconds: number | undefined } {
    const last = this.#poll();
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    return {
      peakMiB: Math.max(this.#maxRssKiB, this.#maxHwmKiB) / 1024,
      maxPolledRssMiB: this.#maxRssKiB / 1024,
      hwmMiB: this.#maxHwmKiB / 1024,
      samples: this.#samples,
      cpuSeconds: last ? last.cpuSeconds - this.#startCpu : undefined,
    };
  }
}

/** CPU seconds the whole machine spent busy (all cores, /proc/stat), to tell other load from ours. */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / CLOCK_TICKS;
}
