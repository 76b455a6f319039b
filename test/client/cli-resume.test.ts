import { open, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PartwayClient } from '../../src/client/index.js';
import { cliWorld } from '../helpers/cli-world.js';
import { filesIn, jsonLines, runPartway, startCli, tempDir } from '../helpers/cli.js';
import { BEHIND_FAULT_PROXY, FaultProxy } from '../helpers/fault-proxy.js';
import { call, randomData, sha1Hex, startServer, type TestServer } from '../helpers/partway.js';
import { ServerWatch } from '../helpers/server-watch.js';

const MiB = 1024 * 1024;
/** Over the client's 20,000,000-byte threshold for upload sessions; 24 parts of 1 MiB. */
const SIZE = 24 * MiB;
const TOTAL_PARTS = 24;
const PART_PUT = /^\/api\/2\.0\/files\/upload_sessions\/[0-9A-F]+$/;

const world = cliWorld('partway-cli', { nestedStateDir: true });
let counter = 0;

/** The CLI talks to the server through the proxy; resume state and config live in temp dirs. */
const env = (server_ = world.proxy.url, token = world.server.token) => ({
  PARTWAY_SERVER: server_, PARTWAY_TOKEN: token, PARTWAY_STATE_DIR: world.stateDir.path, PARTWAY_CONFIG_DIR: world.configDir.path,
});

async function bigFile(): Promise<{ path: string; data: Buffer }> {
  const data = randomData(SIZE);
  const path = join(world.work.path, `big-${++counter}.bin`);
  await writeFile(path, data);
  return { path, data };
}

/** Parts the server holds for a session, asked directly (not through the proxy). */
async function partsHeld(target: TestServer, sessionId: string): Promise<number> {
  const reply = await call('GET', `${target.upload}/files/upload_sessions/${sessionId}/parts?limit=1000`, { token: target.token });
  expect(reply.status, reply.text).toBe(200);
  return reply.json.entries.length;
}

async function downloadedSha1(target: TestServer, fileId: string): Promise<string> {
  const client = new PartwayClient({ server: target.url, token: target.token });
  try {
    const path = join(world.work.path, `download-${++counter}.bin`);
    await client.download(fileId, path);
    return sha1Hex(await readFile(path));
  } finally {
    await client.close();
  }
}

/**
 * Starts `partway upload` with the parts' answers held back by the proxy, and kills it with `signal`
 * once the server has stored `parts` parts; then waits until nothing is in flight anywhere.
 */
async function interruptedUpload(path: string, parts: number, signal: NodeJS.Signals, extraArgs: string[] = []) {
  const slow = world.proxy.rule({ method: 'PUT', path: PART_PUT, delayResponseMs: 150 });
  const run = startCli(['upload', path, '--parallel', '4', '--json', ...extraArgs], env());
  await Promise.race([world.watch.until(() => world.watch.partsStored() >= parts), run.done]);
  run.child.kill(signal);
  const outcome = await run.done;
  slow.remove();
  await world.proxy.idle();
  await world.watch.idle();
  const sessionIds = world.watch.sessionIds();
  expect(sessionIds).toHaveLength(1);
  return { outcome, sessionId: sessionIds[0]! };
}

