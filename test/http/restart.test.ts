import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { call, partRequest, randomData, sha1Base64, sha1Hex } from '../helpers/partway.js';
import { SERVER_NODE_OPTIONS } from '../../src/cli/node-options.js';
import { CLI, runCli, spawnServer, waitForExit, type ServerProcess } from '../helpers/process.js';

const PART = 1024 * 1024;
const SIZE = 4 * PART - 123;
const settings = (dataDir: string) => ({ PARTWAY_DATA_DIR: dataDir, PARTWAY_BASE_PART_SIZE: String(PART), PARTWAY_MIN_CHUNKED_SIZE: '1000' });

let running: ServerProcess | undefined;
let dataDir: string | undefined;

afterEach(async () => {
  running?.child.kill('SIGKILL');
  if (running) await waitForExit(running.child);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  running = undefined;
  dataDir = undefined;
});

describe('the partway command', () => {
  it('creates, lists and revokes tokens, printing a new token alone on stdout', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'partway-cli-'));
    const created = await runCli(['token', 'create', '--user', 'dana'], settings(dataDir));
    expect(created.stdout).toMatch(/^pw_[0-9a-f]{16}_[A-Za-z0-9_-]{43}\n$/);
    const token = created.stdout.trim();
    // The secret is base64url and may itself contain '_': cut by position, not by '_'.
    const id = token.slice(3, 19);
    const secret = token.slice(20);

    running = await spawnServer(settings(dataDir));
    expect((await call('GET', `${running.url}/2.0/users/me`, { token })).json).toMatchObject({ name: 'dana' });

    const listed = await runCli(['token', 'list', '--data-dir', dataDir]);
    expect(listed.stdout).toContain(`${id}\tdana`);
    expect(listed.stdout).not.toContain(secret);

    await runCli(['token', 'revoke', id, '--data-dir', dataDir]);
    expect((await call('GET', `${running.url}/2.0/users/me`, { token })).status).toBe(401);
    expect((await runCli(['token', 'list'], settings(dataDir))).stdout).toMatch(/revoked/);
  });

  it('runs with its Node options: the bin\'s shebang and npm start pass them; a server started without them warns', async () => {
    const shebang = (await readFile(CLI, 'utf8')).split('\n')[0];
    expect(shebang).toBe(`#!/usr/bin/env -S node ${SERVER_NODE_OPTIONS.join(' ')}`);
    const start = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')).scripts.start;
    expect(start).toBe(`node ${SERVER_NODE_OPTIONS.join(' ')} dist/cli/main.js serve`);

    dataDir = await mkdtemp(join(tmpdir(), 'partway-options-'));
    running = await spawnServer(settings(dataDir));
    expect(running.output()).not.toContain('Node was started without');
    running.child.kill('SIGKILL');
    await waitForExit(running.child);
    running = await spawnServer(settings(dataDir), []);
    expect(running.output()).toContain(`Node was started without ${SERVER_NODE_OPTIONS.join(' ')}`);
  });

  it('creates tokens from several processes at once on a new data directory', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'partway-cli-'));
    const created = await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((user) => runCli(['token', 'create', '--user', user], settings(dataDir!))));
    expect(created.map((out) => out.stdout)).toEqual(created.map(() => expect.stringMatching(/^pw_/)));
    expect((await runCli(['token', 'list', '--data-dir', dataDir])).stdout.trim().split('\n')).toHaveLength(6);
  });

  it('loses nothing when killed with SIGKILL: sessions, parts and files survive and the upload continues', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'partway-restart-'));
    const token = (await runCli(['token', 'create', '--user', 'erin'], settings(dataDir))).stdout.trim();
    running = await spawnServer(settings(dataDir));
    const base = `${running.url}/api/2.0`;

    const before = randomData(SIZE);
    const first = await call('POST', `${base}/files/upload_sessions`, { token, json: { folder_id: '0', file_size: SIZE, file_name: 'before.bin' } });
    const firstParts = [];
    for (let offset = 0; offset < SIZE; offset += PART) {
      firstParts.push((await call('PUT', `${base}/files/upload_sessions/${first.json.id}`, partRequest(before, offset, Math.min(PART, SIZE - offset), token))).json.part);
    }
    const committed = await call('POST', `${base}/files/upload_sessions/${first.json.id}/commit`, {
      token, headers: { digest: `sha=${sha1Base64(before)}` }, json: { parts: firstParts },
    });
    expect(committed.status).toBe(201);

    const data = randomData(SIZE);
    const session = await call('POST', `${base}/files/upload_sessions`, { token, json: { folder_id: '0', file_size: SIZE, file_name: 'after.bin' } });
    const url = `${base}/files/upload_sessions/${session.json.id}`;
    expect((await call('PUT', url, partRequest(data, 2 * PART, PART, token))).status).toBe(200);
    expect((await call('PUT', url, partRequest(data, 0, PART, token))).status).toBe(200);

    running.child.kill('SIGKILL');
    await waitForExit(running.child);
    running = await spawnServer(settings(dataDir));
    const restarted = `${running.url}/api/2.0`;
    const resumedUrl = `${restarted}/files/upload_sessions/${session.json.id}`;

    const status = await call('GET', resumedUrl, { token });
    expect(status.json.num_parts_processed).toBe(2);
    expect((await call('GET', `${resumedUrl}/parts`, { token })).json.entries.map((part: { offset: number }) => part.offset)).toEqual([0, 2 * PART]);
    for (const offset of [PART, 3 * PART]) {
      expect((await call('PUT', resumedUrl, partRequest(data, offset, Math.min(PART, SIZE - offset), token))).status).toBe(200);
    }
    const parts = (await call('GET', `${resumedUrl}/parts`, { token })).json.entries;
    const done = await call('POST', `${resumedUrl}/commit`, { token, headers: { digest: `sha=${sha1Base64(data)}` }, json: { parts } });
    expect(done.status).toBe(201);

    for (const [fileId, bytes] of [[committed.json.entries[0].id, before], [done.json.entries[0].id, data]] as const) {
      const redirect = await call('GET', `${running.url}/2.0/files/${fileId}/content`, { token });
      const body = await request(String(redirect.headers.location));
      expect(sha1Hex(Buffer.from(await body.body.arrayBuffer()))).toBe(sha1Hex(bytes));
    }
  });

  it('shuts down on SIGTERM after finishing the requests in flight', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'partway-term-'));
    const token = (await runCli(['token', 'create', '--user', 'finn'], settings(dataDir))).stdout.trim();
    running = await spawnServer(settings(dataDir));
    const data = randomData(SIZE);
    const session = await call('POST', `${running.url}/api/2.0/files/upload_sessions`, { token, json: { folder_id: '0', file_size: SIZE, file_name: 'term.bin' } });
    const part = partRequest(data, 0, PART, token);
    async function* slowBody() {
      yield part.body.subarray(0, PART / 2);
      await new Promise((resolve) => setTimeout(resolve, 300));
      yield part.body.subarray(PART / 2);
    }
    const inFlight = call('PUT', `${running.url}/api/2.0/files/upload_sessions/${session.json.id}`, { ...part, body: slowBody() });
    await new Promise((resolve) => setTimeout(resolve, 100));
    running.child.kill('SIGTERM');
    expect((await inFlight).status).toBe(200);
    expect(await waitForExit(running.child)).toBe(0);
  });
});
