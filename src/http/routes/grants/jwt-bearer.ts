import { publicBase } from '../../context.js';
import type { GrantHandler } from '../oauth.js';

/** Where this endpoint answers, below the public base: an assertion's `aud` may name any of them. */
const TOKEN_PATHS = ['/oauth2/token', '/2.0/oauth2/token', '/api/2.0/oauth2/token'];

/** Box's JWT grant: an `assertion` signed by the application's key, with its `client_id` and `client_secret`. */
export const jwtBearerGrant: GrantHandler = async (form, request, context) => {
  const assertion = form.get('assertion');
  if (!assertion) return { error: 'invalid_request', description: 'The assertion is missing' };
  const clientId = form.get('client_id');
  const clientSecret = form.get('client_secret');
  if (!clientId || !clientSecret) return { error: 'invalid_client' };
  const base = publicBase(request, context);
  const outcome = await context.jwtGrant.grant({ assertion, clientId, clientSecret, tokenUrls: TOKEN_PATHS.map((path) => `${base}${path}`) });
  if ('refused' in outcome) return { error: outcome.refused, description: outcome.description };
  // Box answers this grant as the client credentials one: no refresh token, a new assertion gets a new token.
  return { token: { access_token: outcome.accessToken, expires_in: outcome.expiresInSeconds, restricted_to: [], token_type: 'bearer' } };
};
