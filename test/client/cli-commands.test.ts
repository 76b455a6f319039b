import { readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PartwayClient } from '../../src/client/index.js';
import { cliWorld } from '../helpers/cli-world.js';
import { filesIn, jsonLines, runPartway, tempDir } from '../helpers/cli.js';
import { call, randomData, sha1Hex } from '../helpers/partway.js';

const MiB = 1024 * 1024;

const world = cliWorld('partway-cmd');
let counter = 0;

/** Only temp dirs: no server or token unless given. */
const dirsOnly = () => ({ PARTWAY_STATE_DIR: world.stateDir.path, PARTWAY_CONFIG_DIR: world.configDir.path });
const env = (token = world.server.token) => ({ ...dirsOnly(), PARTWAY_SERVER: world.proxy.url, PARTWAY_TOKEN: token });

async function smallFile(size = 10_000, name = `small-${++counter}.bin`): Promise<{ path: string; data: Buffer }> {
  const data = randomData(size);
  const path = join(world.work.path, name);
  await writeFile(path, data);
  return { path, data };
}

async function serverFile(fileId: string) {
  return (await call('GET', `${world.server.api}/files/${fileId}`, { token: world.server.token })).json;
}

async function downloadedSha1(fileId: string): Promise<string> {
  const client = new PartwayClient({ server: world.server.url, token: world.server.token });
  try {
    const path = join(world.work.path, `download-${++counter}.bin`);
    await client.download(fileId, path);
    return sha1Hex(await readFile(path));
  } finally {
    await client.close();
  }
}

