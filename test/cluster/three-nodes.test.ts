import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, partRequest, randomData, sha1Base64, sha1Hex } from '../helpers/partway.js';
import { freshSchema } from '../helpers/postgres.js';
import { runCli, spawnServer, waitForExit, type ServerProcess } from '../helpers/process.js';
import { SHARED_BACKENDS, sharedBackendSettings } from '../helpers/shared-backends.js';

const MiB = 1024 * 1024;
const PART = 8 * MiB;
const SIZE = 3 * PART + 12_345; // four parts

describe.skipIf(!SHARED_BACKENDS)('three Partway nodes on one PostgreSQL and one S3 bucket', () => {
  let schema: Awaited<ReturnType<typeof freshSchema>>;
  let dataDir: string;
  let nodes: ServerProcess[] = [];
  let token: string;
  const base = (node: number) => `${nodes[node % 3]!.url}/api/2.0`;

  beforeAll(async () => {
    schema = await freshSchema();
    dataDir = await mkdtemp(join(tmpdir(), 'partway-cluster-'));
    const settings = sharedBackendSettings(schema.url);
    const env: Record<string, string> = {
      PARTWAY_DATABASE_URL: settings.databaseUrl, PARTWAY_S3_ENDPOINT: settings.s3Endpoint!, PARTWAY_S3_BUCKET: settings.s3Bucket,
      PARTWAY_S3_REGION: settings.s3Region, PARTWAY_S3_ACCESS_KEY_ID: settings.s3AccessKeyId ?? '',
      PARTWAY_S3_SECRET_ACCESS_KEY: settings.s3SecretAccessKey ?? '', PARTWAY_MIN_CHUNKED_SIZE: '1000',
    };
    token = (await runCli(['token', 'create', '--user', 'alice'], env)).stdout.trim();
    // Started together: their migrations race, as nodes of one deployment do.
    nodes = await Promise.all([0, 1, 2].map((index) => spawnServer({ ...env, PARTWAY_DATA_DIR: join(dataDir, `node${index}`) })));
  });

  afterAll(async () => {
    for (const node of nodes) node.child.kill('SIGTERM');
    await Promise.all(nodes.map((node) => waitForExit(node.child)));
    await schema?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function createSession(node: number, name: string) {
    const reply = await call('POST', `${base(node)}/files/upload_sessions`, { token, json: { folder_id: '0', file_size: SIZE, file_name: name } });
    expect(reply.status, reply.text).toBe(201);
    return reply.json.id as string;
  }

  const putPart = (node: number, sessionId: string, data: Buffer, index: number) =>
    call('PUT', `${base(node)}/files/upload_sessions/${sessionId}`, partRequest(data, index * PART, Math.min(PART, SIZE - index * PART), token));

  const commit = (node: number, sessionId: string, data: Buffer, parts: unknown[]) =>
    call('POST', `${base(node)}/files/upload_sessions/${sessionId}/commit`, { token, headers: { digest: `sha=${sha1Base64(data)}` }, json: { parts } });

  async function downloadSha1(node: number, fileId: string): Promise<string> {
    const redirect = await call('GET', `${nodes[node % 3]!.url}/2.0/files/${fileId}/content`, { token });
    expect(redirect.status).toBe(302);
    const response = await request(String(redirect.headers.location));
    return sha1Hex(Buffer.from(await response.body.arrayBuffer()));
  }

  async function namesInRoot(node: number): Promise<string[]> {
    return (await call('GET', `${nodes[node % 3]!.url}/2.0/folders/0/items?limit=1000`, { token })).json.entries.map((item: { name: string }) => item.name);
  }

  it('takes each session\'s parts on all three nodes in parallel, settles racing commits into one file, and serves it from the third', async () => {
    const files = [0, 1, 2, 3].map((index) => ({ name: `spread-${index}.bin`, data: randomData(SIZE) }));
    const sessions = await Promise.all(files.map((file, index) => createSession(index, file.name)));

    // Every part of every session at once, each session's parts on different nodes; the first part of
    // each session is also sent twice at the same moment through two nodes (a client's retry).
    const puts = files.flatMap((_, fileIndex) => [0, 1, 2, 3].map((part) => ({ node: fileIndex + part, fileIndex, part })));
    const duplicates = files.map((_, fileIndex) => ({ node: fileIndex + 1, fileIndex, part: 0 }));
    const replies = await Promise.all([...puts, ...duplicates].map(({ node, fileIndex, part }) => putPart(node, sessions[fileIndex]!, files[fileIndex]!.data, part)));
    expect(replies.map((reply) => reply.status)).toEqual(replies.map(() => 200));

    for (const [fileIndex, file] of files.entries()) {
      const listed = await call('GET', `${base(fileIndex + 2)}/files/upload_sessions/${sessions[fileIndex]}/parts`, { token });
      expect(listed.json.total_count).toBe(4);
      // Two nodes commit at the same moment; both answer with the one file.
      const [first, second] = await Promise.all([commit(0, sessions[fileIndex]!, file.data, listed.json.entries), commit(1, sessions[fileIndex]!, file.data, listed.json.entries)]);
      expect([first.status, second.status]).toEqual([201, 201]);
      expect(first.json.entries[0].id).toBe(second.json.entries[0].id);
      expect(await downloadSha1(2, first.json.entries[0].id)).toBe(sha1Hex(file.data));
    }
    const names = await namesInRoot(1);
    for (const file of files) expect(names.filter((name) => name === file.name)).toHaveLength(1);
  });

  it('lets a commit racing an abort on another node end in a file or in nothing, never in both', async () => {
    for (let round = 0; round < 3; round++) {
      const data = randomData(SIZE);
      const name = `race-abort-${round}.bin`;
      const sessionId = await createSession(round, name);
      const parts = (await Promise.all([0, 1, 2, 3].map((part) => putPart(part, sessionId, data, part)))).map((reply) => reply.json.part);
      const [committed, aborted] = await Promise.all([
        commit(round, sessionId, data, parts),
        call('DELETE', `${base(round + 1)}/files/upload_sessions/${sessionId}`, { token }),
      ]);
      expect(aborted.status).toBe(204);
      const inRoot = (await namesInRoot(round + 2)).filter((entry) => entry === name);
      if (committed.status === 201) {
        expect(inRoot).toHaveLength(1);
        expect(await downloadSha1(round + 2, committed.json.entries[0].id)).toBe(sha1Hex(data));
      } else {
        expect(committed.status).toBe(404);
        expect(inRoot).toHaveLength(0);
      }
    }
  });

  it('never records a part the commit did not see: a last part racing a commit is committed or refused', async () => {
    const data = randomData(SIZE);
    const sessionId = await createSession(0, 'race-part.bin');
    const first = await Promise.all([0, 1, 2].map((part) => putPart(part, sessionId, data, part)));
    const last = { offset: 3 * PART, size: SIZE - 3 * PART, sha1: sha1Hex(data.subarray(3 * PART)) };
    const listed = [...first.map((reply) => reply.json.part), last];
    const [lastPut, raced] = await Promise.all([putPart(1, sessionId, data, 3), commit(2, sessionId, data, listed)]);
    expect(lastPut.status).toBe(200);
    // The commit saw the part (201), saw it in flight (202), or did not see it at all (400).
    expect([201, 202, 400]).toContain(raced.status);
    const final = raced.status === 201 ? raced : await commit(0, sessionId, data, listed);
    expect(final.status).toBe(201);
    expect(await downloadSha1(1, final.json.entries[0].id)).toBe(sha1Hex(data));
    const parts = await call('GET', `${base(2)}/files/upload_sessions/${sessionId}/parts`, { token });
    expect(parts.json.total_count).toBe(4);
  });
});
