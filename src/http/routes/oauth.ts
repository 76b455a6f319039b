import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiContext } from '../context.js';
import { clientCredentialsGrant } from './grants/client-credentials.js';
import { jwtBearerGrant } from './grants/jwt-bearer.js';

/** A token request is a few short fields (an assertion is the longest, ~1 KiB); anything larger is not one. */
const FORM_BODY_LIMIT = 16 * 1024;

/** OAuth 2.0's error codes (RFC 6749 §5.2) that this endpoint answers, with their default words. */
const REFUSALS = {
  invalid_request: 'Invalid grant_type parameter or parameter missing',
  unsupported_grant_type: 'Unsupported grant_type',
  invalid_client: 'The client credentials are not valid',
  invalid_grant: 'Grant credentials are invalid',
} as const;
export type OAuthError = keyof typeof REFUSALS;

/** What a grant answers: Box's token JSON, or an OAuth error (with its own words, else the default). */
export type GrantAnswer = { token: Record<string, unknown> } | { error: OAuthError; description?: string };
/** One grant type: reads its form fields, asks the core, and says what to answer. */
export type GrantHandler = (form: URLSearchParams, request: FastifyRequest, context: ApiContext) => Promise<GrantAnswer>;

/** The grant types this endpoint knows, one line each. */
const GRANTS: Readonly<Record<string, GrantHandler>> = {
  client_credentials: clientCredentialsGrant,
  'urn:ietf:params:oauth:grant-type:jwt-bearer': jwtBearerGrant,
};

/**
 * Box's OAuth 2.0 token endpoint. No bearer token is asked for (this is where one is got), so it sits
 * outside the API's authenticated scope; errors are OAuth's `{error, error_description}`, as Box's own
 * endpoint gives them, not Box's API error JSON. Each grant type is a handler in `grants/`.
 */
export function oauthRoutes(app: FastifyInstance, context: ApiContext): void {
  // Encapsulated here: the rest of the API keeps leaving such bodies unread.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT }, (_request, body, done) =>
    done(null, new URLSearchParams(body as string)));

  app.post('/oauth2/token', { schema: { summary: 'An access token for an application (OAuth 2.0: client credentials, JWT bearer)' } }, async (request, reply) => {
    // RFC 6749 §5.1: token answers are never cached.
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    if (!(request.body instanceof URLSearchParams)) return refuse(reply, 'invalid_request', 'The body must be application/x-www-form-urlencoded');
    const grantType = request.body.get('grant_type');
    if (grantType === null) return refuse(reply, 'invalid_request');
    const grant = Object.hasOwn(GRANTS, grantType) ? GRANTS[grantType] : undefined;
    if (!grant) return refuse(reply, 'unsupported_grant_type', `Unsupported grant_type: one of ${Object.keys(GRANTS).join(', ')}`);
    const answer = await grant(request.body, request, context);
    if ('error' in answer) return refuse(reply, answer.error, answer.description);
    return reply.send(answer.token);
  });
}

function refuse(reply: FastifyReply, error: OAuthError, description: string = REFUSALS[error]): FastifyReply {
  return reply.code(400).send({ error, error_description: description });
}