describe('partway upload output and exit codes', () => {
  it('prints one JSON result per file with --json, and uploads small files in one request each', async () => {
    const files = [await smallFile(1000), await smallFile(200_000), await smallFile(0)];
    const run = await runPartway(['upload', ...files.map((file) => file.path), '--json'], env());
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe('');
    const results = jsonLines(run.stdout);
    expect(results).toHaveLength(3);
    for (const [index, file] of files.entries()) {
      expect(results[index]).toMatchObject({
        path: file.path, ok: true, name: basename(file.path), size: file.data.length, sha1: sha1Hex(file.data),
        session_id: null, parts_sent: 1, parts_skipped: 0, resumed: false,
      });
      expect(await serverFile(results[index].file_id)).toMatchObject({ name: basename(file.path), size: file.data.length, sha1: sha1Hex(file.data) });
    }
    expect(world.watch.count('POST', /^\/api\/2\.0\/files\/content$/, 201)).toBe(3);
    expect(world.watch.count(undefined, /upload_sessions/)).toBe(0);
  });

  it('shows progress as plain lines on stderr when it is not a terminal, and nothing with --quiet', async () => {
    const file = await smallFile(50_000);
    const run = await runPartway(['upload', file.path], env());
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^Uploaded ${file.path} as file \\d+ \\(48\\.8 KiB, SHA-1 ${sha1Hex(file.data)}\\)\\n$`));
    expect(run.stderr).toMatch(new RegExp(`^${basename(file.path)}: 100% \\(48\\.8 KiB of 48\\.8 KiB, .*/s\\)$`, 'm'));
    expect(run.stderr).not.toMatch(/\x1b\[/);

    const quiet = await runPartway(['upload', (await smallFile()).path, '--quiet'], env());
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stdout).toBe('');
    expect(quiet.stderr).toBe('');
  });

  it('exits 2 for usage errors, before sending anything', async () => {
    const file = await smallFile();
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [['upload', file.path, '--parallel', '0'], env(), /--parallel takes a whole number/],
      [['upload', file.path, '--parallel', 'lots'], env(), /--parallel takes a whole number/],
      [['upload', file.path, '--parallel', '65'], env(), /--parallel takes a whole number/],
      [['upload', file.path], dirsOnly(), /No server or token/],
      [['upload', file.path], { ...dirsOnly(), PARTWAY_SERVER: world.proxy.url }, /No server or token/],
      [['upload', file.path, file.path, '--name', 'x.bin'], env(), /take one path only/],
      [['upload'], env(), /missing required argument/],
      [['whoami'], dirsOnly(), /No server or token/],
      [['frobnicate'], env(), /unknown command/],
    ];
    for (const [args, environment, message] of cases) {
      const run = await runPartway(args, environment);
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(2);
      expect(run.stderr).toMatch(message);
    }
    const missing = await runPartway(['upload', join(world.work.path, 'no-such-file.bin')], env());
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/is not a file/);
    expect(world.proxy.requests).toEqual([]);
  });

  it('exits 1 when the server refuses, naming Box\'s code (a name clash is item_name_in_use)', async () => {
    const file = await smallFile();
    const first = await runPartway(['upload', file.path, '--json'], env());
    expect(first.code, first.stderr).toBe(0);
    const existing = jsonLines(first.stdout)[0].file_id as string;

    const clash = await runPartway(['upload', file.path], env());
    expect(clash.code).toBe(1);
    expect(clash.stderr).toContain('item_name_in_use');
    expect(clash.stderr).toContain('409');
    expect(clash.stderr).toContain(`--new-version-of ${existing}`);

    // With --json the refusal is a result line too, and the other files still go up.
    const other = await smallFile();
    const mixed = await runPartway(['upload', file.path, other.path, '--json'], env());
    expect(mixed.code).toBe(1);
    const results = jsonLines(mixed.stdout);
    expect(results).toHaveLength(2);
    expect(results[0]).toMatchObject({ path: file.path, ok: false, code: 'item_name_in_use' });
    expect(results[1]).toMatchObject({ path: other.path, ok: true, sha1: sha1Hex(other.data) });

    const badToken = await runPartway(['whoami'], env('pw_not_a_real_token'));
    expect(badToken.code).toBe(1);
    expect(badToken.stderr).toMatch(/401/);
  });

  it('--new-version-of uploads a new version of the same file (etag "1")', async () => {
    const original = await smallFile(5_000, `versioned-${++counter}.txt`);
    const first = jsonLines((await runPartway(['upload', original.path, '--json'], env())).stdout)[0];
    expect((await serverFile(first.file_id)).etag).toBe('0');

    const replacement = await smallFile(7_000);
    const run = await runPartway(['upload', replacement.path, '--new-version-of', first.file_id, '--json'], env());
    expect(run.code, run.stderr).toBe(0);
    const [result] = jsonLines(run.stdout);
    expect(result).toMatchObject({ ok: true, file_id: first.file_id, sha1: sha1Hex(replacement.data), size: 7_000 });
    const file = await serverFile(first.file_id);
    expect(file).toMatchObject({ id: first.file_id, etag: '1', name: basename(original.path), size: 7_000, sha1: sha1Hex(replacement.data) });
    expect(await downloadedSha1(first.file_id)).toBe(sha1Hex(replacement.data));
  });

  it('gets a large file through 503s and a 429 with Retry-After, byte-identical', async () => {
    const data = randomData(21 * MiB);
    const path = join(world.work.path, `flaky-${++counter}.bin`);
    await writeFile(path, data);
    const busy = { status: 503, body: { type: 'error', status: 503, code: 'unavailable', message: 'Try again' } };
    const create = world.proxy.rule({
      method: 'POST', path: /\/files\/upload_sessions$/, times: 1,
      respond: { status: 429, headers: { 'retry-after': '1' }, body: { type: 'error', status: 429, code: 'rate_limit_exceeded', message: 'Slow down' } },
    });
    const parts = world.proxy.rule({ method: 'PUT', path: /\/upload_sessions\/[0-9A-F]+$/, times: 3, respond: busy });
    const commit = world.proxy.rule({ method: 'POST', path: /\/commit$/, times: 1, respond: busy });

    const run = await runPartway(['upload', path, '--json', '--parallel', '3'], env());
    expect(run.code, run.stderr).toBe(0);
    const [result] = jsonLines(run.stdout);
    expect(result).toMatchObject({ ok: true, size: data.length, sha1: sha1Hex(data), parts_sent: 21, resumed: false });
    expect([create.hits, parts.hits, commit.hits]).toEqual([1, 3, 1]);
    expect(world.watch.partsStored()).toBe(21);
    const creates = world.proxy.requests.filter((entry) => entry.method === 'POST' && /\/files\/upload_sessions$/.test(entry.url));
    expect(creates.map((entry) => entry.status)).toEqual([429, 201]);
    expect(creates[1]!.startedAt - creates[0]!.endedAt!).toBeGreaterThanOrEqual(900);
    expect(await downloadedSha1(result.file_id)).toBe(sha1Hex(data));
    expect(await filesIn(world.stateDir.path)).toEqual([]);
  });
});

describe('partway login, whoami, ls, mkdir, rm and download', () => {
  it('login saves the server and token, and later commands use them', async () => {
    const config = await tempDir('partway-login-');
    const only = { PARTWAY_CONFIG_DIR: config.path, PARTWAY_STATE_DIR: world.stateDir.path };
    try {
      const refused = await runPartway(['login', '--server', world.proxy.url, '--token', 'pw_wrong'], only);
      expect(refused.code).toBe(1);
      expect(await filesIn(config.path)).toEqual([]);

      const login = await runPartway(['login', '--server', world.proxy.url, '--token', world.server.token], only);
      expect(login.code, login.stderr).toBe(0);
      const path = join(config.path, 'config.json');
      expect(login.stdout).toContain(`Logged in to ${world.proxy.url} as alice; saved in ${path}`);
      expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ server: world.proxy.url, token: world.server.token });
      expect((await stat(path)).mode & 0o777).toBe(0o600);

      const me = (await call('GET', `${world.server.api}/users/me`, { token: world.server.token })).json;
      const whoami = await runPartway(['whoami'], only);
      expect(whoami.code, whoami.stderr).toBe(0);
      expect(whoami.stdout).toBe(`alice (user ${me.id})\n`);

      // Flags and then PARTWAY_* win over the saved login.
      const bob = await world.server.tokenFor('bob');
      expect((await runPartway(['whoami', '--token', bob], only)).stdout).toMatch(/^bob \(user \d+\)\n$/);
      expect((await runPartway(['whoami'], { ...only, PARTWAY_TOKEN: bob })).stdout).toMatch(/^bob /);

      const file = await smallFile();
      const upload = await runPartway(['upload', file.path, '--json'], only);
      expect(upload.code, upload.stderr).toBe(0);
      expect(jsonLines(upload.stdout)[0]).toMatchObject({ ok: true, sha1: sha1Hex(file.data) });
    } finally {
      await config.remove();
    }
  });

  it('mkdir creates a folder, ls lists it, upload --folder goes into it and rm deletes the file', async () => {
    const name = `Reports-${++counter}`;
    const mkdir = await runPartway(['mkdir', name], env());
    expect(mkdir.code, mkdir.stderr).toBe(0);
    const folderId = mkdir.stdout.trim();
    expect(folderId).toMatch(/^\d+$/);
    const nested = await runPartway(['mkdir', 'Q4', '--parent', folderId], env());
    expect(nested.code, nested.stderr).toBe(0);

    const root = await runPartway(['ls'], env());
    expect(root.code, root.stderr).toBe(0);
    expect(root.stdout).toMatch(new RegExp(`^d +${folderId} +- +\\S* +${name}/$`, 'm'));

    const file = await smallFile(3_000);
    const upload = await runPartway(['upload', file.path, '--folder', folderId, '--name', 'report.bin', '--json'], env());
    expect(upload.code, upload.stderr).toBe(0);
    const fileId = jsonLines(upload.stdout)[0].file_id as string;
    expect(await serverFile(fileId)).toMatchObject({ name: 'report.bin', parent: { id: folderId } });

    const listed = await runPartway(['ls', folderId, '--json'], env());
    expect(listed.code, listed.stderr).toBe(0);
    const items = JSON.parse(listed.stdout);
    expect(items.map((item: { type: string; name: string }) => `${item.type}:${item.name}`)).toEqual(['folder:Q4', 'file:report.bin']);
    expect(items[1]).toMatchObject({ id: fileId, size: 3_000 });
    const text = await runPartway(['ls', folderId], env());
    expect(text.stdout).toMatch(new RegExp(`^- +${fileId} +2\\.9 KiB +\\S+ +report\\.bin$`, 'm'));

    const rm = await runPartway(['rm', fileId], env());
    expect(rm.code, rm.stderr).toBe(0);
    expect((await call('GET', `${world.server.api}/files/${fileId}`, { token: world.server.token })).status).toBe(404);
    expect(JSON.parse((await runPartway(['ls', folderId, '--json'], env())).stdout)).toHaveLength(1);

    const again = await runPartway(['rm', fileId], env());
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/404/);
    const clash = await runPartway(['mkdir', name], env());
    expect(clash.code).toBe(1);
    expect(clash.stderr).toContain('item_name_in_use');
  });

  it('download writes a verified file with -o, prints JSON, and exits 1 for an unknown file', async () => {
    const file = await smallFile(123_456);
    const fileId = jsonLines((await runPartway(['upload', file.path, '--json'], env())).stdout)[0].file_id as string;
    const output = join(world.work.path, `out-${++counter}.bin`);
    const run = await runPartway(['download', fileId, '-o', output, '--json'], env());
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ ok: true, file_id: fileId, path: output, size: 123_456, sha1: sha1Hex(file.data), resumed_from: 0 });
    expect(sha1Hex(await readFile(output))).toBe(sha1Hex(file.data));
    expect((await filesIn(world.work.path)).filter((entry) => entry.includes('.partial'))).toEqual([]);

    const plain = await runPartway(['download', fileId, '-o', output], env());
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toContain(`Downloaded file ${fileId} to ${output}`);

    const unknown = await runPartway(['download', '987654321', '-o', join(world.work.path, 'nothing.bin')], env());
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/404/);
  });
});
