import { BoxError } from './errors.js';
import type { ContentRange } from './headers.js';

/** What a session needs to know to judge a part. */
export interface SessionShape {
  fileSize: number;
  partSize: number;
  totalParts: number;
}

export interface PartSlot {
  offset: number;
  size: number;
  /** 1-based, as S3 numbers parts. */
  partNumber: number;
}

/**
 * The slot a Content-Range names, or a 416: a part starts at a multiple of the part size and is
 * exactly one part long (the last one is the remainder), and the total is the session's file size.
 */
export function partSlotFor(session: SessionShape, range: ContentRange, contentLength?: number): PartSlot {
  if (range.total !== session.fileSize) {
    throw new BoxError('requested_range_not_satisfiable',
      `The Content-Range total ${range.total} is not the session's file size ${session.fileSize}`);
  }
  if (range.first % session.partSize !== 0 || range.first >= session.fileSize) {
    throw new BoxError('requested_range_not_satisfiable',
      `A part must start at a multiple of the part size ${session.partSize} within the file`);
  }
  const size = Math.min(session.partSize, session.fileSize - range.first);
  if (range.last - range.first + 1 !== size) {
    throw new BoxError('requested_range_not_satisfiable',
      `The part at offset ${range.first} must be ${size} bytes: bytes ${range.first}-${range.first + size - 1}/${session.fileSize}`);
  }
  if (contentLength !== undefined && contentLength !== size) {
    throw new BoxError('requested_range_not_satisfiable',
      `The body is ${contentLength} bytes but the Content-Range names ${size} bytes`);
  }
  return { offset: range.first, size, partNumber: range.first / session.partSize + 1 };
}

/** A part as a client lists it in a commit; Java and Android clients leave out `sha1`. */
export interface ListedPart {
  part_id?: string | undefined;
  offset: number;
  size: number;
  sha1?: string | undefined;
}

export interface StoredPart {
  partId: string;
  offset: number;
  size: number;
  sha1: string;
}

export type CommitPartsCheck = { complete: true } | { missingOffsets: number[] };

/**
 * Checks a commit's part list against the stored parts. Every listed part must be stored with the
 * same offset, size, and (if given) id and SHA-1, and the list must cover the file. Listed parts that
 * are not stored yet are returned, so the caller can tell "still being written" from a wrong list.
 */
export function checkCommitParts(session: SessionShape, listed: readonly ListedPart[],
  stored: readonly StoredPart[]): CommitPartsCheck {
  const storedByOffset = new Map(stored.map((part) => [part.offset, part]));
  const seen = new Set<number>();
  const missingOffsets: number[] = [];
  for (const part of listed) {
    if (seen.has(part.offset)) throw partsMismatch(`The part at offset ${part.offset} is listed twice`);
    seen.add(part.offset);
    const expectedSize = Math.min(session.partSize, session.fileSize - part.offset);
    if (part.offset % session.partSize !== 0 || part.offset < 0 || part.offset >= session.fileSize || part.size !== expectedSize) {
      throw partsMismatch(`No part of this session can have offset ${part.offset} and size ${part.size}`);
    }
    const match = storedByOffset.get(part.offset);
    if (!match) {
      missingOffsets.push(part.offset);
      continue;
    }
    if ((part.part_id !== undefined && part.part_id.toUpperCase() !== match.partId)
      || (part.sha1 !== undefined && part.sha1.toLowerCase() !== match.sha1)) {
      throw partsMismatch(`The part at offset ${part.offset} does not match the part uploaded there`, match);
    }
  }
  if (seen.size !== session.totalParts) {
    throw partsMismatch(`The file has ${session.totalParts} parts but the commit lists ${seen.size}`);
  }
  return missingOffsets.length === 0 ? { complete: true } : { missingOffsets };
}

function partsMismatch(message: string, uploaded?: StoredPart): BoxError {
  return new BoxError('parts_mismatch', message, uploaded && {
    contextInfo: { uploaded_part: { part_id: uploaded.partId, offset: uploaded.offset, size: uploaded.size, sha1: uploaded.sha1 } },
  });
}
