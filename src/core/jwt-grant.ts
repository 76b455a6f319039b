import { createPublicKey } from 'node:crypto';
import { decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import type { MetadataStore } from '../metadata/store.js';
import type { AccessTokenGrant, Applications, GrantRefusal } from './applications.js';
import type { ApplicationKeyRecord } from './model.js';

/**
 * The `aud` Box's SDKs sign into every assertion, whatever base URL they were given (box-node-sdk v10's
 * BoxJwtAuth and v3's token manager both hard-code it). Accepting it is safe here: an assertion is bound
 * to its application's own key and used once, so one meant for Box works at Partway only for the app
 * whose key Partway was given.
 */
export const BOX_TOKEN_URL = 'https://api.box.com/oauth2/token';
/** RSA signatures only: Box's JWT grant accepts these and nothing else (`none`, HS*, ES*, PS* are refused). */
const ALGORITHMS = ['RS256', 'RS384', 'RS512'];
/** Box: "exp ... can be at most 60 seconds after the issued time". */
const MAX_LIFETIME_MS = 60_000;
/** Box asks for a `jti` of 16 to 128 characters. */
const JTI = /^.{16,128}$/su;

export interface JwtGrantRequest {
  assertion: string;
  /** Box requires `client_id` and `client_secret` beside the assertion (both SDKs send them). */
  clientId: string;
  clientSecret: string;
  /** The URLs of this token endpoint, as a client may name it in `aud` (Box's own is accepted too). */
  tokenUrls: readonly string[];
}

export type JwtGrantOutcome = AccessTokenGrant | { refused: GrantRefusal; description: string };

/**
 * Box's JWT grant (`urn:ietf:params:oauth:grant-type:jwt-bearer`): an application proves who it is
 * with an assertion signed by its private key; the public keys are registered with `partway app
 * add-key`. jose checks the signature and the standard claims; this adds Box's rules (exp at most a
 * minute ahead, the subject, a jti used once).
 */
export class JwtGrant {
  readonly #metadata: MetadataStore;
  readonly #applications: Applications;
  readonly #clockSkewMs: number;
  readonly #now: () => number;

  constructor(metadata: MetadataStore, applications: Applications, clockSkewMs: number, now: () => number = Date.now) {
    this.#metadata = metadata;
    this.#applications = applications;
    this.#clockSkewMs = clockSkewMs;
    this.#now = now;
  }

  async grant(request: JwtGrantRequest): Promise<JwtGrantOutcome> {
    const application = await this.#applications.authenticateClient(request.clientId, request.clientSecret);
    if (!application) return { refused: 'invalid_client', description: 'The client credentials are invalid' };
    const keys = await this.#metadata.listApplicationKeys(application.id);
    if (keys.length === 0) return refusal('No public key is registered for this application (partway app add-key)');

    let header: ProtectedHeaderParameters;
    try {
      header = decodeProtectedHeader(request.assertion);
    } catch {
      return refusal('The assertion is not a valid JWT');
    }
    // Box's v3 SDK names its key in `kid`; box-node-sdk v10 sends none, so then each key is tried.
    const candidates = header.kid === undefined ? keys : keys.filter((key) => key.id === header.kid);
    if (candidates.length === 0) return refusal('Please check the \'kid\' header: no public key of this application has that id');
    const verified = await this.#verify(request, application.id, candidates);
    if (!('payload' in verified)) return refusal(describe(verified.failure));
    const { payload } = verified;

    const expiresAt = payload.exp! * 1000;
    if (expiresAt > this.#now() + MAX_LIFETIME_MS + this.#clockSkewMs) {
      return refusal('Please check the \'exp\' claim: it must be at most 60 seconds ahead');
    }
    const subjectType = payload.box_sub_type;
    if (subjectType !== 'user' && subjectType !== 'enterprise') return refusal('Please check the \'box_sub_type\' claim: user or enterprise');
    // An application acts as its one user; `enterprise` names that user too, as in the client credentials grant.
    if (subjectType === 'user' && payload.sub !== application.userId) return refusal('Please check the \'sub\' claim. The \'sub\' specified is invalid.');
    if (typeof payload.jti !== 'string' || !JTI.test(payload.jti)) return refusal('Please check the \'jti\' claim: 16 to 128 characters');
    // Last, once the assertion is good: a refused one does not burn its jti.
    if (!(await this.#metadata.useAssertionId(application.id, payload.jti, expiresAt))) {
      return refusal('Please check the \'jti\' claim. A unique \'jti\' value is required.');
    }
    return this.#applications.issueAccessToken(application);
  }

  /** The payload, checked by jose with the first key whose signature holds; else why not. */
  async #verify(request: JwtGrantRequest, clientId: string, keys: readonly ApplicationKeyRecord[]): Promise<{ payload: JWTPayload } | { failure: errors.JOSEError }> {
    let failure: errors.JOSEError | undefined;
    for (const key of keys) {
      try {
        return await jwtVerify(request.assertion, createPublicKey(key.publicKeyPem), {
          algorithms: ALGORITHMS,
          issuer: clientId,
          audience: [...request.tokenUrls, BOX_TOKEN_URL],
          requiredClaims: ['exp', 'jti', 'sub'],
          currentDate: new Date(this.#now()),
          clockTolerance: Math.ceil(this.#clockSkewMs / 1000),
        });
      } catch (error) {
        if (!(error instanceof errors.JOSEError)) throw error;
        failure = error;
        // The signature is checked before the claims: any other failure is the assertion's, whichever key.
        if (!(error instanceof errors.JWSSignatureVerificationFailed)) break;
      }
    }
    return { failure: failure! };
  }
}

function refusal(description: string): { refused: 'invalid_grant'; description: string } {
  return { refused: 'invalid_grant', description };
}

/** Box's words where it has them (its SDKs read `exp` and `jti` in them to decide a retry). */
function describe(error: errors.JOSEError): string {
  if (error instanceof errors.JWTExpired) return 'Please check the \'exp\' claim: the assertion has expired';
  if (error instanceof errors.JWTClaimValidationFailed) return `Please check the '${error.claim}' claim: ${error.reason === 'missing' ? 'it is missing' : 'it is invalid'}`;
  if (error instanceof errors.JOSEAlgNotAllowed) return 'Please check the \'alg\' header: RS256, RS384 or RS512';
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return 'Signature verification error. The public key identified by "kid" must correspond to the private key used for signing.';
  }
  return 'The assertion is not a valid JWT';
}