describe('partway upload, interrupted and run again', () => {
  it('after SIGKILL halfway, the re-run sends only the parts the server lacks and the file is byte-identical', async () => {
    const { path, data } = await bigFile();
    const { outcome, sessionId } = await interruptedUpload(path, 8, 'SIGKILL');
    expect(outcome.signal).toBe('SIGKILL');
    expect(await filesIn(world.stateDir.path)).toHaveLength(1);
    const held = await partsHeld(world.server, sessionId);
    expect(held).toBeGreaterThanOrEqual(8);
    expect(held).toBeLessThan(TOTAL_PARTS);

    world.watch.reset();
    const rerun = await runPartway(['upload', path, '--parallel', '4', '--json'], env());
    expect(rerun.code, rerun.stderr).toBe(0);
    const results = jsonLines(rerun.stdout);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({
      path, ok: true, size: SIZE, sha1: sha1Hex(data), session_id: sessionId, resumed: true,
      parts_skipped: held, parts_sent: TOTAL_PARTS - held,
    });
    // The server saw exactly the missing parts, and no new session.
    expect(world.watch.count('PUT')).toBe(TOTAL_PARTS - held);
    expect(world.watch.partsStored()).toBe(TOTAL_PARTS - held);
    expect(world.watch.count('POST', /\/files\/upload_sessions$/)).toBe(0);
    expect(await filesIn(world.stateDir.path)).toEqual([]);

    const file = await call('GET', `${world.server.api}/files/${results[0].file_id}`, { token: world.server.token });
    expect(file.json).toMatchObject({ size: SIZE, sha1: sha1Hex(data) });
    expect(await downloadedSha1(world.server, results[0].file_id)).toBe(sha1Hex(data));
  });

  it('after a file changed between runs, aborts the old session and commits only the new content', async () => {
    const { path, data } = await bigFile();
    const { sessionId: oldSession } = await interruptedUpload(path, 4, 'SIGKILL');
    expect(await partsHeld(world.server, oldSession)).toBeGreaterThanOrEqual(4);

    // Same size, other bytes (the first parts included), and a later modification time.
    const changed = randomData(SIZE);
    await writeFile(path, changed);
    const later = new Date(Date.now() + 10_000);
    await utimes(path, later, later);

    world.watch.reset();
    const rerun = await runPartway(['upload', path, '--json'], env());
    expect(rerun.code, rerun.stderr).toBe(0);
    const [result] = jsonLines(rerun.stdout);
    expect(result).toMatchObject({ ok: true, sha1: sha1Hex(changed), resumed: false, parts_skipped: 0, parts_sent: TOTAL_PARTS });
    expect(result.session_id).not.toBe(oldSession);
    expect(world.watch.count('DELETE', new RegExp(`/upload_sessions/${oldSession}$`))).toBe(1);
    expect((await call('GET', `${world.server.upload}/files/upload_sessions/${oldSession}`, { token: world.server.token })).status).toBe(404);
    expect(world.watch.count('POST', /\/files\/upload_sessions$/, 201)).toBe(1);
    expect(world.watch.partsStored()).toBe(TOTAL_PARTS);

    expect(await downloadedSha1(world.server, result.file_id)).toBe(sha1Hex(changed));
    expect(sha1Hex(changed)).not.toBe(sha1Hex(data));
    expect(await filesIn(world.stateDir.path)).toEqual([]);
  });

  it('refuses a file modified during the upload, and ends the session it will not resume', async () => {
    const { path } = await bigFile();
    const slow = world.proxy.rule({ method: 'PUT', path: PART_PUT, delayResponseMs: 100 });
    const run = startCli(['upload', path, '--json'], env());
    await world.watch.until(() => world.watch.partsStored() >= 4);
    const handle = await open(path, 'r+');
    await handle.write(randomData(1000), 0, 1000, 2 * MiB);
    await handle.close();
    const later = new Date(Date.now() + 10_000);
    await utimes(path, later, later);
    const outcome = await run.done;
    slow.remove();
    expect(outcome.code, outcome.stderr).toBe(1);
    expect(jsonLines(outcome.stdout)[0]).toMatchObject({ path, ok: false });
    expect(jsonLines(outcome.stdout)[0].error).toMatch(/changed/);
    expect(world.watch.count('POST', /\/commit$/)).toBe(0);
    // The saved state is gone, so nothing could ever resume the session: it must not be left holding the parts.
    expect(await filesIn(world.stateDir.path)).toEqual([]);
    await world.proxy.idle();
    await world.watch.idle();
    const [sessionId] = world.watch.sessionIds();
    expect((await call('GET', `${world.server.upload}/files/upload_sessions/${sessionId}`, { token: world.server.token })).status).toBe(404);
  });

  it('exits 130 on SIGINT, keeping the state, and the re-run resumes with the missing parts only', async () => {
    const { path, data } = await bigFile();
    const { outcome, sessionId } = await interruptedUpload(path, 4, 'SIGINT');
    expect(outcome.signal).toBeNull();
    expect(outcome.code, outcome.stderr).toBe(130);
    expect(outcome.stdout).toContain('"ok":false');
    expect(await filesIn(world.stateDir.path)).toHaveLength(1);
    const held = await partsHeld(world.server, sessionId);
    expect(held).toBeGreaterThanOrEqual(4);
    expect(held).toBeLessThan(TOTAL_PARTS);
    expect(world.watch.count('POST', /\/commit$/)).toBe(0);

    world.watch.reset();
    const rerun = await runPartway(['upload', path, '--json'], env());
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(jsonLines(rerun.stdout)[0]).toMatchObject({
      ok: true, resumed: true, session_id: sessionId, parts_skipped: held, parts_sent: TOTAL_PARTS - held, sha1: sha1Hex(data),
    });
    expect(world.watch.count('PUT')).toBe(TOTAL_PARTS - held);
    expect(await filesIn(world.stateDir.path)).toEqual([]);
  });

  it('--abort ends the saved session: the server then answers 404 for it and nothing is left to abort', async () => {
    const { path } = await bigFile();
    const { sessionId } = await interruptedUpload(path, 2, 'SIGKILL');
    expect(await filesIn(world.stateDir.path)).toHaveLength(1);

    world.watch.reset();
    const aborted = await runPartway(['upload', '--abort', path], env());
    expect(aborted.code, aborted.stderr).toBe(0);
    expect(aborted.stdout).toContain(`Aborted the upload of ${path}`);
    expect(world.watch.count('DELETE', new RegExp(`/upload_sessions/${sessionId}$`), 204)).toBe(1);
    expect((await call('GET', `${world.server.upload}/files/upload_sessions/${sessionId}`, { token: world.server.token })).status).toBe(404);
    expect(await filesIn(world.stateDir.path)).toEqual([]);

    const again = await runPartway(['upload', '--abort', path], env());
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/No upload of .* to resume or abort/);
  });
});

