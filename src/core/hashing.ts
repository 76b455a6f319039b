import { createHash, type Hash } from 'node:crypto';
import { BoxError, type BoxErrorCode } from './errors.js';

/**
 * Passes a body's bytes through while hashing and counting them, and stops the stream (by default
 * with a 416) the moment more bytes arrive than the limit, so an oversized body is never stored.
 */
export class PartMeter {
  readonly #limit: number;
  readonly #tooLong: BoxErrorCode;
  readonly #hash: Hash = createHash('sha1');
  readonly #also: Hash | undefined;
  readonly #tooLongMessage: string;
  #received = 0;
  #ended = false;

  /** `also`, if given, is fed the same bytes (the whole-file hash, for a part at its prefix). */
  constructor(limit: number, options: { tooLong?: BoxErrorCode; tooLongMessage?: string; also?: Hash | undefined } = {}) {
    this.#limit = limit;
    this.#tooLong = options.tooLong ?? 'requested_range_not_satisfiable';
    this.#tooLongMessage = options.tooLongMessage ?? `The body is longer than the ${limit} bytes expected`;
    this.#also = options.also;
  }

  get received(): number {
    return this.#received;
  }

  /** Whether the body was read to its end (rather than failing or being cut off). */
  get ended(): boolean {
    return this.#ended;
  }

  async *pass(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of body) {
      this.#received += chunk.byteLength;
      if (this.#received > this.#limit) {
        throw new BoxError(this.#tooLong, this.#tooLongMessage);
      }
      this.#hash.update(chunk);
      this.#also?.update(chunk);
      yield chunk;
    }
    this.#ended = true;
  }

  /** The SHA-1 (hex) of what passed; call once, after the stream ended. */
  sha1(): string {
    return this.#hash.digest('hex');
  }
}

/** Reads a stream to its end and returns its SHA-1 (hex) and length. */
export async function sha1Of(stream: AsyncIterable<Uint8Array>): Promise<{ sha1: string; size: number }> {
  const hash = createHash('sha1');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    size += chunk.byteLength;
  }
  return { sha1: hash.digest('hex'), size };
}
