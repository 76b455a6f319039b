import { request } from 'undici';

/**
 * Sends one small authenticated request after another (a pause of `intervalMs` between them) while a
 * big upload runs, and records how long each took: does the upload's hashing and writing hold up
 * other clients' requests?
 */
export class LatencyProbe {
  readonly #latenciesMs: number[] = [];
  #running = true;
  readonly #done: Promise<void>;

  constructor(url: string, token: string, intervalMs = 25) {
    this.#done = this.#loop(url, token, intervalMs);
  }

  async #loop(url: string, token: string, intervalMs: number): Promise<void> {
    while (this.#running) {
      const t0 = performance.now();
      const response = await request(url, { headers: { authorization: `Bearer ${token}` } });
      await response.body.dump();
      if (response.statusCode !== 200) throw new Error(`latency probe: ${url} answered ${response.statusCode}`);
      this.#latenciesMs.push(performance.now() - t0);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }

  /** Stops probing; latency percentiles in ms. */
  async stop(): Promise<{ count: number; p50Ms: number; p99Ms: number; maxMs: number }> {
    this.#running = false;
    await this.#done;
    const sorted = [...this.#latenciesMs].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
    return { count: sorted.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: sorted.at(-1) ?? Number.NaN };
  }
}
