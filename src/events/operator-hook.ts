import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import type { HookSettings } from '../config.js';
import type { DownloadLinks } from '../core/download-links.js';
import type { UserRecord } from '../core/model.js';
import type { GateEvent, GateVerdict, PendingContent, UploadDescription, UploadGate } from '../core/upload-gate.js';
import { signDelivery } from './signature.js';

/** What a client refused by a hook that could not be asked (fail closed) is told to wait. */
const RETRY_AFTER_SECONDS = 10;
/** The content link outlives the hook's timeout by this much, for a scanner that fetches at the last moment. */
const LINK_MARGIN_MS = 5_000;
/** A hook's answer is a verdict, not a document: more than this is a failure. */
const MAX_ANSWER_BYTES = 64 * 1024;
/** The part of a hook's message a refused client is shown. */
const MAX_MESSAGE_CHARS = 1000;

type HookLogger = { warn(details: object, message: string): void };

/**
 * The operator's blocking hooks (`pre-create`, `pre-commit`): a signed JSON POST to PARTWAY_HOOK_URL
 * whose answer allows or refuses the upload. A hook that times out, fails or answers nonsense lets the
 * upload through only when the operator chose fail-open. The README's "Scan uploads with a hook" is
 * the receiver's side.
 */
export class OperatorHook implements UploadGate {
  readonly #settings: HookSettings;
  readonly #links: DownloadLinks;
  readonly #logger: HookLogger | false;

  constructor(settings: HookSettings, links: DownloadLinks, logger: HookLogger | false) {
    this.#settings = settings;
    this.#links = links;
    this.#logger = logger;
  }

  async preCreate(user: UserRecord, upload: UploadDescription): Promise<GateVerdict> {
    return this.#ask('pre-create', user, upload, {});
  }

  async preCommit(user: UserRecord, upload: UploadDescription, content: PendingContent): Promise<GateVerdict> {
    if (!this.#settings.events.has('pre-commit')) return { allowed: true };
    const token = this.#links.signPending(content.grant, this.#settings.timeoutMs + LINK_MARGIN_MS);
    try {
      return await this.#ask('pre-commit', user, upload, { sha1: content.sha1, content_url: `${content.linkBase}/downloads/${token}` });
    } finally {
      // On this node the link ends with the answer; elsewhere its lifetime (the hook's timeout) ends it.
      this.#links.revokePending(token);
    }
  }

  async #ask(event: GateEvent, user: UserRecord, upload: UploadDescription, extra: Record<string, string>): Promise<GateVerdict> {
    if (!this.#settings.events.has(event)) return { allowed: true };
    const deliveryId = randomUUID();
    const timestamp = new Date().toISOString();
    const body = JSON.stringify({
      event, delivery_id: deliveryId, created_at: timestamp,
      user: { id: user.id, login: user.name },
      upload: {
        kind: upload.kind, session_id: upload.sessionId, folder_id: upload.folderId, file_id: upload.fileId,
        name: upload.name, size: upload.size,
      },
      ...extra,
    });
    let answer: Answer;
    try {
      answer = await this.#post(body, event, deliveryId, timestamp);
    } catch (error) {
      return this.#failed(event, deliveryId, errorText(error));
    }
    const verdict = verdictOf(answer);
    if (verdict === 'allow') return { allowed: true };
    if (verdict === undefined) return this.#failed(event, deliveryId, `answered ${answer.status}: ${answer.text.slice(0, 200)}`);
    return { refused: { event, ...verdict } };
  }

  async #post(body: string, event: GateEvent, deliveryId: string, timestamp: string): Promise<Answer> {
    const response = await request(this.#settings.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'partway-hook-event': event,
        'partway-hook-delivery-id': deliveryId,
        'partway-hook-timestamp': timestamp,
        'partway-hook-signature': signDelivery(this.#settings.secret, body, timestamp),
      },
      body,
      signal: AbortSignal.timeout(this.#settings.timeoutMs),
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_ANSWER_BYTES) {
        response.body.destroy();
        throw new Error(`answered more than ${MAX_ANSWER_BYTES} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
    return { status: response.statusCode, text: Buffer.concat(chunks).toString('utf8') };
  }

  #failed(event: GateEvent, deliveryId: string, reason: string): GateVerdict {
    const failOpen = this.#settings.failOpen;
    if (this.#logger) {
      this.#logger.warn({ event, deliveryId, reason }, failOpen ? 'hook failed; upload let through (fail open)' : 'hook failed; upload refused (fail closed)');
    }
    return failOpen ? { allowed: true } : { unavailable: { event, retryAfterSeconds: RETRY_AFTER_SECONDS } };
  }
}

interface Answer {
  status: number;
  text: string;
}

/**
 * What an answer means: 'allow'; a refusal; or undefined when it is neither (a failure). A 2xx allows
 * when empty or `{"allow": true}`; `{"allow": false}` in a 2xx refuses, and so does any 403, whose body
 * may give the message (a receiver that answers a bare 403 still means no).
 */
function verdictOf(answer: Answer): 'allow' | { message: string; abort: boolean } | undefined {
  const ok = answer.status >= 200 && answer.status < 300;
  if (!ok && answer.status !== 403) return undefined;
  if (ok && answer.text.trim() === '') return 'allow';
  const parsed = parseObject(answer.text);
  if (ok && parsed?.allow === true) return 'allow';
  if (parsed?.allow === false || answer.status === 403) {
    const message = typeof parsed?.message === 'string' ? parsed.message.slice(0, MAX_MESSAGE_CHARS) : '';
    return { message, abort: parsed?.abort === true };
  }
  return undefined;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}

function errorText(error: unknown): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return 'timed out';
  return error instanceof Error ? error.message : String(error);
}