describe('partway upload with a saved session that expired', () => {
  it('starts over with a new session and succeeds', async () => {
    // Sessions on the first server live one second. The second server, on the same data directory
    // and behind the same proxy (so the saved state still points at it), answers 410 for them.
    const shared = await tempDir('partway-expiry-');
    const short = await startServer({ basePartSize: String(MiB), sessionLifetime: '1', dataDir: shared.path, ...BEHIND_FAULT_PROXY });
    let second: TestServer | undefined;
    let shortOpen = true;
    const front = await FaultProxy.start(short.url);
    const shortWatch = new ServerWatch(short);
    try {
      const { path, data } = await bigFile();
      front.rule({ method: 'PUT', path: PART_PUT, delayResponseMs: 150 });
      const run = startCli(['upload', path, '--json'], env(front.url, short.token));
      await Promise.race([shortWatch.until(() => shortWatch.partsStored() >= 2), run.done]);
      run.child.kill('SIGKILL');
      await run.done;
      await front.idle();
      await shortWatch.idle();
      const [oldSession] = shortWatch.sessionIds();
      expect(oldSession).toBeDefined();
      expect(await filesIn(world.stateDir.path)).toHaveLength(1);

      // Wait on the server's word that the session expired, not on a clock.
      await expect.poll(async () => (await call('GET', `${short.upload}/files/upload_sessions/${oldSession}`, { token: short.token })).status,
        { timeout: 10_000, interval: 100 }).toBe(410);
      shortWatch.detach();
      shortOpen = false;
      await short.close();

      second = await startServer({ basePartSize: String(MiB), dataDir: shared.path, ...BEHIND_FAULT_PROXY });
      front.setTarget(second.url);
      front.clearRules();
      const secondWatch = new ServerWatch(second);
      const rerun = await runPartway(['upload', path, '--json'], env(front.url, short.token));
      expect(rerun.code, rerun.stderr).toBe(0);
      const [result] = jsonLines(rerun.stdout);
      expect(result).toMatchObject({ ok: true, resumed: false, parts_skipped: 0, parts_sent: TOTAL_PARTS, sha1: sha1Hex(data) });
      expect(result.session_id).not.toBe(oldSession);
      // It asked for the old session's parts, heard 410, and opened a new session.
      expect(front.count({ method: 'GET', path: new RegExp(`/upload_sessions/${oldSession}/parts`), status: 410 })).toBe(1);
      expect(secondWatch.count('POST', /\/files\/upload_sessions$/, 201)).toBe(1);
      secondWatch.detach();
      expect(await downloadedSha1(second, result.file_id)).toBe(sha1Hex(data));
      expect(await filesIn(world.stateDir.path)).toEqual([]);
    } finally {
      await front.close();
      if (shortOpen) await short.close();
      if (second) await second.close();
      await shared.remove();
    }
  });
});

