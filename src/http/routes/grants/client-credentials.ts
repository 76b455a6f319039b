import type { GrantHandler } from '../oauth.js';

/** Box's client credentials grant: `client_id`, `client_secret`, `box_subject_type`, `box_subject_id`. */
export const clientCredentialsGrant: GrantHandler = async (form, _request, context) => {
  const clientId = form.get('client_id');
  const clientSecret = form.get('client_secret');
  if (!clientId || !clientSecret) return { error: 'invalid_client' };
  const subjectType = form.get('box_subject_type');
  if (subjectType !== 'user' && subjectType !== 'enterprise') return { error: 'invalid_request', description: 'box_subject_type must be user or enterprise' };
  const subjectId = form.get('box_subject_id') ?? undefined;
  if (subjectType === 'user' && !subjectId) return { error: 'invalid_request', description: 'box_subject_id is required for box_subject_type user' };
  const outcome = await context.applications.grant({ clientId, clientSecret, subjectType, subjectId });
  if ('refused' in outcome) return { error: outcome.refused };
  // What Box's endpoint answers this grant: no refresh token (the client asks again when it runs out).
  return { token: { access_token: outcome.accessToken, expires_in: outcome.expiresInSeconds, restricted_to: [], token_type: 'bearer' } };
};
