/** The JSON Schemas of Box's webhook routes (V2); the core checks the triggers, the target and the address. */

const WITH_ID = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } as const;

const TARGET = {
  type: 'object', required: ['id', 'type'],
  properties: { id: { type: ['string', 'number'] }, type: { type: 'string', description: 'file or folder' } },
} as const;
const ADDRESS = { type: 'string', minLength: 1, description: 'The https URL deliveries are POSTed to' } as const;
const TRIGGERS = { type: 'array', items: { type: 'string' }, description: 'Box triggers, e.g. FILE.UPLOADED' } as const;

export const createWebhookSchema = {
  summary: 'Create a webhook',
  body: { type: 'object', required: ['target', 'address', 'triggers'], properties: { target: TARGET, address: ADDRESS, triggers: TRIGGERS } },
} as const;

export const updateWebhookSchema = {
  summary: 'Change a webhook\'s target, address or triggers',
  params: WITH_ID,
  body: { type: ['object', 'null'], properties: { target: TARGET, address: ADDRESS, triggers: TRIGGERS } },
} as const;

export const webhookSchema = { summary: 'A webhook', params: WITH_ID } as const;
export const deleteWebhookSchema = { summary: 'Delete a webhook', params: WITH_ID } as const;

export const listWebhooksSchema = {
  summary: 'The user\'s webhooks, by marker',
  querystring: {
    type: 'object',
    properties: {
      marker: { type: 'string', description: 'Where the page starts (the last page\'s next_marker)' },
      limit: { type: 'string', pattern: '^[0-9]{0,15}$', description: 'How many entries (default 100, at most 200)' },
    },
  },
} as const;
