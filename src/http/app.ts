import { randomBytes } from 'node:crypto';
import { AjvCompiler } from '@fastify/ajv-compiler';
import cors, { type FastifyCorsOptions } from '@fastify/cors';
import Fastify, { LogController, type FastifyInstance, type FastifyRequest, type FastifySchemaCompiler } from 'fastify';
import type { Logger } from 'pino';
import { BoxError } from '../core/errors.js';
import { identifyCaller, refuseUnauthenticated } from './auth.js';
import { answerClientError } from './client-errors.js';
import type { ApiContext } from './context.js';
import { handleError, sendBoxError } from './errors.js';
import { describeApi } from './openapi.js';
import { serializeRequest } from './log-redaction.js';
import { limitRequestRate } from './rate-limit.js';
import { boxErrorForSchema, VALIDATOR_OPTIONS } from './schema-errors.js';
import { limitRequestTime } from './timeouts.js';
import { discardUnreadBodies, type DiscardLimits } from './unread-body.js';
import { continueWhenBodyIsRead } from './expect-continue.js';
import { downloadRoutes } from './routes/downloads.js';
import { fileRoutes } from './routes/files.js';
import { folderRoutes } from './routes/folders.js';
import { healthRoutes } from './routes/health.js';
import { oauthRoutes } from './routes/oauth.js';
import { preflightRoutes } from './routes/preflight.js';
import { uploadSessionRoutes } from './routes/upload-sessions.js';
import { userRoutes } from './routes/users.js';
import { webhookRoutes } from './routes/webhooks.js';

/**
 * Every request header Box's clients send from a browser: the SDKs (`x-box-ua`, `as-user`,
 * `boxapi` for shared links) and Box UI Elements' ContentUploader (`x-box-client-*`).
 */
const BOX_REQUEST_HEADERS = [
  'authorization', 'content-type', 'content-range', 'digest', 'if-match', 'if-none-match', 'content-md5', 'x-box-ua',
  'box-notifications', 'as-user', 'boxapi', 'x-rep-hints', 'x-box-client-name', 'x-box-client-version',
  'x-box-client-event-info',
];

/** What Partway adds to a Fastify scope, whether its own app's root or a host app's (src/fastify-plugin.ts). */
export interface ApiOptions {
  /** Requests per token per minute on this node; 0 for no limit. */
  rateLimitPerMinute: number;
  /** Origins allowed to call the API from a browser (CORS). */
  corsOrigins: string[] | '*';
  /** Registers the web uploader's static files, if this build has them. */
  web?: (app: FastifyInstance) => void;
  /** Largest JSON body accepted (commit bodies list up to 10,000 parts, about 1 MB). */
  jsonBodyLimit: number;
  /** Time allowed for a whole request, body included; 0 for none. */
  requestTimeoutMs: number;
  /** How much of a body answered before it was read is read and thrown away, keeping the connection. */
  discardLimits: DiscardLimits;
  /** The bearer token `/metrics` asks for; open when undefined. */
  metricsToken?: string | undefined;
}

/** Partway's own server: the API's options and the ones that belong to the server itself. */
export interface AppOptions extends ApiOptions {
  logger: Logger | false;
  /** A keep-alive connection with no request is closed after this long. */
  keepAliveTimeoutMs: number;
  /** A connection silent for this long is closed (slow or stalled clients); 0 for never. */
  idleTimeoutMs: number;
  /** Serve HTTPS with this certificate and key (PEM); plain HTTP without. */
  tls?: { cert: Buffer; key: Buffer };
}

/**
 * Partway's own Fastify server: what belongs to the server (request ids, timeouts, Node's parser
 * refusals, shutdown) around `registerApi`, which the embeddable plugin shares.
 */
export function buildApp(context: ApiContext, options: AppOptions): FastifyInstance {
  const newRequestId = () => randomBytes(8).toString('hex');
  // Node checks request timeouts only this often (30 s by default): keep it well under the timeout.
  const serverOptions = { connectionsCheckingInterval: Math.min(30_000, Math.max(250, Math.floor(options.requestTimeoutMs / 4) || 30_000)) };
  const app = Fastify({
    // Fastify lets the instance's own serializers win over its defaults: signed links are redacted.
    ...(options.logger ? { loggerInstance: options.logger.child({}, { serializers: { req: serializeRequest } }) } : { logger: false }),
    genReqId: newRequestId,
    logController: new LogController({ requestIdLogLabel: 'request_id' }),
    requestTimeout: options.requestTimeoutMs,
    keepAliveTimeout: options.keepAliveTimeoutMs,
    connectionTimeout: options.idleTimeoutMs,
    ...(options.tls ? { https: { ...serverOptions, ...options.tls } } : { http: serverOptions }),
    bodyLimit: options.jsonBodyLimit,
    // X-Forwarded-* only from a configured proxy (src/http/trusted-proxy.ts); request.ip follows it too.
    trustProxy: (address: string) => context.trustedProxy(address),
    return503OnClosing: true,
    // Long enough that over-long ids reach the routes and get their proper Box error.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 8192 },
    // Errors Fastify meets before routing (a bad percent-encoding): Box's shape too.
    frameworkErrors: (error, request, reply) => {
      reply.header('box-request-id', request.id);
      handleError(error, request, reply);
    },
    // Requests Node's parser refuses before routing: Box's shape and a request id too.
    clientErrorHandler: answerClientError({ newRequestId, metrics: context.metrics, logger: options.logger || undefined }),
  }) as unknown as FastifyInstance;

  continueWhenBodyIsRead(app.server);
  registerApi(app, context, options);
  return app;
}

