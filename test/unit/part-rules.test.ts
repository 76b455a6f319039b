import { describe, expect, it } from 'vitest';
import { checkCommitParts, partSlotFor, type ListedPart, type SessionShape, type StoredPart } from '../../src/core/part-rules.js';
import { boxErrorFrom } from './box-error.js';

/** 1000 bytes in parts of 300: 0-299, 300-599, 600-899 and a short last part 900-999. */
const SESSION: SessionShape = { fileSize: 1000, partSize: 300, totalParts: 4 };
/** 900 bytes in parts of 300: the last part is a whole one. */
const EVEN: SessionShape = { fileSize: 900, partSize: 300, totalParts: 3 };
/** A file smaller than one part. */
const TINY: SessionShape = { fileSize: 100, partSize: 300, totalParts: 1 };

const range = (first: number, last: number, total: number) => ({ first, last, total });

describe('partSlotFor', () => {
  it.each([
    ['the first part', SESSION, range(0, 299, 1000), { offset: 0, size: 300, partNumber: 1 }],
    ['a middle part', SESSION, range(300, 599, 1000), { offset: 300, size: 300, partNumber: 2 }],
    ['the short last part', SESSION, range(900, 999, 1000), { offset: 900, size: 100, partNumber: 4 }],
    ['a whole last part', EVEN, range(600, 899, 900), { offset: 600, size: 300, partNumber: 3 }],
    ['the only part of a file smaller than a part', TINY, range(0, 99, 100), { offset: 0, size: 100, partNumber: 1 }],
  ])('names %s', (_, session, contentRange, slot) => {
    expect(partSlotFor(session, contentRange)).toEqual(slot);
    expect(partSlotFor(session, contentRange, slot.size)).toEqual(slot);
  });

  it.each([
    ['a total that is not the file size', SESSION, range(0, 299, 1001)],
    ['a start that is not a multiple of the part size', SESSION, range(1, 300, 1000)],
    ['a start one part size back from a part', SESSION, range(299, 598, 1000)],
    ['a start at the end of the file', EVEN, range(900, 1199, 900)],
    ['a start beyond the file', SESSION, range(1200, 1499, 1000)],
    ['a part one byte short', SESSION, range(0, 298, 1000)],
    ['a part one byte long', SESSION, range(0, 300, 1000)],
    ['two parts at once', SESSION, range(0, 599, 1000)],
    ['a last part as long as a whole part', SESSION, range(900, 1199, 1000)],
    ['a last part one byte short', SESSION, range(900, 998, 1000)],
    ['a whole part for a file smaller than a part', TINY, range(0, 299, 100)],
  ])('refuses %s with 416', (_, session, contentRange) => {
    const error = boxErrorFrom(() => partSlotFor(session, contentRange));
    expect([error.status, error.code]).toEqual([416, 'requested_range_not_satisfiable']);
  });

  it.each([
    ['shorter', 299],
    ['longer', 301],
    ['empty', 0],
  ])('refuses a body %s than the range it names with 416', (_, contentLength) => {
    const error = boxErrorFrom(() => partSlotFor(SESSION, range(0, 299, 1000), contentLength));
    expect([error.status, error.code]).toEqual([416, 'requested_range_not_satisfiable']);
  });

  it('tells the client which range the part at that offset must have', () => {
    expect(boxErrorFrom(() => partSlotFor(SESSION, range(900, 1199, 1000))).message).toContain('bytes 900-999/1000');
  });
});

describe('checkCommitParts', () => {
  const stored: StoredPart[] = [0, 300, 600, 900].map((offset, index) => ({
    partId: `ABCDEF0${index + 1}`,
    offset, size: Math.min(300, 1000 - offset), sha1: `${index + 1}`.repeat(40),
  }));
  /** The list as a Box client sends it back: every part with its id and SHA-1. */
  const listed: ListedPart[] = stored.map((part) => ({ part_id: part.partId, offset: part.offset, size: part.size, sha1: part.sha1 }));
  const bare = (parts: readonly ListedPart[]) => parts.map(({ offset, size }) => ({ offset, size }));

  it.each([
    ['every part with its id and SHA-1', listed],
    ['parts without id or SHA-1 (Java and Android clients)', bare(listed)],
    ['parts in another order', [...listed].reverse()],
    ['ids in lower case and SHA-1s in upper case', listed.map((part) => ({ ...part, part_id: part.part_id!.toLowerCase(), sha1: part.sha1!.toUpperCase() }))],
  ])('accepts %s that match the stored parts', (_, parts) => {
    expect(checkCommitParts(SESSION, parts, stored)).toEqual({ complete: true });
  });

  it('returns the listed parts that are not stored yet, so a commit can wait for them', () => {
    expect(checkCommitParts(SESSION, listed, stored.filter((part) => part.offset !== 600))).toEqual({ missingOffsets: [600] });
    expect(checkCommitParts(SESSION, bare(listed), [])).toEqual({ missingOffsets: [0, 300, 600, 900] });
  });

  it('accepts the one part of a file smaller than a part', () => {
    const only: StoredPart = { partId: 'ABCDEF01', offset: 0, size: 100, sha1: 'a'.repeat(40) };
    expect(checkCommitParts(TINY, [{ offset: 0, size: 100 }], [only])).toEqual({ complete: true });
  });

  it.each([
    ['an empty list', []],
    ['a list without the last part', listed.slice(0, 3)],
    ['a part listed twice', [...listed, listed[1]!]],
    ['a part listed twice instead of another', [listed[0]!, listed[1]!, listed[1]!, listed[3]!]],
    ['an offset between parts', [...listed.slice(0, 3), { offset: 901, size: 99 }]],
    ['a negative offset', [{ offset: -300, size: 300 }, ...listed.slice(1)]],
    ['an offset at the end of the file', [...listed, { offset: 1200, size: 300 }]],
    ['a size that is not the part\'s', [{ offset: 0, size: 299 }, ...listed.slice(1)]],
    ['a short last part listed whole', [...listed.slice(0, 3), { offset: 900, size: 300 }]],
  ])('refuses %s with 400 parts_mismatch', (_, parts) => {
    const error = boxErrorFrom(() => checkCommitParts(SESSION, parts, stored));
    expect([error.status, error.code]).toEqual([400, 'parts_mismatch']);
  });

  it.each([
    ['another part\'s id', { part_id: stored[0]!.partId }],
    ['another SHA-1', { sha1: 'f'.repeat(40) }],
  ])('refuses a part with %s and names the part uploaded there', (_, change) => {
    const parts = listed.map((part) => (part.offset === 300 ? { ...part, ...change } : part));
    const error = boxErrorFrom(() => checkCommitParts(SESSION, parts, stored));
    expect([error.status, error.code]).toEqual([400, 'parts_mismatch']);
    const uploaded = stored[1]!;
    expect(error.contextInfo).toEqual({ uploaded_part: { part_id: uploaded.partId, offset: 300, size: 300, sha1: uploaded.sha1 } });
  });
});
