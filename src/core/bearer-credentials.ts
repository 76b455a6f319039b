import type { UserRecord } from './model.js';
import type { OidcTokens } from './oidc-tokens.js';
import type { Tokens } from './tokens.js';

/** Who a bearer credential is, or undefined for any credential that is not valid now. */
export interface Authenticator {
  authenticate(bearer: string): Promise<UserRecord | undefined>;
}

/**
 * Partway's own `pw_` tokens, and with an identity provider configured, its JWT access tokens too.
 * A `pw_` token never reaches the IdP's code, so it costs what it did without one.
 */
export class BearerCredentials implements Authenticator {
  readonly #tokens: Tokens;
  readonly #idp: OidcTokens | undefined;

  constructor(tokens: Tokens, idp?: OidcTokens) {
    this.#tokens = tokens;
    this.#idp = idp;
  }

  authenticate(bearer: string): Promise<UserRecord | undefined> {
    if (this.#idp === undefined || bearer.startsWith('pw_')) return this.#tokens.authenticate(bearer);
    return this.#idp.authenticate(bearer);
  }
}
