import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { MetadataStore } from '../metadata/store.js';
import type { ApplicationRecord, UserRecord } from './model.js';
import { hashSecret, type Tokens } from './tokens.js';

/** Box's client ids and secrets are 32 letters and digits; Partway's look the same. */
const CLIENT_ID = /^[0-9a-z]{32}$/;
/** Box's access tokens from the client credentials grant live an hour. */
export const ACCESS_TOKEN_LIFETIME_MS = 60 * 60 * 1000;

/** Why a client credentials grant was refused, in OAuth 2.0's words (RFC 6749 §5.2). */
export type GrantRefusal = 'invalid_client' | 'invalid_grant';

export interface GrantRequest {
  clientId: string;
  clientSecret: string;
  /** Box's `box_subject_type`: `user` or `enterprise` (which here is the application's user too). */
  subjectType: 'user' | 'enterprise';
  /** Box's `box_subject_id`: for `user`, the id of the user the token is for. */
  subjectId: string | undefined;
}

/**
 * OAuth 2.0 applications for Box's client credentials grant: each acts as one user, and trades its id
 * and secret for an access token (a Partway token that expires). Only SHA-256 of the secret is stored,
 * as for tokens, and compared in constant time.
 */
export class Applications {
  readonly #metadata: MetadataStore;
  readonly #tokens: Tokens;
  readonly #now: () => number;

  constructor(metadata: MetadataStore, tokens: Tokens, now: () => number = Date.now) {
    this.#metadata = metadata;
    this.#tokens = tokens;
    this.#now = now;
  }

  /** Creates the user if needed and an application acting as it; the secret is shown only this once. */
  async create(userName: string): Promise<{ clientId: string; clientSecret: string; record: ApplicationRecord; user: UserRecord }> {
    const user = await this.#metadata.ensureUser(userName, this.#now());
    const clientId = randomAlphanumeric();
    const clientSecret = randomAlphanumeric();
    const record: ApplicationRecord = { id: clientId, userId: user.id, secretHash: hashSecret(clientSecret), createdAt: this.#now(), revokedAt: null };
    await this.#metadata.addApplication(record);
    return { clientId, clientSecret, record, user };
  }

  async list(): Promise<Array<ApplicationRecord & { userName: string }>> {
    const applications = await this.#metadata.listApplications();
    return Promise.all(applications.map(async (application) =>
      ({ ...application, userName: (await this.#metadata.getUser(application.userId))?.name ?? '?' })));
  }

  async revoke(clientId: string): Promise<boolean> {
    return this.#metadata.revokeApplication(clientId, this.#now());
  }

  /** An access token for the application's user, or why not. */
  async grant(request: GrantRequest): Promise<{ accessToken: string; expiresInSeconds: number } | { refused: GrantRefusal }> {
    const application = CLIENT_ID.test(request.clientId) ? await this.#metadata.getApplication(request.clientId) : undefined;
    const presented = Buffer.from(hashSecret(request.clientSecret), 'hex');
    const stored = Buffer.from(application?.secretHash ?? '0'.repeat(64), 'hex');
    if (!application || application.revokedAt !== null || !timingSafeEqual(presented, stored)) return { refused: 'invalid_client' };
    if (request.subjectType === 'user' && request.subjectId !== application.userId) return { refused: 'invalid_grant' };
    const { token } = await this.#tokens.issue(application.userId, ACCESS_TOKEN_LIFETIME_MS);
    return { accessToken: token, expiresInSeconds: ACCESS_TOKEN_LIFETIME_MS / 1000 };
  }
}

function randomAlphanumeric(length = 32): string {
  const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';
  // 256 is not a multiple of 36: bytes from 252 up are skipped so that every character is equally likely.
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length)) if (byte < 252 && out.length < length) out += alphabet[byte % 36];
  }
  return out;
}
