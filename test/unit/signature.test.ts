import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signDelivery } from '../../src/events/signature.js';

describe('signDelivery', () => {
  it('is the base64 HMAC-SHA256 of the body followed by the timestamp, as Box signs webhooks', () => {
    const body = '{"type":"webhook_event"}';
    const timestamp = '2026-12-06T10:00:00+00:00';
    expect(signDelivery('key', body, timestamp)).toBe(createHmac('sha256', 'key').update(body + timestamp).digest('base64'));
    expect(signDelivery('key', Buffer.from(body), timestamp)).toBe(signDelivery('key', body, timestamp));
    expect(signDelivery('other', body, timestamp)).not.toBe(signDelivery('key', body, timestamp));
  });
});
