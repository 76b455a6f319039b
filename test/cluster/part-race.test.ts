import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, partRequest, randomData, sha1Base64, sha1Hex, startServer, type TestServer } from '../helpers/partway.js';
import { freshSchema } from '../helpers/postgres.js';
import { SHARED_BACKENDS, sharedBackendSettings } from '../helpers/shared-backends.js';

// Issue 13, §3 item 2: on S3 two attempts at one part with different bytes write the same S3 part. The
// losing attempt's bytes could land after the winner was recorded, and every commit then failed
// (InvalidPart) for ever. Now one attempt writes a slot at a time, across nodes.

const SIZE = 5 * 1024 * 1024; // one part, the smallest S3 allows
const ROUNDS = 6;

describe.skipIf(!SHARED_BACKENDS)('two attempts at one part with different bytes, on two nodes sharing PostgreSQL and S3', () => {
  let schema: Awaited<ReturnType<typeof freshSchema>>;
  let nodes: TestServer[] = [];
  let token: string;

  beforeAll(async () => {
    schema = await freshSchema();
    const settings = { ...sharedBackendSettings(schema.url), partSize: String(SIZE), minChunkedSize: '1000' };
    nodes = [await startServer(settings), await startServer(settings)];
    token = nodes[0]!.token;
  });
  afterAll(async () => {
    for (const node of nodes) await node.close();
    await schema?.drop();
  });

  it('leaves the session committable with exactly the bytes recorded, round after round', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const created = await call('POST', `${nodes[0]!.upload}/files/upload_sessions`, {
        token, json: { folder_id: '0', file_size: SIZE, file_name: `race-${round}.bin` },
      });
      expect(created.status, created.text).toBe(201);
      const id = created.json.id as string;
      const versions = [randomData(SIZE), randomData(SIZE)];
      const answers = await Promise.all(versions.map((data, node) =>
        call('PUT', `${nodes[node]!.upload}/files/upload_sessions/${id}`, partRequest(data, 0, SIZE, token))));
      // One attempt is recorded; the other is told its range overlaps a part with other bytes.
      expect(answers.map((answer) => answer.status).sort()).toEqual([200, 416]);
      const recorded = versions[answers.findIndex((answer) => answer.status === 200)]!;

      const committed = await call('POST', `${nodes[round % 2]!.upload}/files/upload_sessions/${id}/commit`, {
        token, headers: { digest: `sha=${sha1Base64(recorded)}` }, json: { parts: [answers.find((a) => a.status === 200)!.json.part] },
      });
      expect(committed.status, committed.text).toBe(201);
      const redirect = await call('GET', `${nodes[0]!.api}/files/${committed.json.entries[0].id}/content`, { token });
      const download = await request(String(redirect.headers.location));
      expect(sha1Hex(Buffer.from(await download.body.arrayBuffer()))).toBe(sha1Hex(recorded));
    }
  });
});