/**
 * The HTTP layer: it translates requests into calls on the core and results into Box's JSON, and
 * nothing else. The API is served under `/2.0` and `/api/2.0` so clients work with one base URL or
 * with Box's separate upload base (`<base>/api`).
 *
 * Everything here is set on `app` alone: on Partway's own server that is the root; embedded, an
 * encapsulated scope under the host's prefix, whose other routes keep their own parsers and handlers.
 */
export function registerApi(app: FastifyInstance, context: ApiContext, options: ApiOptions): void {
  // While shutting down, requests in flight finish, and their connections close instead of idling on
  // (embedded too: a download still streaming when the host closes must not hold its shutdown).
  let draining = false;
  app.addHook('preClose', async () => {
    draining = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (draining) reply.header('connection', 'close');
  });
  // A response that was already on its way when draining began leaves a keep-alive connection idle.
  app.addHook('onResponse', async () => {
    if (draining) setImmediate(() => app.server.closeIdleConnections());
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('box-request-id', request.id);
  });
  limitRequestTime(app, options.requestTimeoutMs);
  // After the shutdown hooks above, so that a connection closing anyway is not kept to discard a body.
  discardUnreadBodies(app, options.discardLimits);

  // Bodies other than JSON (parts, multipart uploads) are left unread for the route to stream.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));
  // SDKs send `Content-Type: application/json` with an empty body on DELETE.
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: options.jsonBodyLimit }, (_request, body, done) => {
    if (body === '') return done(null, undefined);
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(new BoxError('bad_request', 'The request body is not valid JSON'), undefined);
    }
  });

  // Route schemas (src/http/schemas.ts) answer with Box's codes; see src/http/schema-errors.ts.
  app.setValidatorCompiler(validatorCompiler);
  app.setSchemaErrorFormatter(boxErrorForSchema);
  app.decorate('metrics', context.metrics);
  context.metrics.instrument(app);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => sendBoxError(reply, new BoxError('not_found', `No route for ${request.method} ${request.url.split('?')[0]}`)));

  // Before any route, so that it sees every route's schema.
  describeApi(app);

  // Before the API, so that a browser's preflight is answered before any token is asked for.
  if (options.corsOrigins === '*' || options.corsOrigins.length > 0) {
    const corsOptions = {
      origin: options.corsOrigins === '*' ? true : options.corsOrigins,
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
      allowedHeaders: BOX_REQUEST_HEADERS,
      exposedHeaders: ['box-request-id', 'retry-after', 'etag', 'content-range', 'location'],
      maxAge: 600,
    };
    // An OPTIONS without Access-Control-Request-Method is not a CORS preflight but Box's upload
    // preflight check: it gets CORS headers and goes on to its route.
    app.register(cors, () => (request: FastifyRequest, callback: (error: Error | null, options: FastifyCorsOptions) => void) =>
      callback(null, { ...corsOptions, preflight: request.headers['access-control-request-method'] !== undefined }));
  }
  const routes = async (scope: FastifyInstance) => {
    uploadSessionRoutes(scope, context);
    fileRoutes(scope, context);
    folderRoutes(scope, context);
    preflightRoutes(scope, context);
    userRoutes(scope, context);
    webhookRoutes(scope, context);
  };
  // Both prefixes in one scope: one caller check and one rate-limit budget for both.
  app.register(async (api) => {
    identifyCaller(api, context);
    if (options.rateLimitPerMinute > 0) await limitRequestRate(api, options.rateLimitPerMinute);
    refuseUnauthenticated(api);
    // For the OpenAPI description: every route of the API asks for a token.
    api.addHook('onRoute', (route) => {
      route.schema = { ...route.schema, security: [{ bearer: [] }] };
    });
    api.register(routes, { prefix: '/2.0' });
    api.register(routes, { prefix: '/api/2.0' });
  });
  // Where SDKs get a token: at the root (Box's oauth2Url is `<host>/oauth2`) and under both API prefixes,
  // with one rate-limit budget per client address for all three, so a secret cannot be guessed at line rate.
  app.register(async (oauth) => {
    if (options.rateLimitPerMinute > 0) await limitRequestRate(oauth, options.rateLimitPerMinute);
    for (const prefix of ['', '/2.0', '/api/2.0']) oauth.register(async (scope) => oauthRoutes(scope, context), { prefix });
  });
  app.register(async (scope) => downloadRoutes(scope, context));
  app.register(async (scope) => healthRoutes(scope, context.health, context.metrics, options.metricsToken));
  options.web?.(app);
}

/** Fastify's own validator compiler with Partway's Ajv options, for whichever scope the API is in. */
const compilerFor = AjvCompiler()({}, { customOptions: VALIDATOR_OPTIONS });
const validatorCompiler: FastifySchemaCompiler<unknown> = (route) => compilerFor(route);
