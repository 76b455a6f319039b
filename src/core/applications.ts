import { createPublicKey, randomBytes, timingSafeEqual } from 'node:crypto';
import type { MetadataStore } from '../metadata/store.js';
import type { ApplicationKeyRecord, ApplicationRecord, UserRecord } from './model.js';
import { hashSecret, type Tokens } from './tokens.js';

/** Box's client ids and secrets are 32 letters and digits; Partway's look the same. */
const CLIENT_ID = /^[0-9a-z]{32}$/;
/** Box's access tokens live an hour; `PARTWAY_ACCESS_TOKEN_LIFETIME` (config.accessTokenLifetimeMs) sets Partway's. */
export const DEFAULT_ACCESS_TOKEN_LIFETIME_MS = 60 * 60 * 1000;
/** A key id as it travels in a JWT header's `kid`; Box's are 8 letters and digits. */
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** RSA keys shorter than this are refused: Box's own are 2048 bits. */
const MIN_RSA_BITS = 2048;

/** What every grant answers with: a Partway token of the application's user, and how long it works. */
export interface AccessTokenGrant {
  accessToken: string;
  expiresInSeconds: number;
}

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
  readonly #accessTokenLifetimeMs: number;

  constructor(metadata: MetadataStore, tokens: Tokens, now: () => number = Date.now, accessTokenLifetimeMs = DEFAULT_ACCESS_TOKEN_LIFETIME_MS) {
    this.#metadata = metadata;
    this.#tokens = tokens;
    this.#now = now;
    this.#accessTokenLifetimeMs = accessTokenLifetimeMs;
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

  async list(): Promise<Array<ApplicationRecord & { userName: string; keys: ApplicationKeyRecord[] }>> {
    const applications = await this.#metadata.listApplications();
    return Promise.all(applications.map(async (application) => ({
      ...application,
      userName: (await this.#metadata.getUser(application.userId))?.name ?? '?',
      keys: await this.#metadata.listApplicationKeys(application.id),
    })));
  }

  /** Revokes the application and, at once, every access token it was given. */
  async revoke(clientId: string): Promise<boolean> {
    return this.#metadata.revokeApplication(clientId, this.#now());
  }

  /**
   * Registers an RSA public key (PEM) that checks the application's JWT assertions, under `keyId` or
   * a new id; throws, with a message for the operator, for anything else.
   */
  async addKey(clientId: string, publicKeyPem: string, keyId: string = randomAlphanumeric(8)): Promise<ApplicationKeyRecord> {
    const application = await this.#metadata.getApplication(clientId);
    if (!application || application.revokedAt !== null) throw new Error(`No active application ${clientId}`);
    if (!KEY_ID.test(keyId)) throw new Error('A key id is 1 to 64 letters, digits, dots, dashes or underscores');
    const key = rsaPublicKey(publicKeyPem);
    const record: ApplicationKeyRecord = {
      applicationId: clientId, id: keyId, publicKeyPem: key.export({ type: 'spki', format: 'pem' }).toString(), createdAt: this.#now(),
    };
    if (!(await this.#metadata.addApplicationKey(record))) throw new Error(`Application ${clientId} already has a key ${keyId}`);
    return record;
  }

  async removeKey(clientId: string, keyId: string): Promise<boolean> {
    return this.#metadata.removeApplicationKey(clientId, keyId);
  }

  /** The application, if it is active and the secret is its own (compared in constant time, found or not). */
  async authenticateClient(clientId: string, clientSecret: string): Promise<ApplicationRecord | undefined> {
    const application = CLIENT_ID.test(clientId) ? await this.#metadata.getApplication(clientId) : undefined;
    const presented = Buffer.from(hashSecret(clientSecret), 'hex');
    const stored = Buffer.from(application?.secretHash ?? '0'.repeat(64), 'hex');
    if (!application || application.revokedAt !== null || !timingSafeEqual(presented, stored)) return undefined;
    return application;
  }

  /** An access token of the application's user, tied to the application: every grant ends here. */
  async issueAccessToken(application: ApplicationRecord): Promise<AccessTokenGrant> {
    const { token } = await this.#tokens.issue(application.userId, this.#accessTokenLifetimeMs, application.id);
    return { accessToken: token, expiresInSeconds: Math.round(this.#accessTokenLifetimeMs / 1000) };
  }

  /** The client credentials grant: an access token for the application's user, or why not. */
  async grant(request: GrantRequest): Promise<AccessTokenGrant | { refused: GrantRefusal }> {
    const application = await this.authenticateClient(request.clientId, request.clientSecret);
    if (!application) return { refused: 'invalid_client' };
    if (request.subjectType === 'user' && request.subjectId !== application.userId) return { refused: 'invalid_grant' };
    return this.issueAccessToken(application);
  }
}

/** The key as Node reads it, if it is an RSA public key (or a certificate's) of at least 2048 bits. */
function rsaPublicKey(pem: string): ReturnType<typeof createPublicKey> {
  let key: ReturnType<typeof createPublicKey>;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw new Error('Not a PEM public key');
  }
  if (key.asymmetricKeyType !== 'rsa') throw new Error(`Not an RSA key (${key.asymmetricKeyType}): Box's JWT grant signs with RS256, RS384 or RS512`);
  if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) throw new Error(`The RSA key is shorter than ${MIN_RSA_BITS} bits`);
  return key;
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
