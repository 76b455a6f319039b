import { createHmac } from 'node:crypto';

/**
 * Box's webhook signature (V2): base64 HMAC-SHA256 over the body's bytes followed by the timestamp's.
 * Box sends one per key (`BOX-SIGNATURE-PRIMARY`, `-SECONDARY`) so a receiver keeps working while a key
 * rotates; the operator's hook is signed the same way with its one secret.
 */
export function signDelivery(key: string, body: Buffer | string, timestamp: string): string {
  return createHmac('sha256', key).update(body).update(timestamp).digest('base64');
}
