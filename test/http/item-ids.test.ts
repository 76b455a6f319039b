import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startServer, type TestServer } from '../helpers/partway.js';
import { SHARED_BACKENDS, startSharedServer } from '../helpers/shared-backends.js';

/** One past PostgreSQL's bigint: it once reached the database and came back as a 500. */
const PAST_64_BITS = '9223372036854775808';

const backends = [
  { name: 'SQLite and the disk', start: () => startServer(), skip: false },
  { name: 'PostgreSQL and S3', start: () => startSharedServer(), skip: !SHARED_BACKENDS },
];

describe.each(backends)('item ids beyond the 64-bit range on $name', ({ start, skip }) => {
  let server: TestServer;
  beforeAll(async () => {
    if (!skip) server = await start();
  });
  afterAll(() => server?.close());

  it.skipIf(skip).each([
    ['GET', `/files/${PAST_64_BITS}`, undefined],
    ['GET', `/folders/${PAST_64_BITS}`, undefined],
    ['GET', `/folders/${PAST_64_BITS}/items`, undefined],
    ['GET', '/folders/99999999999999999999999', undefined],
    ['POST', '/folders', { name: 'x', parent: { id: '9999999999999999999' } }],
    ['POST', '/files/upload_sessions', { folder_id: PAST_64_BITS, file_name: 'x.bin', file_size: 30_000_000 }],
  ])('%s %s is a Box 404, not a 500', async (method, path, json) => {
    const reply = await call(method, `${server.api}${path}`, { token: server.token, json });
    expect(reply.status).toBe(404);
    expect(reply.json).toMatchObject({ type: 'error', status: 404, code: 'not_found' });
  });

  it.skipIf(skip)('a download of a version id past the range is a Box 404', async () => {
    const form = new FormData();
    form.append('attributes', JSON.stringify({ name: 'small.txt', parent: { id: '0' } }));
    form.append('file', new Blob([Buffer.from('hello')]), 'file');
    const uploaded = await fetch(`${server.upload}/files/content`, { method: 'POST', body: form, headers: { authorization: `Bearer ${server.token}` } });
    const fileId = ((await uploaded.json()) as { entries: Array<{ id: string }> }).entries[0]!.id;
    const reply = await call('GET', `${server.api}/files/${fileId}/content?version=${PAST_64_BITS}`, { token: server.token });
    expect(reply.status).toBe(404);
    expect(reply.json).toMatchObject({ type: 'error', code: 'not_found' });
  });
});
