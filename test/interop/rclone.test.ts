import { createReadStream } from 'node:fs';
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startServer, type TestServer } from '../helpers/partway.js';
import { digestStream, MiB, scratchDir, type Scratch, type SourceFile } from './support.js';
import { rcloneFor, type Rclone } from './support/rclone.js';
import { startTlsFront, type TlsFront } from './support/tls-front.js';
import { BOX_HOSTS, makeCertificates, type TestCertificates } from './support/tls.js';
import { RCLONE } from '../setup/debian-tools.js';
import { executable } from '../setup/system.js';

/**
 * rclone's Box backend (Debian's rclone 1.60), unchanged, against Partway: its requests go to
 * api.box.com and upload.box.com through the test's TLS front: copies both ways, sync (a changed
 * modification time alone is a PUT of content_modified_at), moveto, delete and rmdir and purge (to the
 * trash, which counts against the space used), and cleanup (emptying the trash).
 */

/** rclone uploads files over its `--box-upload-cutoff` (50 MiB by default) in chunks. */
const BIG = 51 * MiB;

/** Without it the test is skipped, and the run says so at its end (test/setup/ installs it when it may). */
const HAVE_RCLONE = executable(RCLONE.path);

let certificates: TestCertificates;
let server: TestServer;
let front: TlsFront;
let rclone: Rclone;
let scratch: Scratch;
let source: string;
const files: Record<string, SourceFile> = {};

beforeAll(async () => {
  if (!HAVE_RCLONE) return;
  certificates = await makeCertificates(BOX_HOSTS);
  // Links and URLs Partway hands out must point back through the front, as Box's point to its hosts.
  server = await startServer({ publicUrl: 'https://api.box.com' });
  front = await startTlsFront(server.url, certificates, BOX_HOSTS);
  rclone = await rcloneFor({ proxyUrl: front.proxyUrl, caPath: certificates.caPath, token: server.token });
  scratch = await scratchDir();
  source = join(scratch.dir, 'source');
  await mkdir(join(source, 'docs'), { recursive: true });
  files['big.bin'] = await scratch.randomFile('source/big.bin', BIG);
  files['small.txt'] = await scratch.randomFile('source/small.txt', 3000);
  files['docs/notes.md'] = await scratch.randomFile('source/docs/notes.md', 100_000);
}, 60_000);

afterAll(async () => {
  await rclone?.remove();
  await front?.close();
  await server?.close();
  await scratch?.remove();
  await certificates?.remove();
});

/** The requests rclone made while `action` ran. */
async function requestsDuring(action: () => Promise<unknown>) {
  const start = front.log.length;
  await action();
  return front.log.slice(start);
}

async function listing(path: string) {
  const out = await rclone.ok(['lsjson', '--recursive', '--hash', '--files-only', `${rclone.remote}${path}`]);
  return (JSON.parse(out) as Array<{ Path: string; Size: number; Hashes?: { sha1?: string } }>)
    .map((entry) => ({ path: entry.Path, size: entry.Size, sha1: entry.Hashes?.sha1 }))
    .sort((a, b) => a.path.localeCompare(b.path));
}

const expectedListing = (names: string[]) => names.sort().map((name) => ({ path: name, size: files[name]!.size, sha1: files[name]!.sha1 }));

