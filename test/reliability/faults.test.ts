import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { call, partRequest, randomData, sha1Base64, sha1Hex } from '../helpers/partway.js';
import { runCli, spawnServer, waitForExit, type ServerProcess } from '../helpers/process.js';
import { freePorts } from '../setup/system.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const isRoot = process.getuid?.() === 0;
const PG_BIN = ['15', '16', '17'].map((version) => `/usr/lib/postgresql/${version}/bin`).find((dir) => existsSync(join(dir, 'initdb')));

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

async function start(env: Record<string, string>): Promise<{ server: ServerProcess; token: string; base: string; dataDir: string }> {
  const dataDir = env.PARTWAY_DATA_DIR ?? await mkdtemp(join(tmpdir(), 'partway-fault-'));
  if (!env.PARTWAY_DATA_DIR) cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const settings = { PARTWAY_DATA_DIR: dataDir, PARTWAY_BASE_PART_SIZE: String(MiB), PARTWAY_MIN_CHUNKED_SIZE: '1000', ...env };
  const token = (await runCli(['token', 'create', '--user', 'fault'], settings)).stdout.trim();
  const server = await spawnServer(settings);
  cleanups.push(async () => {
    server.child.kill('SIGKILL');
    await waitForExit(server.child);
  });
  return { server, token, base: `${server.url}/api/2.0`, dataDir };
}

const openFiles = async (pid: number) => (await readdir(`/proc/${pid}/fd`)).length;
const residentMiB = async (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** Polls until `check` holds (state that settles asynchronously, like closed sockets), or fails with the last value. */
async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!check(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    value = await read();
  }
  return value;
}

/** Sends a PUT of a part by hand on a raw socket: the headers, then as much of the body as `write` does. */
function rawPart(url: string, token: string, data: Buffer, size: number, write: (socket: import('node:net').Socket) => void) {
  const target = new URL(url);
  const socket = connect(Number(target.port), target.hostname);
  socket.on('error', () => {});
  socket.write(`PUT ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\nAuthorization: Bearer ${token}\r\n`
    + `Content-Range: bytes 0-${size - 1}/${data.length}\r\nDigest: sha=${sha1Base64(data.subarray(0, size))}\r\n`
    + `Content-Length: ${size}\r\nContent-Type: application/octet-stream\r\n\r\n`);
  write(socket);
  return socket;
}