describe('partway download, interrupted and run again', () => {
  it('after SIGKILL halfway, resumes from the partial file and ends byte-identical with no .partial left', async () => {
    const data = randomData(8 * MiB);
    const client = new PartwayClient({ server: world.server.url, token: world.server.token });
    const uploaded = await client.upload(new Blob([data]), { name: `download-me-${++counter}.bin` }).finally(() => client.close());
    const output = join(world.work.path, `downloaded-${counter}.bin`);

    const slow = world.proxy.rule({ method: 'GET', path: /^\/downloads\//, throttle: { chunkBytes: 64 * 1024, intervalMs: 20 } });
    const run = startCli(['download', uploaded.file.id, '-o', output, '--json'], env());
    await expect.poll(async () => (await stat(`${output}.partial`).catch(() => undefined))?.size ?? 0,
      { timeout: 20_000, interval: 20 }).toBeGreaterThanOrEqual(MiB);
    run.child.kill('SIGKILL');
    expect((await run.done).signal).toBe('SIGKILL');
    slow.remove();
    const partial = (await stat(`${output}.partial`)).size;
    expect(partial).toBeGreaterThanOrEqual(MiB);
    expect(partial).toBeLessThan(data.length);
    await expect(stat(output)).rejects.toMatchObject({ code: 'ENOENT' });

    world.proxy.requests.length = 0;
    const rerun = await runPartway(['download', uploaded.file.id, '-o', output, '--json'], env());
    expect(rerun.code, rerun.stderr).toBe(0);
    const [result] = jsonLines(rerun.stdout);
    expect(result).toMatchObject({ ok: true, file_id: uploaded.file.id, path: output, size: data.length, sha1: sha1Hex(data) });
    expect(result.resumed_from).toBeGreaterThan(0);
    expect(result.resumed_from).toBe(partial);
    expect(world.proxy.requests.find((entry) => entry.url.startsWith('/downloads/'))?.headers.range).toBe(`bytes=${partial}-`);
    expect(sha1Hex(await readFile(output))).toBe(sha1Hex(data));
    await expect(stat(`${output}.partial`)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(`${output}.partial.json`)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('exits 130 on SIGINT, keeping the partial file, and the re-run resumes from it', async () => {
    const data = randomData(4 * MiB);
    const client = new PartwayClient({ server: world.server.url, token: world.server.token });
    const uploaded = await client.upload(new Blob([data]), { name: `interrupt-me-${++counter}.bin` }).finally(() => client.close());
    const output = join(world.work.path, `interrupted-${counter}.bin`);

    const slow = world.proxy.rule({ method: 'GET', path: /^\/downloads\//, throttle: { chunkBytes: 64 * 1024, intervalMs: 20 } });
    const run = startCli(['download', uploaded.file.id, '-o', output], env());
    await expect.poll(async () => (await stat(`${output}.partial`).catch(() => undefined))?.size ?? 0,
      { timeout: 20_000, interval: 20 }).toBeGreaterThanOrEqual(512 * 1024);
    run.child.kill('SIGINT');
    const interrupted = await run.done;
    slow.remove();
    expect(interrupted.code, interrupted.stderr).toBe(130);
    expect(interrupted.stderr).toMatch(/stopped/);
    const partial = (await stat(`${output}.partial`)).size;
    expect(partial).toBeGreaterThanOrEqual(512 * 1024);

    const rerun = await runPartway(['download', uploaded.file.id, '-o', output, '--json'], env());
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(jsonLines(rerun.stdout)[0]).toMatchObject({ ok: true, resumed_from: partial, sha1: sha1Hex(data) });
    expect(sha1Hex(await readFile(output))).toBe(sha1Hex(data));
  });

  it('exits 3 when the bytes arrive damaged, leaving neither the file nor a partial one', async () => {
    const data = randomData(3 * MiB);
    const client = new PartwayClient({ server: world.server.url, token: world.server.token });
    const uploaded = await client.upload(new Blob([data]), { name: `damaged-${++counter}.bin` }).finally(() => client.close());
    const output = join(world.work.path, `damaged-${counter}.bin`);
    world.proxy.rule({ method: 'GET', path: /^\/downloads\//, corruptResponseAt: 2 * MiB + 17 });
    const run = await runPartway(['download', uploaded.file.id, '-o', output], env());
    expect(run.code, run.stderr).toBe(3);
    expect(run.stderr).toMatch(/verification failed/);
    for (const path of [output, `${output}.partial`, `${output}.partial.json`]) await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
