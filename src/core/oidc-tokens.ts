import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { MetadataStore } from '../metadata/store.js';
import type { UserRecord } from './model.js';

export interface OidcSettings {
  /** The issuer exactly as its tokens' `iss` names it, e.g. https://login.example.com/realms/staff. */
  issuer: string;
  /** The `aud` a token must name to be accepted here. */
  audience: string;
  /** The claim that names the user (default `sub`). */
  userClaim: string;
}

export interface OidcTiming {
  /** Least time between two fetches of the key set forced by an unknown `kid` (a flood of forged kids cannot hammer the IdP). */
  keysCooldownMs: number;
  /** Least time before discovery is tried again after it failed. */
  discoveryRetryMs: number;
}

/** Signatures with a public key only: never `none` nor HS*, where the IdP's public key would become a shared secret. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
/** Clocks of the IdP and this node may differ a little. */
const CLOCK_TOLERANCE_SECONDS = 30;
/** Three base64url segments; anything else is not worth a signature check. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const MAX_TOKEN_LENGTH = 16 * 1024;
const MAX_CLAIM_LENGTH = 256;
const FETCH_TIMEOUT_MS = 5_000;
/** While the IdP is away every request for its tokens fails the same way; one warning per interval says so. */
const WARNING_INTERVAL_MS = 10_000;

/**
 * JWT access tokens of the organisation's OpenID Connect provider. The key set's address comes from the
 * issuer's discovery document (fetched once, retried after a failure); jose keeps the keys, and fetches
 * them again when a token names a `kid` it does not know. A token's user is the configured claim, mapped
 * to the Partway user `<claim>@<issuer>` and created on first use (its display name from `name`, else
 * `preferred_username`). Any failure is `undefined`: the
 * same 401 as an unknown token; nothing is stored, and the token itself is never logged.
 */
export class OidcTokens {
  readonly #settings: OidcSettings;
  readonly #timing: OidcTiming;
  readonly #metadata: MetadataStore;
  readonly #now: () => number;
  readonly #onWarning: (message: string, error: unknown) => void;
  #keys: JWTVerifyGetKey | undefined;
  #discovering: Promise<JWTVerifyGetKey | undefined> | undefined;
  #retryAt = 0;
  #warnedAt = -Infinity;

  constructor(options: { settings: OidcSettings; timing: OidcTiming; metadata: MetadataStore; now?: () => number;
    onWarning?: (message: string, error: unknown) => void; }) {
    this.#settings = options.settings;
    this.#timing = options.timing;
    this.#metadata = options.metadata;
    this.#now = options.now ?? Date.now;
    this.#onWarning = options.onWarning ?? (() => {});
  }

  /** Whether a bearer credential is shaped like a JWT (so worth asking the IdP's keys about). */
  static looksLikeJwt(bearer: string): boolean {
    return bearer.length <= MAX_TOKEN_LENGTH && JWT_SHAPE.test(bearer);
  }

  /** Finds the key set's address; called at start so that an IdP that is down is reported early. Never throws. */
  async discover(): Promise<boolean> {
    return (await this.#keySet()) !== undefined;
  }

  async authenticate(bearer: string): Promise<UserRecord | undefined> {
    if (!OidcTokens.looksLikeJwt(bearer)) return undefined;
    const keys = await this.#keySet();
    if (keys === undefined) return undefined;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(bearer, keys, {
        issuer: this.#settings.issuer, audience: this.#settings.audience, algorithms: ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS, currentDate: new Date(this.#now()), requiredClaims: ['exp'],
      }));
    } catch (error) {
      // A bad token is the caller's business; an IdP that does not answer is the operator's.
      if (!(error instanceof errors.JOSEError) || error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) {
        this.#warn('the identity provider\'s keys could not be fetched; its tokens are refused meanwhile', error);
      }
      return undefined;
    }
    const subject = claimText(payload[this.#settings.userClaim]);
    if (subject === undefined) return undefined;
    const name = `${subject}@${this.#settings.issuer}`;
    // A read first: creating is a write transaction, needed once per user rather than once per request.
    return await this.#metadata.getUserByName(name)
      ?? this.#metadata.ensureUser(name, this.#now(), claimText(payload.name) ?? claimText(payload.preferred_username));
  }

  #warn(message: string, error: unknown): void {
    if (Date.now() - this.#warnedAt < WARNING_INTERVAL_MS) return;
    this.#warnedAt = Date.now();
    this.#onWarning(message, error);
  }

  async #keySet(): Promise<JWTVerifyGetKey | undefined> {
    if (this.#keys !== undefined) return this.#keys;
    if (Date.now() < this.#retryAt) return undefined;
    // One discovery at a time, however many tokens arrive while it runs.
    this.#discovering ??= this.#discoverKeySet().finally(() => { this.#discovering = undefined; });
    return this.#discovering;
  }

  async #discoverKeySet(): Promise<JWTVerifyGetKey | undefined> {
    const address = `${this.#settings.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    try {
      const response = await fetch(address, { redirect: 'error', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
      if (!response.ok) throw new Error(`${address} answered ${response.status}`);
      const document = await response.json() as { issuer?: unknown; jwks_uri?: unknown };
      // OpenID Connect Discovery 1.0, 4.3: the document must name the issuer it was fetched for.
      if (document.issuer !== this.#settings.issuer) throw new Error(`${address} names the issuer ${JSON.stringify(document.issuer)}`);
      if (typeof document.jwks_uri !== 'string' || !/^https?:\/\//.test(document.jwks_uri)) throw new Error(`${address} has no jwks_uri`);
      this.#keys = createRemoteJWKSet(new URL(document.jwks_uri), {
        cooldownDuration: this.#timing.keysCooldownMs, timeoutDuration: FETCH_TIMEOUT_MS,
      });
      return this.#keys;
    } catch (error) {
      this.#retryAt = Date.now() + this.#timing.discoveryRetryMs;
      this.#warn('the identity provider\'s discovery document could not be read; its tokens are refused until it answers', error);
      return undefined;
    }
  }
}

/** The claim as a user name part: a non-empty string without control characters, bounded in length. */
function claimText(value: unknown): string | undefined {
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_CLAIM_LENGTH) return undefined;
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f]/.test(text) ? undefined : text;
}
