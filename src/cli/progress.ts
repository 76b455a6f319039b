import cliProgress from 'cli-progress';
import { formatBytes } from '../client/format-bytes.js';

export type ProgressMode = 'bars' | 'lines' | 'quiet';

/** One progress display per command: bars on a terminal, plain lines otherwise, or nothing. */
export class ProgressDisplay {
  readonly #mode: ProgressMode;
  readonly #bars: cliProgress.MultiBar | undefined;

  constructor(mode: ProgressMode) {
    this.#mode = mode;
    if (mode === 'bars') {
      this.#bars = new cliProgress.MultiBar({
        format: '{name} [{bar}] {percentage}% | {doneText} of {totalText} | {rateText} | ETA {eta_formatted}',
        hideCursor: true, clearOnComplete: false, stopOnComplete: true, etaBuffer: 50, fps: 5,
      }, cliProgress.Presets.shades_classic);
    }
  }

  /** A tracker for one transfer; `update` takes bytes done so far. */
  track(name: string, total: number): { update(done: number): void; stop(): void } {
    const started = Date.now();
    const rate = (done: number) => `${formatBytes(done / Math.max((Date.now() - started) / 1000, 0.001))}/s`;
    if (this.#mode === 'bars') {
      const bar = this.#bars!.create(total, 0, { name, doneText: formatBytes(0), totalText: formatBytes(total), rateText: '' });
      return {
        update: (done) => bar.update(done, { doneText: formatBytes(done), rateText: rate(done) }),
        stop: () => bar.stop(),
      };
    }
    if (this.#mode === 'lines') {
      let lastLine = 0;
      return {
        update: (done) => {
          if (Date.now() - lastLine < 2000 && done < total) return;
          lastLine = Date.now();
          process.stderr.write(`${name}: ${total === 0 ? 100 : Math.floor((done / total) * 100)}% (${formatBytes(done)} of ${formatBytes(total)}, ${rate(done)})\n`);
        },
        stop: () => {},
      };
    }
    return { update: () => {}, stop: () => {} };
  }

  stop(): void {
    this.#bars?.stop();
  }
}
