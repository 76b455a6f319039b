import { Worker } from 'node:worker_threads';

/**
 * SHA-1 on a thread of its own, over buffers the main thread shares with it (SharedArrayBuffer: no
 * copy). Hashing on the main thread stopped the event loop for every part (two passes of 8 MiB), so
 * the parts in flight were not written to their sockets meanwhile; here the main thread only reads
 * and sends. The worker is inline (`eval`) so that it loads the same from dist/ and under a test
 * runner's loader, and unref'd so that it never keeps a process alive. Each buffer crosses to the
 * worker once (posting a SharedArrayBuffer cost about a millisecond each time); later messages name it.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
let running = createHash('sha1');
const buffers = [];
parentPort.on('message', ({ id, op, index, buffer, length }) => {
  try {
    if (buffer) buffers[index] = buffer;
    buffer = buffers[index];
    if (op === 'part') parentPort.postMessage({ id, sha1: createHash('sha1').update(new Uint8Array(buffer, 0, length)).digest() });
    else if (op === 'update') { running.update(new Uint8Array(buffer, 0, length)); parentPort.postMessage({ id }); }
    else { parentPort.postMessage({ id, sha1: running.digest() }); running = createHash('sha1'); }
  } catch (error) {
    parentPort.postMessage({ id, error: String(error && error.message || error) });
  }
});`;

interface Answer { id: number; sha1?: Uint8Array; error?: string }

export class Sha1Worker {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve(answer: Answer): void; reject(error: Error): void }>();
  #nextId = 0;
  readonly #buffers = new Map<SharedArrayBuffer, number>();
  #failed: Error | undefined;

  constructor() {
    this.#worker = new Worker(WORKER_SOURCE, { eval: true });
    this.#worker.unref();
    this.#worker.on('message', (answer: Answer) => {
      const waiting = this.#pending.get(answer.id);
      this.#pending.delete(answer.id);
      if (answer.error !== undefined) waiting?.reject(new Error(`SHA-1 worker: ${answer.error}`));
      else waiting?.resolve(answer);
    });
    const fail = (error: Error) => {
      this.#failed ??= error;
      for (const waiting of this.#pending.values()) waiting.reject(error);
      this.#pending.clear();
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) => fail(new Error(`SHA-1 worker exited (${code})`)));
  }

  /** The SHA-1 of the first `length` bytes of `buffer` alone. */
  async sha1Of(buffer: SharedArrayBuffer, length: number): Promise<Uint8Array> {
    return (await this.#ask({ op: 'part', buffer, length })).sha1!;
  }

  /** Adds the first `length` bytes of `buffer` to the running hash; resolves once they are read. */
  async update(buffer: SharedArrayBuffer, length: number): Promise<void> {
    await this.#ask({ op: 'update', buffer, length });
  }

  /** The running hash's SHA-1; the next update starts a new one. */
  async digest(): Promise<Uint8Array> {
    return (await this.#ask({ op: 'digest' })).sha1!;
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }

  #ask(message: { op: string; buffer?: SharedArrayBuffer; length?: number }): Promise<Answer> {
    if (this.#failed) return Promise.reject(this.#failed);
    const id = this.#nextId++;
    const { buffer, ...rest } = message;
    let index = buffer === undefined ? undefined : this.#buffers.get(buffer);
    const first = buffer !== undefined && index === undefined;
    if (first) this.#buffers.set(buffer, index = this.#buffers.size);
    return new Promise<Answer>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, ...rest, index, ...(first ? { buffer } : {}) });
    });
  }
}
