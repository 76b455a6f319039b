import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { contentRange, sha1Digest, toBase64, toHex } from '../../src/client/box-wire.js';

describe("Box's wire builders, shared by the Node client and the web uploader", () => {
  it.each([
    [0, 8, 20, 'bytes 0-7/20'],
    [8, 8, 20, 'bytes 8-15/20'],
    [16, 4, 20, 'bytes 16-19/20'],
    [0, 1, 1, 'bytes 0-0/1'],
    [8_388_608 * 2_500, 8_388_608, 25_000_000_000, 'bytes 20971520000-20979908607/25000000000'],
  ])('names the part at %d of %d bytes (file of %d) as %s', (offset, length, fileSize, header) => {
    expect(contentRange(offset, length, fileSize)).toBe(header);
  });

  it('writes the Digest header as sha= and the base64 SHA-1, as Node encodes it', () => {
    for (const text of ['', 'abc', 'x'.repeat(1000)]) {
      const sha1 = createHash('sha1').update(text).digest();
      expect(sha1Digest(sha1)).toBe(`sha=${sha1.toString('base64')}`);
    }
  });

  it('encodes bytes as hex and base64 the way Buffer does', () => {
    const bytes = new Uint8Array(256).map((_, index) => index);
    expect(toHex(bytes)).toBe(Buffer.from(bytes).toString('hex'));
    expect(toBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
    expect([toHex(new Uint8Array()), toBase64(new Uint8Array())]).toEqual(['', '']);
  });
});
