import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Applications } from '../../core/applications.js';

/** A token request is a few short fields; anything larger is not one. */
const FORM_BODY_LIMIT = 16 * 1024;

const REFUSALS = {
  invalid_request: 'Invalid grant_type parameter or parameter missing',
  unsupported_grant_type: 'Unsupported grant_type: only client_credentials is supported',
  invalid_client: 'The client credentials are not valid',
  invalid_grant: 'Grant credentials are invalid',
} as const;

/**
 * Box's OAuth 2.0 token endpoint for the client credentials grant. No bearer token is asked for (this
 * is where one is got), so it sits outside the API's authenticated scope; errors are OAuth's
 * `{error, error_description}`, as Box's own endpoint gives them, not Box's API error JSON.
 */
export function oauthRoutes(app: FastifyInstance, applications: Applications): void {
  // Encapsulated here: the rest of the API keeps leaving such bodies unread.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT }, (_request, body, done) =>
    done(null, new URLSearchParams(body as string)));

  app.post('/oauth2/token', { schema: { summary: 'An access token for an application (OAuth 2.0 client credentials grant)' } }, async (request, reply) => {
    // RFC 6749 §5.1: token answers are never cached.
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    if (!(request.body instanceof URLSearchParams)) return refuse(reply, 'invalid_request', 'The body must be application/x-www-form-urlencoded');
    const form = request.body;
    const grantType = form.get('grant_type');
    if (grantType === null) return refuse(reply, 'invalid_request');
    if (grantType !== 'client_credentials') return refuse(reply, 'unsupported_grant_type');
    const clientId = form.get('client_id');
    const clientSecret = form.get('client_secret');
    if (!clientId || !clientSecret) return refuse(reply, 'invalid_client');
    const subjectType = form.get('box_subject_type');
    if (subjectType !== 'user' && subjectType !== 'enterprise') {
      return refuse(reply, 'invalid_request', 'box_subject_type must be user or enterprise');
    }
    const subjectId = form.get('box_subject_id') ?? undefined;
    if (subjectType === 'user' && !subjectId) return refuse(reply, 'invalid_request', 'box_subject_id is required for box_subject_type user');
    const outcome = await applications.grant({ clientId, clientSecret, subjectType, subjectId });
    if ('refused' in outcome) return refuse(reply, outcome.refused);
    // What Box's endpoint answers this grant: no refresh token (the client asks again when it runs out).
    return reply.send({ access_token: outcome.accessToken, expires_in: outcome.expiresInSeconds, restricted_to: [], token_type: 'bearer' });
  });
}

function refuse(reply: FastifyReply, error: keyof typeof REFUSALS, description: string = REFUSALS[error]): FastifyReply {
  return reply.code(400).send({ error, error_description: description });
}
