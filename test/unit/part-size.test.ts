import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BOX_PART_SIZE_POLICY, choosePartSize, totalParts } from '../../src/core/part-size.js';

const MiB = 1024 * 1024;
const BOX = BOX_PART_SIZE_POLICY;

describe('choosePartSize', () => {
  it.each([
    ['an empty file', 0, 8 * MiB],
    ['a one-byte file', 1, 8 * MiB],
    ['a file of one part', 8 * MiB, 8 * MiB],
    ['the largest file that fits 10,000 base parts', 10_000 * 8 * MiB, 8 * MiB],
    ['one byte more', 10_000 * 8 * MiB + 1, 16 * MiB],
    ['the largest file that fits 10,000 parts of 16 MiB', 10_000 * 16 * MiB, 16 * MiB],
    ['one byte more again', 10_000 * 16 * MiB + 1, 32 * MiB],
    ['5 TiB, the largest file Box takes', 5 * 1024 * 1024 * MiB, 1024 * MiB],
  ])('gives Box\'s policy for %s (%d bytes) parts of %d bytes', (_, fileSize, partSize) => {
    expect(choosePartSize(fileSize, BOX)).toBe(partSize);
  });

  it.each([
    [300, 100], [301, 200], [600, 200], [601, 400], [1200, 400], [1201, 800],
  ])('doubles a small base (100 bytes, 3 parts at most) for %d bytes to %d', (fileSize, partSize) => {
    expect(choosePartSize(fileSize, { basePartSize: 100, maxParts: 3 })).toBe(partSize);
  });

  it('gives the smallest doubling of the base that needs at most maxParts parts, for any size', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 2 ** 50 }), fc.integer({ min: 1, max: 64 * MiB }), fc.integer({ min: 1, max: 20_000 }),
      (fileSize, basePartSize, maxParts) => {
        const partSize = choosePartSize(fileSize, { basePartSize, maxParts });
        const doublings = Math.log2(partSize / basePartSize);
        expect(Number.isInteger(doublings)).toBe(true);
        expect(totalParts(fileSize, partSize)).toBeLessThanOrEqual(maxParts);
        if (partSize > basePartSize) expect(totalParts(fileSize, partSize / 2)).toBeGreaterThan(maxParts);
      },
    ));
  });
});

describe('totalParts', () => {
  it.each([
    [0, 0], [1, 1], [299, 1], [300, 1], [301, 2], [900, 3], [1000, 4],
  ])('counts %d bytes in parts of 300 as %d parts', (fileSize, count) => {
    expect(totalParts(fileSize, 300)).toBe(count);
  });
});