describe.skipIf(!HAVE_RCLONE)('rclone (box backend) against Partway', () => {
  it('mkdir creates a folder, and again finds it rather than failing', async () => {
    await rclone.ok(['mkdir', `${rclone.remote}backup`]);
    await rclone.ok(['mkdir', `${rclone.remote}backup`]);
    const root = await call('GET', `${server.api}/folders/0/items`, { token: server.token });
    expect(root.json.entries.map((item: { name: string }) => item.name)).toEqual(['backup']);
  });

  it('copy uploads a small file in one request and a big one in chunks, after a preflight check each', async () => {
    const requests = await requestsDuring(() => rclone.ok(['copy', source, `${rclone.remote}backup`], { timeoutMs: 300_000 }));
    const seen = requests.map((request) => `${request.method} ${request.host}${request.url.split('?')[0]} ${request.status}`);
    expect(seen).toContain('OPTIONS api.box.com/2.0/files/content/ 200');
    expect(seen).toContain('POST upload.box.com/api/2.0/files/content 201');
    expect(seen).toContain('POST upload.box.com/api/2.0/files/upload_sessions 201');
    expect(seen.filter((line) => /^PUT upload\.box\.com\/api\/2\.0\/files\/upload_sessions\/\w+ 200$/.test(line))).toHaveLength(Math.ceil(BIG / (8 * MiB)));
    expect(seen.some((line) => /^POST upload\.box\.com\/api\/2\.0\/files\/upload_sessions\/\w+\/commit 201$/.test(line))).toBe(true);
    expect(requests.filter((request) => request.status >= 400)).toEqual([]);
    expect(await listing('backup')).toEqual(expectedListing(Object.keys(files)));
  });

  it('hashsum, check and lsjson agree with the local files', async () => {
    const sums = (await rclone.ok(['hashsum', 'sha1', `${rclone.remote}backup`])).trim().split('\n')
      .map((line) => line.split(/\s+/)).map(([sha1, path]) => ({ path, sha1 })).sort((a, b) => a.path!.localeCompare(b.path!));
    expect(sums).toEqual(Object.keys(files).sort().map((name) => ({ path: name, sha1: files[name]!.sha1 })));
    await rclone.ok(['check', source, `${rclone.remote}backup`]);
    const top = JSON.parse(await rclone.ok(['lsjson', `${rclone.remote}backup`])) as Array<{ Name: string; IsDir: boolean }>;
    expect(top.map((entry) => [entry.Name, entry.IsDir]).sort()).toEqual([['big.bin', false], ['docs', true], ['small.txt', false]]);
  });

  it('sync sends only what changed, and a second sync sends nothing', async () => {
    await writeFile(join(source, 'docs', 'added.txt'), 'one more line\n');
    const first = await requestsDuring(() => rclone.ok(['sync', source, `${rclone.remote}backup`]));
    const writes = (log: typeof first) => log.filter((request) => request.method !== 'GET').map((request) => `${request.method} ${request.url.split('?')[0]}`);
    expect(writes(first)).toEqual(['OPTIONS /2.0/files/content/', 'POST /api/2.0/files/content']);
    const second = await requestsDuring(() => rclone.ok(['sync', source, `${rclone.remote}backup`]));
    expect(writes(second)).toEqual([]);
    await rclone.ok(['check', source, `${rclone.remote}backup`]);
  });

  it('copy back gives byte-identical files', async () => {
    const back = join(scratch.dir, 'back');
    await rclone.ok(['copy', `${rclone.remote}backup`, back], { timeoutMs: 300_000 });
    for (const name of Object.keys(files)) {
      expect(await digestStream(createReadStream(join(back, name))), name).toEqual({ sha1: files[name]!.sha1, size: files[name]!.size });
    }
    expect((await readdir(back)).sort()).toEqual(['big.bin', 'docs', 'small.txt']);
  });

  it('sync of a file whose modification time alone changed sends only a PUT of content_modified_at', async () => {
    const when = new Date('2021-06-01T12:00:00Z');
    await utimes(join(source, 'docs', 'notes.md'), when, when);
    const requests = await requestsDuring(() => rclone.ok(['sync', source, `${rclone.remote}backup`]));
    const writes = requests.filter((request) => request.method !== 'GET').map((request) => `${request.method} ${request.url.split('?')[0]} ${request.status}`);
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatch(/^PUT \/2\.0\/files\/\d+ 200$/);
    const listed = JSON.parse(await rclone.ok(['lsjson', `${rclone.remote}backup/docs/notes.md`])) as Array<{ ModTime: string }>;
    expect(new Date(listed[0]!.ModTime).getTime()).toBe(when.getTime());
    const again = await requestsDuring(() => rclone.ok(['sync', source, `${rclone.remote}backup`]));
    expect(again.filter((request) => request.method !== 'GET')).toEqual([]);
  });

  it('moveto renames and moves a file on the server, without sending its bytes again', async () => {
    const requests = await requestsDuring(() => rclone.ok(['moveto', `${rclone.remote}backup/small.txt`, `${rclone.remote}moved/small-renamed.txt`]));
    expect(requests.filter((request) => request.method === 'PUT').map((request) => request.status)).toEqual([200]);
    expect(requests.some((request) => request.url.includes('/files/content') || request.url.includes('upload_sessions'))).toBe(false);
    expect(await listing('moved')).toEqual([{ path: 'small-renamed.txt', size: files['small.txt']!.size, sha1: files['small.txt']!.sha1 }]);
    await rclone.ok(['moveto', `${rclone.remote}moved/small-renamed.txt`, `${rclone.remote}backup/small.txt`]);
  });

  it('about reports the space used; delete moves files to the trash, which counts until cleanup empties it', async () => {
    const before = JSON.parse(await rclone.ok(['about', '--json', rclone.remote])) as { used: number; total: number; free: number };
    const stored = Object.values(files).reduce((sum, file) => sum + file.size, 0) + 'one more line\n'.length;
    expect(before.used).toBe(stored);
    expect(before.total - before.used).toBe(before.free);

    await rclone.ok(['delete', `${rclone.remote}backup`, '--include', '*.txt']);
    expect(await listing('backup')).toEqual(expectedListing(['big.bin', 'docs/notes.md']));
    // As on Box, the trash counts against the space used until it is emptied.
    expect((JSON.parse(await rclone.ok(['about', '--json', rclone.remote])) as { used: number }).used).toBe(stored);
    const trash = await call('GET', `${server.api}/folders/trash/items`, { token: server.token });
    expect(trash.json.entries.map((item: { name: string }) => item.name).sort()).toEqual(['added.txt', 'small.txt']);

    await rclone.ok(['cleanup', rclone.remote]);
    expect((await call('GET', `${server.api}/folders/trash/items`, { token: server.token })).json.total_count).toBe(0);
    const after = JSON.parse(await rclone.ok(['about', '--json', rclone.remote])) as { used: number };
    expect(after.used).toBe(files['big.bin']!.size + files['docs/notes.md']!.size);
  });

  it('rmdir removes an empty folder and refuses one with files; purge removes a folder with everything in it', async () => {
    await rclone.ok(['mkdir', `${rclone.remote}empty`]);
    await rclone.ok(['rmdir', `${rclone.remote}empty`]);
    const refused = await rclone.run(['rmdir', `${rclone.remote}backup`]);
    expect(refused.code).not.toBe(0);
    await rclone.ok(['purge', `${rclone.remote}backup`]);
    const root = await call('GET', `${server.api}/folders/0/items`, { token: server.token });
    expect(root.json.entries.map((item: { name: string }) => item.name)).not.toContain('backup');
    expect(root.json.entries.map((item: { name: string }) => item.name)).not.toContain('empty');
    const trash = await call('GET', `${server.api}/folders/trash/items`, { token: server.token });
    expect(trash.json.entries.map((item: { name: string }) => item.name).sort()).toEqual(['backup', 'empty']);
    await rclone.ok(['cleanup', rclone.remote]);
    expect((JSON.parse(await rclone.ok(['about', '--json', rclone.remote])) as { used: number }).used).toBe(0);
  });
});