describe('faults', () => {
  it('a client that disconnects mid-part leaves no record and no bytes, and the server gives its file handles back', async () => {
    const { server, token, base, dataDir } = await start({});
    const data = randomData(3 * MiB);
    const session = await call('POST', `${base}/files/upload_sessions`, { token, json: { folder_id: '0', file_size: data.length, file_name: 'cut.bin' } });
    const url = `${base}/files/upload_sessions/${session.json.id}`;
    expect((await call('GET', url, { token })).status).toBe(200);
    const baseline = await openFiles(server.child.pid!);

    for (let round = 0; round < 5; round++) {
      const socket = rawPart(url, token, data, MiB, (raw) => raw.write(data.subarray(0, MiB / 2)));
      await new Promise((resolve) => setTimeout(resolve, 100));
      socket.destroy();
    }
    expect(await eventually(() => openFiles(server.child.pid!), (count) => count <= baseline)).toBeLessThanOrEqual(baseline);
    expect((await call('GET', `${url}/parts`, { token })).json.total_count).toBe(0);
    const uploads = await readdir(join(dataDir, 'blobs', 'uploads'));
    expect(uploads).toHaveLength(1);
    expect(await readdir(join(dataDir, 'blobs', 'uploads', uploads[0]!))).toEqual([]);
    // The same part then goes through whole.
    expect((await call('PUT', url, partRequest(data, 0, MiB, token))).status).toBe(200);
  });

  it('slow clients (slowloris) are cut off by the request timeout, leaving no record, memory or handles behind', async () => {
    const { server, token, base } = await start({ PARTWAY_REQUEST_TIMEOUT: '2', PARTWAY_IDLE_TIMEOUT: '30' });
    const data = randomData(2 * MiB);
    const session = await call('POST', `${base}/files/upload_sessions`, { token, json: { folder_id: '0', file_size: data.length, file_name: 'slow.bin' } });
    const url = `${base}/files/upload_sessions/${session.json.id}`;
    expect((await call('GET', url, { token })).status).toBe(200);
    const baseline = await openFiles(server.child.pid!);
    const rssBefore = await residentMiB(server.child.pid!);

    const closed: Array<Promise<number>> = [];
    const timers: NodeJS.Timeout[] = [];
    for (let client = 0; client < 40; client++) {
      let sent = 0;
      const socket = rawPart(url, token, data, MiB, () => {});
      // A byte every 200 ms: never silent, never done.
      timers.push(setInterval(() => socket.writable && socket.write(data.subarray(sent, ++sent)), 200));
      const started = Date.now();
      closed.push(new Promise((resolve) => socket.on('close', () => resolve(Date.now() - started))));
    }
    const lifetimes = await Promise.all(closed);
    for (const timer of timers) clearInterval(timer);
    // Cut off after the 2 s request timeout (checked every 500 ms), long before they would have finished.
    for (const lifetime of lifetimes) expect(lifetime).toBeLessThan(10_000);
    expect(await eventually(() => openFiles(server.child.pid!), (count) => count <= baseline)).toBeLessThanOrEqual(baseline);
    expect((await call('GET', `${url}/parts`, { token })).json.total_count).toBe(0);
    expect(await residentMiB(server.child.pid!)).toBeLessThan(rssBefore + 64);
  });

  it.skipIf(!isRoot)('a full disk answers 507 insufficient_storage, damages nothing stored, and uploads work again once space is freed', async () => {
    const mountPoint = await mkdtemp(join(tmpdir(), 'partway-full-'));
    await run('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mountPoint]);
    cleanups.push(async () => {
      await run('umount', ['-l', mountPoint]);
      await rm(mountPoint, { recursive: true, force: true });
    });
    const { token, base, server } = await start({ PARTWAY_DATA_DIR: join(mountPoint, 'data') });
    const upload = async (name: string, data: Buffer) => {
      const session = await call('POST', `${base}/files/upload_sessions`, { token, json: { folder_id: '0', file_size: data.length, file_name: name } });
      const statuses: number[] = [];
      const parts = [];
      for (let offset = 0; offset < data.length; offset += MiB) {
        const reply = await call('PUT', `${base}/files/upload_sessions/${session.json.id}`, partRequest(data, offset, Math.min(MiB, data.length - offset), token));
        statuses.push(reply.status);
        if (reply.status !== 200) return { session: session.json.id as string, statuses, error: reply.json };
        parts.push(reply.json.part);
      }
      const committed = await call('POST', `${base}/files/upload_sessions/${session.json.id}/commit`, { token, headers: { digest: `sha=${sha1Base64(data)}` }, json: { parts } });
      return { session: session.json.id as string, statuses, committed };
    };
    const kept = randomData(4 * MiB);
    const first = await upload('kept.bin', kept);
    expect(first.committed?.status).toBe(201);

    const filler = join(mountPoint, 'filler');
    await writeFile(filler, Buffer.alloc(14 * MiB));
    const tooMuch = await upload('too-much.bin', randomData(8 * MiB));
    expect(tooMuch.statuses.at(-1)).toBe(507);
    expect(tooMuch.error).toMatchObject({ type: 'error', status: 507, code: 'insufficient_storage' });

    // What was stored before is intact, and the server still answers.
    const redirect = await call('GET', `${server.url}/2.0/files/${first.committed!.json.entries[0].id}/content`, { token });
    const { request } = await import('undici');
    expect(sha1Hex(Buffer.from(await (await request(String(redirect.headers.location))).body.arrayBuffer()))).toBe(sha1Hex(kept));

    await rm(filler);
    const after = await upload('after.bin', randomData(6 * MiB));
    expect(after.committed?.status).toBe(201);
  });

  it.skipIf(!isRoot || !PG_BIN)('while PostgreSQL is stopped requests get 503 with Retry-After, and the node recovers by itself', async () => {
    const pgDir = await mkdtemp(join(tmpdir(), 'partway-pg-'));
    await chown(pgDir, Number((await run('id', ['-u', 'postgres'])).stdout), Number((await run('id', ['-g', 'postgres'])).stdout));
    const pg = (args: string[]) => run('runuser', ['-u', 'postgres', '--', ...args]);
    // Below the ephemeral range, so that no client socket takes it while PostgreSQL is stopped (a random
    // port in 55,000-60,000 once collided).
    const port = await freePorts(1);
    await pg([join(PG_BIN!, 'initdb'), '-D', join(pgDir, 'db'), '-A', 'trust', '-U', 'postgres']);
    const pgCtl = (action: string) => pg([join(PG_BIN!, 'pg_ctl'), '-D', join(pgDir, 'db'), '-w', '-l', join(pgDir, 'log'),
      '-o', `-p ${port} -k ${pgDir} -c listen_addresses=127.0.0.1`, action]);
    cleanups.push(async () => {
      await pgCtl('stop').catch(() => {});
      await rm(pgDir, { recursive: true, force: true });
    });
    await pgCtl('start');
    const { server, token, base } = await start({ PARTWAY_DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/postgres` });
    expect((await call('GET', `${base}/users/me`, { token })).status).toBe(200);

    await pgCtl('stop');
    const down = await call('GET', `${base}/folders/0`, { token });
    expect(down.status).toBe(503);
    expect(down.json).toMatchObject({ type: 'error', status: 503, code: 'unavailable' });
    expect(down.headers['retry-after']).toBe('5');
    expect((await call('GET', `${server.url}/readyz`, { token: null })).status).toBe(503);
    expect((await call('GET', `${server.url}/healthz`, { token: null })).status).toBe(200);

    await pgCtl('start');
    const back = await eventually(() => call('GET', `${base}/folders/0`, { token }), (reply) => reply.status === 200);
    expect(back.status).toBe(200);
    expect((await call('GET', `${server.url}/readyz`, { token: null })).status).toBe(200);
  });
});
