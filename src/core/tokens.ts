import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { MetadataStore } from '../metadata/store.js';
import type { TokenRecord, UserRecord } from './model.js';

const TOKEN = /^pw_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/**
 * Bearer tokens: `pw_<id>_<secret>`. Only SHA-256 of the secret is stored (the secret has 256 bits of
 * entropy, so a fast hash is enough); the id finds the record and the hashes are compared in
 * constant time. Revoking takes effect on the next request, since nothing is cached.
 */
export class Tokens {
  readonly #metadata: MetadataStore;
  readonly #now: () => number;

  constructor(metadata: MetadataStore, now: () => number = Date.now) {
    this.#metadata = metadata;
    this.#now = now;
  }

  /** Creates the user if needed and a new token for it; returns the token, shown only this once. */
  async create(userName: string): Promise<{ token: string; record: TokenRecord; user: UserRecord }> {
    const user = await this.#metadata.ensureUser(userName, this.#now());
    return { ...(await this.issue(user.id)), user };
  }

  /**
   * A new token for an existing user, working for `lifetimeMs` when given (else until revoked), and
   * revoked with the application it was granted to, if any.
   */
  async issue(userId: string, lifetimeMs?: number, applicationId?: string): Promise<{ token: string; record: TokenRecord }> {
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const now = this.#now();
    const record: TokenRecord = {
      id, userId, secretHash: hashSecret(secret), createdAt: now, revokedAt: null,
      ...(lifetimeMs !== undefined && { expiresAt: now + lifetimeMs }),
      ...(applicationId !== undefined && { applicationId }),
    };
    await this.#metadata.addToken(record);
    return { token: `pw_${id}_${secret}`, record };
  }

  async authenticate(bearer: string): Promise<UserRecord | undefined> {
    const match = TOKEN.exec(bearer);
    if (!match) return undefined;
    const record = await this.#metadata.getToken(match[1]!);
    const presented = Buffer.from(hashSecret(match[2]!), 'hex');
    const stored = Buffer.from(record?.secretHash ?? '0'.repeat(64), 'hex');
    if (!record || record.revokedAt !== null || !timingSafeEqual(presented, stored)) return undefined;
    if (record.expiresAt !== undefined && record.expiresAt <= this.#now()) return undefined;
    return this.#metadata.getUser(record.userId);
  }

  async list(userName?: string): Promise<Array<TokenRecord & { userName: string }>> {
    const user = userName === undefined ? undefined : await this.#metadata.getUserByName(userName);
    if (userName !== undefined && !user) return [];
    const tokens = await this.#metadata.listTokens(user?.id);
    const names = new Map<string, string>();
    for (const token of tokens) {
      if (!names.has(token.userId)) names.set(token.userId, (await this.#metadata.getUser(token.userId))?.name ?? '?');
    }
    return tokens.map((token) => ({ ...token, userName: names.get(token.userId)! }));
  }

  /** Accepts a token's id or the whole token. */
  async revoke(idOrToken: string): Promise<boolean> {
    const id = TOKEN.exec(idOrToken)?.[1] ?? idOrToken;
    return this.#metadata.revokeToken(id, this.#now());
  }
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
