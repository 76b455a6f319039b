/**
 * Parts in flight, shared by the Node client and the web uploader (no imports, no I/O): the reader
 * starts each part's upload with `start`, which waits while `limit` are running. The first part that
 * fails for good stops the others (through `stop`) and is kept in `failure`; the reader then stops too.
 */
export class PartsInFlight {
  readonly #limit: number;
  readonly #stop: AbortController;
  readonly #running = new Set<Promise<void>>();
  #failure: { error: unknown } | undefined;

  constructor(limit: number, stop: AbortController) {
    this.#limit = limit;
    this.#stop = stop;
  }

  /** Whether a part failed or the uploads were stopped: start no more. */
  get stopped(): boolean {
    return this.#failure !== undefined || this.#stop.signal.aborted;
  }

  /** The first failure of a part, if any. */
  get failure(): { error: unknown } | undefined {
    return this.#failure;
  }

  /** Waits for a free slot, then starts `upload`; false (and nothing started) once stopped. */
  async start(upload: (signal: AbortSignal) => Promise<void>): Promise<boolean> {
    while (this.#running.size >= this.#limit && this.#failure === undefined) await Promise.race(this.#running);
    if (this.stopped) return false;
    const running: Promise<void> = upload(this.#stop.signal)
      .catch((error: unknown) => {
        this.#failure ??= { error };
        this.#stop.abort();
      })
      .finally(() => this.#running.delete(running));
    this.#running.add(running);
    return true;
  }

  /** Waits for every part started (failures are in `failure`). */
  async settled(): Promise<void> {
    await Promise.all(this.#running);
  }

  /** The reader failed: stops the parts in flight and waits for them to end. */
  async abandon(): Promise<void> {
    this.#stop.abort();
    await Promise.allSettled(this.#running);
  }
}
