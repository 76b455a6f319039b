import { createSHA1, type IHasher } from 'hash-wasm';

/**
 * SHA-1 for the uploader. Browsers give `crypto.subtle` only to secure contexts (https, localhost),
 * and it cannot hash incrementally anyway, so the whole-file hash always uses hash-wasm (WebAssembly,
 * works on plain http such as `http://nas.local:8080`). A part's own hash uses `crypto.subtle` where
 * it exists (it runs off the main thread) and hash-wasm elsewhere.
 */

/** Bytes hashed between two yields to the event loop, so the page stays responsive. */
const SLICE = 4 * 1024 * 1024;

export class IncrementalSha1 {
  readonly #hasher: IHasher;

  private constructor(hasher: IHasher) {
    this.#hasher = hasher;
  }

  static async create(): Promise<IncrementalSha1> {
    return new IncrementalSha1((await createSHA1()).init());
  }

  async update(bytes: Uint8Array): Promise<void> {
    for (let start = 0; start < bytes.byteLength; start += SLICE) {
      if (start > 0) await yieldToEventLoop();
      this.#hasher.update(bytes.subarray(start, Math.min(start + SLICE, bytes.byteLength)));
    }
  }

  digest(): Uint8Array {
    return this.#hasher.digest('binary');
  }
}

/** SHA-1 of one part, as raw bytes. */
export async function sha1Of(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  if (globalThis.isSecureContext && globalThis.crypto?.subtle) {
    return new Uint8Array(await crypto.subtle.digest('SHA-1', bytes));
  }
  const hasher = await IncrementalSha1.create();
  await hasher.update(bytes);
  return hasher.digest();
}

/** Which implementation `sha1Of` uses here (shown in the page footer, and read by the tests). */
export function partHashImplementation(): 'crypto.subtle' | 'hash-wasm' {
  return globalThis.isSecureContext && globalThis.crypto?.subtle ? 'crypto.subtle' : 'hash-wasm';
}

export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
