import { describe, expect, it } from 'vitest';
import { formatBytes } from '../../src/client/format-bytes.js';

describe('formatBytes, the one size formatter of the CLI and the web page', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [3_000, '2.9 KiB'],
    [50_000, '48.8 KiB'],
    [21_000_000, '20.0 MiB'],
    [24 * 1024 * 1024, '24.0 MiB'],
    [1_500_000_000, '1.4 GiB'],
    [5 * 1024 ** 4, '5.0 TiB'],
    [2 * 1024 ** 6, '2048.0 PiB'],
  ] as const)('%d bytes are %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it('answers "–" for what is not a size', () => {
    for (const bytes of [-1, Number.NaN, Number.POSITIVE_INFINITY]) expect(formatBytes(bytes)).toBe('–');
  });
});
