import { BoxError } from './errors.js';

/** A part's byte range, inclusive at both ends, as `Content-Range: bytes first-last/total` says it. */
export interface ContentRange {
  first: number;
  last: number;
  total: number;
}

const CONTENT_RANGE = /^bytes[ ]+([0-9]{1,16})-([0-9]{1,16})\/([0-9]{1,16})$/;

export function parseContentRange(header: string | undefined): ContentRange {
  if (header === undefined || header.trim() === '') {
    throw new BoxError('bad_request', 'The Content-Range header is required: bytes <first>-<last>/<file size>');
  }
  const match = CONTENT_RANGE.exec(header.trim());
  const [first, last, total] = match ? [match[1], match[2], match[3]].map(Number) : [];
  if (first === undefined || last === undefined || total === undefined
    || !Number.isSafeInteger(first) || !Number.isSafeInteger(last) || !Number.isSafeInteger(total)) {
    throw new BoxError('bad_request', `The Content-Range header is not of the form bytes <first>-<last>/<file size>: ${truncate(header)}`);
  }
  if (last < first) {
    throw new BoxError('requested_range_not_satisfiable', 'The Content-Range ends before it starts');
  }
  return { first, last, total };
}

const BASE64_SHA1 = /^[A-Za-z0-9+/]{27}=$/;

/**
 * The SHA-1 named by a `Digest` header (RFC 3230), as lower-case hex. Box sends `sha=<base64>`;
 * legacy SDKs send `SHA=`. Other algorithms in the same header are ignored; SHA-1 must be among them.
 */
export function parseSha1Digest(header: string | undefined): string {
  if (header === undefined || header.trim() === '') {
    throw new BoxError('bad_request', 'The Digest header is required: sha=<base64 SHA-1>');
  }
  // Repeated Digest headers arrive joined by commas; every SHA-1 among them must be the same.
  const sha1s = new Set<string>();
  for (const instance of header.split(',')) {
    const separator = instance.indexOf('=');
    if (separator < 0) continue;
    const algorithm = instance.slice(0, separator).trim().toLowerCase();
    const value = instance.slice(separator + 1).trim();
    if (algorithm !== 'sha') continue;
    if (!BASE64_SHA1.test(value)) {
      throw new BoxError('bad_request', 'The Digest header holds no valid base64 SHA-1 (20 bytes)');
    }
    sha1s.add(Buffer.from(value, 'base64').toString('hex'));
  }
  if (sha1s.size > 1) throw new BoxError('bad_request', 'The Digest headers name different SHA-1s');
  const [sha1] = sha1s;
  if (sha1 !== undefined) return sha1;
  throw new BoxError('bad_request', `The Digest header must carry sha=<base64 SHA-1>: ${truncate(header)}`);
}

export function sha1HexToBase64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

function truncate(text: string): string {
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}
