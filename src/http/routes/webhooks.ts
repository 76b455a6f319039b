import type { FastifyInstance } from 'fastify';
import { BoxError } from '../../core/errors.js';
import type { ApiContext } from '../context.js';
import { presentWebhook } from '../present-webhook.js';
import { createWebhookSchema, deleteWebhookSchema, listWebhooksSchema, updateWebhookSchema, webhookSchema } from '../webhook-schemas.js';

type WithId = { Params: { id: string } };

/** The bodies as their schemas (../webhook-schemas.ts) let them through. */
interface Target { id: string | number; type: string }
interface WebhookBody { target?: Target; address?: string; triggers?: string[] }

/** Box's webhooks (V2): `POST/GET/PUT/DELETE /webhooks`, each user's own. */
export function webhookRoutes(app: FastifyInstance, context: ApiContext): void {
  const { webhooks } = context;
  const target = (body: WebhookBody) => body.target && { id: String(body.target.id), type: body.target.type };

  app.post<{ Body: Required<WebhookBody> }>('/webhooks', { schema: createWebhookSchema }, async (request, reply) => {
    const body = request.body;
    const webhook = await webhooks.create(request.user, { target: target(body)!, address: body.address, triggers: body.triggers });
    return reply.code(201).send(presentWebhook(webhook, request.user));
  });

  app.get<{ Querystring: { marker?: string; limit?: string } }>('/webhooks', { schema: listWebhooksSchema }, async (request) => {
    const limit = request.query.limit === undefined || request.query.limit === '' ? 100 : Number(request.query.limit);
    if (limit < 1 || limit > 200) throw new BoxError('invalid_limit', 'limit must be from 1 to 200');
    const marker = request.query.marker === '' ? undefined : request.query.marker;
    const page = await webhooks.list(request.user, marker, limit);
    return {
      entries: page.entries.map((webhook) => presentWebhook(webhook, request.user)), limit, next_marker: page.nextMarker, prev_marker: null,
    };
  });

  app.get<WithId>('/webhooks/:id', { schema: webhookSchema }, async (request) => presentWebhook(await webhooks.get(request.user, request.params.id), request.user));

  app.put<WithId & { Body: WebhookBody | null }>('/webhooks/:id', { schema: updateWebhookSchema }, async (request) => {
    const body = request.body ?? {};
    const webhook = await webhooks.update(request.user, request.params.id, { target: target(body), address: body.address, triggers: body.triggers });
    return presentWebhook(webhook, request.user);
  });

  app.delete<WithId>('/webhooks/:id', { schema: deleteWebhookSchema }, async (request, reply) => {
    await webhooks.delete(request.user, request.params.id);
    return reply.code(204).send();
  });
}
