/**
 * Transfer rate over a sliding window, for "12.3 MB/s, 2 min left". Only bytes that moved while
 * measuring count: parts found already on the server are a jump in progress, not speed.
 */
export class RateMeter {
  readonly #windowMs: number;
  #samples: { at: number; bytes: number }[] = [];

  constructor(windowMs = 8000) {
    this.#windowMs = windowMs;
  }

  /** Records the total bytes done at `at` (ms). Call `reset()` when the transfer stops. */
  sample(bytes: number, at = performance.now()): void {
    this.#samples.push({ at, bytes });
    while (this.#samples.length > 2 && this.#samples[1]!.at < at - this.#windowMs) this.#samples.shift();
  }

  /** Marks a jump that is not transfer (e.g. parts an earlier run stored): the window restarts from it. */
  rebase(bytes: number, at = performance.now()): void {
    this.#samples = [{ at, bytes }];
  }

  reset(): void {
    this.#samples = [];
  }

  /** Bytes per second, or undefined until there is enough to tell. */
  bytesPerSecond(now = performance.now()): number | undefined {
    const first = this.#samples[0];
    const last = this.#samples[this.#samples.length - 1];
    if (!first || !last || last === first) return undefined;
    // Measured up to now, so a stall shows as a falling rate rather than the last good one.
    const elapsed = Math.max(now, last.at) - first.at;
    if (elapsed < 250) return undefined;
    return (last.bytes - first.bytes) / (elapsed / 1000);
  }
}

/** Seconds left at `rate`, or undefined when it cannot be told. */
export function secondsLeft(remainingBytes: number, bytesPerSecond: number | undefined): number | undefined {
  if (bytesPerSecond === undefined || bytesPerSecond <= 0) return undefined;
  return remainingBytes / bytesPerSecond;
}
