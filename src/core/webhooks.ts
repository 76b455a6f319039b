import type { MetadataStore } from '../metadata/store.js';
import { AtomicWebhookSteps } from './webhook-steps.js';
import { isWebhookTrigger, type WebhookRecord, type WebhookTrigger } from './event-model.js';
import { BoxError } from './errors.js';
import type { EventOutbox } from './event-outbox.js';
import { ROOT_FOLDER_ID } from './folders.js';
import { isItemId } from './ids.js';
import type { UserRecord } from './model.js';

/** What `POST /webhooks` and `PUT /webhooks/{id}` ask for (an absent field stays, on an update). */
export interface WebhookRequest {
  target?: { id: string; type: string } | undefined;
  address?: string | undefined;
  triggers?: readonly string[] | undefined;
}

/** A page of a user's webhooks and where the next starts (null after the last). */
export interface WebhookPage {
  entries: WebhookRecord[];
  nextMarker: string | null;
}

/**
 * Box's webhooks (V2) as one user sees them: only the owner sees or changes theirs; anyone else's is
 * "not found". An address is checked by `checkAddress` (the SSRF guard, which resolves DNS) when a
 * webhook is made or changed, and again at each delivery.
 */
export class Webhooks {
  readonly #metadata: MetadataStore;
  readonly #steps: AtomicWebhookSteps;
  readonly #checkAddress: (address: string) => Promise<void>;
  readonly #now: () => number;

  constructor(deps: { metadata: MetadataStore; events?: EventOutbox | undefined; checkAddress: (address: string) => Promise<void>; now?: () => number }) {
    this.#metadata = deps.metadata;
    this.#steps = new AtomicWebhookSteps(deps.metadata, deps.events);
    this.#checkAddress = deps.checkAddress;
    this.#now = deps.now ?? Date.now;
  }

  async create(user: UserRecord, request: Required<WebhookRequest>): Promise<WebhookRecord> {
    const triggers = checkTriggers(request.triggers);
    const target = await this.#target(user, request.target);
    await this.#address(request.address);
    const result = await this.#steps.create({
      ownerId: user.id, targetType: target.type, targetId: target.id, address: request.address, triggers, createdAt: this.#now(),
    });
    if ('conflict' in result) throw new BoxError('conflict', 'A webhook on this target with this address already exists');
    if ('targetMissing' in result) throw new BoxError('not_found', `Could not find the ${target.type} ${request.target.id}`);
    return result.created;
  }

  async get(user: UserRecord, id: string): Promise<WebhookRecord> {
    const webhook = isItemId(id) ? await this.#metadata.getWebhook(id) : undefined;
    if (webhook?.ownerId !== user.id) throw new BoxError('not_found', `Could not find the webhook ${id}`);
    return webhook;
  }

  async list(user: UserRecord, marker: string | undefined, limit: number): Promise<WebhookPage> {
    if (marker !== undefined && !isItemId(marker)) throw new BoxError('invalid_parameter', 'The marker is not valid');
    // One more than asked tells whether another page follows.
    const found = await this.#metadata.listWebhooks(user.id, marker, limit + 1);
    const entries = found.slice(0, limit);
    return { entries, nextMarker: found.length > limit ? entries.at(-1)!.id : null };
  }

  async update(user: UserRecord, id: string, request: WebhookRequest): Promise<WebhookRecord> {
    const current = await this.get(user, id);
    const triggers = request.triggers === undefined ? current.triggers : checkTriggers(request.triggers);
    const target = request.target === undefined ? { id: current.targetId, type: current.targetType } : await this.#target(user, request.target);
    if (request.address !== undefined) await this.#address(request.address);
    const result = await this.#steps.update({ ...current, targetId: target.id, targetType: target.type, address: request.address ?? current.address, triggers });
    if ('conflict' in result) throw new BoxError('conflict', 'A webhook on this target with this address already exists');
    if ('notFound' in result) throw new BoxError('not_found', `Could not find the webhook ${id}`);
    return result.updated;
  }

  async delete(user: UserRecord, id: string): Promise<void> {
    const webhook = await this.get(user, id);
    if (!(await this.#steps.delete(webhook.id, user.id, this.#now()))) throw new BoxError('not_found', `Could not find the webhook ${id}`);
  }

  async #target(user: UserRecord, target: { id: string; type: string }): Promise<{ id: string; type: 'file' | 'folder' }> {
    if (target.type !== 'file' && target.type !== 'folder') throw new BoxError('bad_request', 'target.type must be file or folder');
    const id = target.type === 'folder' && target.id === ROOT_FOLDER_ID ? user.rootFolderId : target.id;
    const item = isItemId(id) ? await this.#metadata.getItem(id) : undefined;
    if (item?.type !== target.type || item.ownerId !== user.id || item.trashedAt !== undefined) {
      throw new BoxError('not_found', `Could not find the ${target.type} ${target.id}`);
    }
    return { id, type: target.type };
  }

  async #address(address: string): Promise<void> {
    if (address.length > 2048) throw new BoxError('bad_request', 'The address is longer than 2048 characters');
    try {
      await this.#checkAddress(address);
    } catch (error) {
      throw new BoxError('bad_request', `The address cannot be used: ${(error as Error).message}`);
    }
  }
}

function checkTriggers(triggers: readonly string[]): WebhookTrigger[] {
  if (triggers.length === 0) throw new BoxError('bad_request', 'At least one trigger must be given');
  for (const trigger of triggers) {
    if (!isWebhookTrigger(trigger)) throw new BoxError('bad_request', `Unknown trigger ${JSON.stringify(trigger)}`);
  }
  return [...new Set(triggers as WebhookTrigger[])];
}
