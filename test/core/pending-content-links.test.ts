import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DownloadLinks } from '../../src/core/download-links.js';
import { asBlobKey } from '../../src/core/model.js';
import { SqliteMetadataStore } from '../../src/metadata/sqlite/sqlite-store.js';
import { AdvancingClock } from '../helpers/partway.js';

// The pre-commit hook's link to bytes that are not a file yet: signed with the download links' key,
// short-lived, and never mistaken for a file's download link (nor one for the other).

let dir: string;
let metadata: SqliteMetadataStore;
const clock = new AdvancingClock();
let links: DownloadLinks;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'partway-links-'));
  metadata = new SqliteMetadataStore(join(dir, 'partway.db'));
  links = await DownloadLinks.create(metadata, 60_000, clock.now);
});
afterAll(async () => {
  await metadata.close();
  await rm(dir, { recursive: true, force: true });
});

const sessionGrant = { blobKey: asBlobKey('blobs/0123456789abcdef0123456789abcdef'), size: 6_000_000, sha1: 'a9993e364706816aba3e25717850c26c9cd0d89d', sessionId: '0123456789ABCDEF0123456789ABCDEF' };

describe('pending-content links', () => {
  it('carry the blob, its size and the session (or none) until their lifetime ends', () => {
    const token = links.signPending(sessionGrant, 10_000);
    expect(links.verifyPending(token)).toEqual(sessionGrant);
    const simple = { blobKey: asBlobKey('0f'.repeat(16)), size: 0, sha1: 'da39a3ee5e6b4b0d3255bfef95601890afd80709', sessionId: null };
    expect(links.verifyPending(links.signPending(simple, 10_000))).toEqual(simple);
    clock.advance(11_000);
    expect(links.verifyPending(token)).toBeUndefined();
  });

  it('are refused when any part is changed, and are not file download links (nor the reverse)', () => {
    const token = links.signPending(sessionGrant, 10_000);
    const fields = token.split('.');
    for (let index = 1; index < fields.length; index++) {
      const changed = [...fields];
      changed[index] = changed[index]!.replace(/^./, (first) => (first === 'A' ? 'B' : 'A'));
      expect(links.verifyPending(changed.join('.'))).toBeUndefined();
    }
    expect(links.verify(token)).toBeUndefined();
    expect(links.verifyPending(links.sign({ fileId: '12', versionId: '34' }))).toBeUndefined();
  });

  it('end when revoked (their hook answered) without ending another link to the same bytes', () => {
    const first = links.signPending(sessionGrant, 10_000);
    const second = links.signPending(sessionGrant, 10_000);
    expect(second).not.toBe(first);
    links.revokePending(first);
    expect(links.verifyPending(first)).toBeUndefined();
    expect(links.verifyPending(second)).toEqual(sessionGrant);
  });
});
