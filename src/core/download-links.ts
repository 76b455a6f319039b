import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { MetadataStore } from '../metadata/store.js';
import { asBlobKey, type BlobKey } from './model.js';

export interface DownloadGrant {
  fileId: string;
  versionId: string;
}

/**
 * Bytes stored but not yet a file (a session's joined blob, a simple upload's), which the operator's
 * pre-commit hook may read (a virus scanner). The session, when there is one, must still be active.
 */
export interface PendingContentGrant {
  blobKey: BlobKey;
  size: number;
  /** The bytes' SHA-1 (hex), served as their ETag. */
  sha1: string;
  sessionId: string | null;
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
  /** Pending-content tokens whose hook has answered, until they expire anyway (this process only). */
  readonly #revoked = new Map<string, number>();

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

  /**
   * A token for pending content, living `lifetimeMs` (the hook's timeout and a margin, not the download
   * links' lifetime). It starts with `p.`, where a file's starts with a digit, so neither passes for the other.
   */
  signPending(grant: PendingContentGrant, lifetimeMs: number): string {
    const expires = Math.ceil((this.#now() + lifetimeMs) / 1000);
    // A nonce, so that revoking one hook's link never ends another's for the same bytes in the same second.
    const nonce = randomBytes(9).toString('base64url');
    const payload = `p.${nonce}.${grant.sessionId ?? '-'}.${grant.size}.${grant.sha1}.${expires}.${Buffer.from(grant.blobKey).toString('base64url')}`;
    return `${payload}.${this.#mac(payload)}`;
  }

  /** The pending content a token names, or undefined if it is no such token, tampered with or expired. */
  verifyPending(token: string): PendingContentGrant | undefined {
    const match = /^(p\.[A-Za-z0-9_-]{12}\.([0-9A-F]{32}|-)\.([0-9]{1,16})\.([0-9a-f]{40})\.([0-9]{1,12})\.([A-Za-z0-9_-]{1,1000}))\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!match) return undefined;
    const [, payload, sessionId, size, sha1, expires, blobKey, mac] = match as unknown as [string, string, string, string, string, string, string, string];
    if (!this.#macMatches(payload, mac)) return undefined;
    if (Number(expires) * 1000 < this.#now() || this.#revoked.has(token)) return undefined;
    return {
      blobKey: asBlobKey(Buffer.from(blobKey, 'base64url').toString()), size: Number(size), sha1, sessionId: sessionId === '-' ? null : sessionId,
    };
  }

  /**
   * Ends a pending-content token before its expiry, on this node: its hook has answered. Other nodes
   * still honour it until it expires, which is why its lifetime is only the hook's timeout.
   */
  revokePending(token: string): void {
    const now = this.#now();
    for (const [revoked, expiresAt] of this.#revoked) if (expiresAt < now) this.#revoked.delete(revoked);
    const expires = /\.([0-9]{1,12})\.[A-Za-z0-9_-]{1,1000}\.[A-Za-z0-9_-]{43}$/.exec(token)?.[1];
    if (expires !== undefined) this.#revoked.set(token, Number(expires) * 1000);
  }

  /** The grant a token carries, or undefined if it is malformed, tampered with or expired. */
  verify(token: string): DownloadGrant | undefined {
    const match = /^([0-9]{1,19})\.([0-9]{1,19})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!match) return undefined;
    const [, fileId, versionId, expires, mac] = match as unknown as [string, string, string, string, string];
    if (!this.#macMatches(`${fileId}.${versionId}.${expires}`, mac)) return undefined;
    if (Number(expires) * 1000 < this.#now()) return undefined;
    return { fileId, versionId };
  }

  #macMatches(payload: string, mac: string): boolean {
    return timingSafeEqual(Buffer.from(this.#mac(payload)), Buffer.from(mac));
  }

  #mac(payload: string): string {
    return createHmac('sha256', this.#key).update(payload).digest('base64url');
  }
}
