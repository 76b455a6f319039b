import { randomBytes } from 'node:crypto';
import type { MetadataStore } from '../metadata/store.js';

export type KeyName = 'primary' | 'secondary';

/**
 * Each user's two webhook signature keys (Box has them per application). Every delivery is signed
 * with both, so a receiver keeps verifying while the operator rotates one of them. Made on first use;
 * kept as they are (they must be read to sign), and never logged.
 */
export class WebhookKeys {
  readonly #metadata: MetadataStore;

  constructor(metadata: MetadataStore) {
    this.#metadata = metadata;
  }

  async keysOf(userId: string): Promise<Record<KeyName, string>> {
    const [primary, secondary] = await Promise.all([this.#key(userId, 'primary'), this.#key(userId, 'secondary')]);
    return { primary, secondary };
  }

  /** A new key in place of one of the two; returns it. */
  async rotate(userId: string, which: KeyName): Promise<string> {
    const key = newKey();
    await this.#metadata.setSecret(secretName(userId, which), key);
    return key;
  }

  #key(userId: string, which: KeyName): Promise<string> {
    return this.#metadata.getOrCreateSecret(secretName(userId, which), newKey);
  }
}

function secretName(userId: string, which: KeyName): string {
  return `webhook-signature-key:${userId}:${which}`;
}

/** 32 characters, as Box's keys. */
function newKey(): string {
  return randomBytes(24).toString('base64url');
}
