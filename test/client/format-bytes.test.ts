import { describe, expect, it } from 'vitest';
import { formatBytes } from '../../src/client/format-bytes.js';

describe('formatBytes, the one size formatter of the CLI and the web page', () => {
  it.each([
    [0, 'binary', '0 B'],
    [1023, 'binary', '1023 B'],
    [1024, 'binary', '1.0 KiB'],
    [3_000, 'binary', '2.9 KiB'],
    [50_000, 'binary', '48.8 KiB'],
    [24 * 1024 * 1024, 'binary', '24.0 MiB'],
    [5 * 1024 ** 4, 'binary', '5.0 TiB'],
    [999, 'decimal', '999 B'],
    [1000, 'decimal', '1.0 kB'],
    [21_000_000, 'decimal', '21.0 MB'],
    [1_500_000_000, 'decimal', '1.5 GB'],
    [2e18, 'decimal', '2000.0 PB'],
  ] as const)('%d bytes in %s units are %s', (bytes, units, text) => {
    expect(formatBytes(bytes, units)).toBe(text);
  });

  it('answers "–" for what is not a size', () => {
    for (const bytes of [-1, Number.NaN, Number.POSITIVE_INFINITY]) expect(formatBytes(bytes, 'decimal')).toBe('–');
  });
});
