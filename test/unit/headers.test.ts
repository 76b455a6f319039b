import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseContentRange, parseSha1Digest } from '../../src/core/headers.js';
import { boxErrorFrom } from './box-error.js';

describe('parseContentRange', () => {
  it.each([
    ['a first part', 'bytes 0-99/1000', { first: 0, last: 99, total: 1000 }],
    ['a last part', 'bytes 900-999/1000', { first: 900, last: 999, total: 1000 }],
    ['a one-byte range', 'bytes 5-5/6', { first: 5, last: 5, total: 6 }],
    ['spaces around the header', '  bytes 0-99/1000  ', { first: 0, last: 99, total: 1000 }],
    ['several spaces after the unit', 'bytes   0-99/1000', { first: 0, last: 99, total: 1000 }],
    ['the largest safe integers', 'bytes 0-9007199254740990/9007199254740991', { first: 0, last: 9007199254740990, total: 9007199254740991 }],
  ])('reads %s: %s', (_, header, expected) => {
    expect(parseContentRange(header)).toEqual(expected);
  });

  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['a header of spaces', '   '],
  ])('refuses %s with 400 bad_request', (_, header) => {
    const error = boxErrorFrom(() => parseContentRange(header));
    expect([error.status, error.code]).toEqual([400, 'bad_request']);
    expect(error.message).toMatch(/required/);
  });

  it.each([
    ['an unknown total', 'bytes 0-99/*'],
    ['an unsatisfied-range form', 'bytes */1000'],
    ['a Range-style "="', 'bytes=0-99/1000'],
    ['another unit', 'items 0-99/1000'],
    ['no space after the unit', 'bytes0-99/1000'],
    ['no total', 'bytes 0-99'],
    ['no last byte', 'bytes 0-/1000'],
    ['a negative first byte', 'bytes -1-99/1000'],
    ['a fraction', 'bytes 0-99.5/1000'],
    ['two ranges', 'bytes 0-99/1000, bytes 100-199/1000'],
    ['trailing garbage', 'bytes 0-99/1000x'],
    ['a number beyond 16 digits', 'bytes 0-99/12345678901234567'],
    ['a 16-digit number beyond the safe integers', 'bytes 0-9999999999999999/9999999999999999'],
  ])('refuses %s with 400 bad_request', (_, header) => {
    const error = boxErrorFrom(() => parseContentRange(header));
    expect([error.status, error.code]).toEqual([400, 'bad_request']);
    expect(error.message).toContain(header);
  });

  it('cuts a long malformed header short in the message', () => {
    const header = `bytes ${'9'.repeat(500)}`;
    const error = boxErrorFrom(() => parseContentRange(header));
    expect(error.message.length).toBeLessThan(200);
  });

  it('refuses a range that ends before it starts with 416', () => {
    const error = boxErrorFrom(() => parseContentRange('bytes 99-0/1000'));
    expect([error.status, error.code]).toEqual([416, 'requested_range_not_satisfiable']);
  });
});

describe('parseSha1Digest', () => {
  const abc = { base64: 'qZk+NkcGgWq6PiVxeFDCbJzQ2J0=', hex: 'a9993e364706816aba3e25717850c26c9cd0d89d' };
  const empty = createHash('sha1').update('').digest();
  const sha256 = createHash('sha256').update('abc').digest('base64');

  it.each([
    ['sha= as Box sends it', `sha=${abc.base64}`],
    ['SHA= as the legacy SDKs send it', `SHA=${abc.base64}`],
    ['a mixed-case algorithm', `Sha=${abc.base64}`],
    ['spaces around the name and value', `  sha = ${abc.base64}  `],
    ['SHA-1 after another algorithm', `md5=kAFQmDzST7DWlj99KOF/cg==, sha=${abc.base64}`],
    ['SHA-1 before another algorithm', `sha=${abc.base64},sha-256=${sha256}`],
    ['the same SHA-1 twice (a repeated header)', `sha=${abc.base64}, SHA=${abc.base64}`],
    ['an instance without "=" among valid ones', `unixsum, sha=${abc.base64}`],
  ])('reads %s, as lower-case hex', (_, header) => {
    expect(parseSha1Digest(header)).toBe(abc.hex);
  });

  it('reads a SHA-1 whose base64 has "/" and "+"', () => {
    const bytes = Buffer.from('fbff'.repeat(10), 'hex');
    expect(parseSha1Digest(`sha=${bytes.toString('base64')}`)).toBe(bytes.toString('hex'));
    expect(parseSha1Digest(`sha=${empty.toString('base64')}`)).toBe(empty.toString('hex'));
  });

  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['a header of spaces', ' '],
    ['only another algorithm', `sha-256=${sha256}`],
    ['"sha1=", which is not the RFC 3230 name', `sha1=${abc.base64}`],
    ['a name without a value separator', 'sha'],
    ['an empty value', 'sha='],
    ['hex instead of base64', `sha=${abc.hex}`],
    ['base64 without its padding', `sha=${abc.base64.slice(0, -1)}`],
    ['base64url characters', `sha=${abc.base64.replace('+', '-')}`],
    ['19 bytes', `sha=${Buffer.alloc(19, 1).toString('base64')}`],
    ['21 bytes', `sha=${Buffer.alloc(21, 1).toString('base64')}`],
    ['a SHA-256 under the SHA-1 name', `sha=${sha256}`],
    ['two different SHA-1s', `sha=${abc.base64}, sha=${empty.toString('base64')}`],
    ['a valid SHA-1 next to an invalid one', `sha=${abc.base64}, sha=nonsense`],
  ])('refuses %s with 400 bad_request', (_, header) => {
    const error = boxErrorFrom(() => parseSha1Digest(header));
    expect([error.status, error.code]).toEqual([400, 'bad_request']);
  });
});
