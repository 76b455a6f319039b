import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { MetadataStore } from '../metadata/store.js';

export interface DownloadGrant {
  fileId: string;
  versionId: string;
}

/**
 * Short-lived signed download tokens, like the `dl.boxcloud.com` URLs Box redirects to: the token
 * names one file version and an expiry, and an HMAC over both with a key shared by all nodes
 * through the metadata store. It needs no bearer token, so any HTTP client can follow the redirect.
 */
export class DownloadLinks {
  readonly #key: Buffer;
  readonly #ttlMs: number;
  readonly #now: () => number;

  private constructor(key: Buffer, ttlMs: number, now: () => number) {
    this.#key = key;
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  static async create(metadata: MetadataStore, ttlMs: number, now: () => number = Date.now): Promise<DownloadLinks> {
    const key = await metadata.getOrCreateSecret('download_link_key', () => randomBytes(32).toString('hex'));
    return new DownloadLinks(Buffer.from(key, 'hex'), ttlMs, now);
  }

  sign(grant: DownloadGrant): string {
    const payload = `${grant.fileId}.${grant.versionId}.${Math.ceil((this.#now() + this.#ttlMs) / 1000)}`;
    return `${payload}.${this.#mac(payload)}`;
  }

  /** The grant a token carries, or undefined if it is malformed, tampered with or expired. */
  verify(token: string): DownloadGrant | undefined {
    const match = /^([0-9]{1,19})\.([0-9]{1,19})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!match) return undefined;
    const [, fileId, versionId, expires, mac] = match as unknown as [string, string, string, string, string];
    const expected = Buffer.from(this.#mac(`${fileId}.${versionId}.${expires}`));
    if (!timingSafeEqual(expected, Buffer.from(mac))) return undefined;
    if (Number(expires) * 1000 < this.#now()) return undefined;
    return { fileId, versionId };
  }

  #mac(payload: string): string {
    return createHmac('sha256', this.#key).update(payload).digest('base64url');
  }
}
