import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv } from '../helpers/cli.js';
import { call, randomData, sha1Hex } from '../helpers/partway.js';

/*
 * What `npm pack` makes, installed as a user would: in a clean project outside this repository,
 * `npm install <tarball>` (the runtime dependencies come from the registry or npm's cache), then the
 * `partway` bin through npx, and the library from TypeScript. Needs `npm run build` first (npm test
 * does it): the tarball is packed from dist/ as it is, without running `prepare` again.
 */

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);
const INSTALL_TIMEOUT = 20 * 60_000;

let work: string;
let project: string;
let server: ChildProcess | undefined;

function npx(args: string[], env: Record<string, string> = {}) {
  return run('npx', ['--no-install', 'partway', ...args], { cwd: project, env: cliEnv(env), maxBuffer: 16 * 1024 * 1024 });
}

/** `npx partway serve` in its own process group, so that npm's wrappers and the server stop together. */
function serve(dataDir: string): Promise<string> {
  const child = spawn('npx', ['--no-install', 'partway', 'serve', '--port', '0', '--data-dir', dataDir],
    { cwd: project, env: cliEnv({}), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  server = child;
  let output = '';
  return new Promise((resolve, reject) => {
    const seen = (chunk: string) => {
      output += chunk;
      const match = /Partway is serving on (http:\/\/[0-9.:]+)/.exec(output);
      if (match) {
        // The bin's shebang gave Node its options: no warning about them.
        if (output.includes('Node was started without')) reject(new Error(output));
        resolve(match[1]!);
      }
    };
    child.stdout!.setEncoding('utf8').on('data', seen);
    child.stderr!.setEncoding('utf8').on('data', seen);
    child.on('exit', (code) => reject(new Error(`npx partway serve exited with ${code}: ${output}`)));
  });
}

beforeAll(async () => {
  if (!existsSync(join(REPO, 'dist/cli/main.js')) || !existsSync(join(REPO, 'dist/web/index.html'))) {
    throw new Error('dist/ is not built: run `npm run build` first');
  }
  work = await mkdtemp(join(tmpdir(), 'partway-pack-'));
  await run('npm', ['pack', '--ignore-scripts', '--pack-destination', work], { cwd: REPO });
  const tarball = join(work, (await readdir(work)).find((name) => name.endsWith('.tgz'))!);
  project = join(work, 'consumer');
  await mkdir(project);
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  const started = performance.now();
  // TypeScript and Node's types for the consumer's own compile, at this repository's versions (likely cached).
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, 'typescript@5.9', '@types/node@20'], { cwd: project, maxBuffer: 16 * 1024 * 1024 });
  console.log(`npm install of the tarball and its runtime dependencies: ${((performance.now() - started) / 1000).toFixed(0)} s`);
}, INSTALL_TIMEOUT);

afterAll(async () => {
  if (server?.pid !== undefined && server.exitCode === null) {
    const exited = new Promise((resolve) => server!.once('exit', resolve));
    process.kill(-server.pid, 'SIGTERM');
    await exited;
  }
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the package npm pack makes, installed in a clean project', () => {
  it('ships only what it needs: dist with the built page, and a package.json whose exports exist', async () => {
    const installed = join(project, 'node_modules/partway');
    const pkg = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8'));
    for (const target of Object.values(pkg.exports as Record<string, string>)) expect(existsSync(join(installed, target))).toBe(true);
    expect(existsSync(join(installed, 'dist/web/index.html'))).toBe(true);
    expect(existsSync(join(installed, 'src'))).toBe(false);
    expect(existsSync(join(installed, 'test'))).toBe(false);
  });

  it('serves the API and the web uploader with `npx partway serve`, and `npx partway upload` sends a small and a chunked file', async () => {
    const dataDir = join(work, 'data');
    const token = (await npx(['token', 'create', '--user', 'paz', '--data-dir', dataDir])).stdout.trim();
    const url = await serve(dataDir);

    expect((await call('GET', `${url}/2.0/users/me`, { token })).json).toMatchObject({ type: 'user', name: 'paz' });
    const page = await call('GET', `${url}/`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    const script = /src="\.?(\/assets\/[^"]+\.js)"/.exec(page.text)?.[1];
    expect(script).toBeDefined();
    expect((await call('GET', `${url}${script}`)).status).toBe(200);

    const small = randomData(100_000);
    // Over Box's 20,000,000-byte minimum, so the CLI opens a session: three parts of 8 MiB at most.
    const big = randomData(21_000_000);
    await writeFile(join(work, 'small.bin'), small);
    await writeFile(join(work, 'big.bin'), big);
    const env = { PARTWAY_SERVER: url, PARTWAY_TOKEN: token, PARTWAY_CONFIG_DIR: join(work, 'config'), PARTWAY_STATE_DIR: join(work, 'state') };
    const uploaded = (await npx(['upload', '--json', join(work, 'small.bin'), join(work, 'big.bin')], env)).stdout
      .trim().split('\n').map((line) => JSON.parse(line) as { ok: boolean; file_id: string; session_id: string | null; parts_sent: number });
    expect(uploaded).toMatchObject([{ ok: true, session_id: null }, { ok: true, session_id: expect.any(String), parts_sent: 3 }]);
    const files = await Promise.all(uploaded.map(async (result) => (await call('GET', `${url}/2.0/files/${result.file_id}?fields=name,size,sha1`, { token })).json));
    expect(files).toMatchObject([
      { name: 'small.bin', size: small.length, sha1: sha1Hex(small) },
      { name: 'big.bin', size: big.length, sha1: sha1Hex(big) },
    ]);
  });

  it('gives TypeScript consumers the client library and the Fastify plugin with their types', async () => {
    await writeFile(join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: ['node'] },
      files: ['consumer.ts'],
    }));
    await writeFile(join(project, 'consumer.ts'), `
import { BoxApiError, PartwayClient, type UploadResult } from 'partway';
import { partway, type PartwayPluginOptions } from 'partway/fastify';

const client = new PartwayClient({ server: 'http://127.0.0.1:8080', token: 'pw_x' });
export const result: Promise<UploadResult> = client.upload('file.bin', { concurrency: 2, onProgress: (p) => p.bytesDone });
export const isBoxError = (error: unknown): string | undefined => (error instanceof BoxApiError ? error.code : undefined);
export const options: PartwayPluginOptions = { settings: { dataDir: '/var/lib/partway', basePartSize: '8388608' } };
export const plugin = partway;
// The types are real: a wrong call does not compile.
// @ts-expect-error server is a string
export const wrong = new PartwayClient({ server: 8080, token: 'pw_x' });
// @ts-expect-error no such setting
export const unknownSetting: PartwayPluginOptions = { settings: { noSuchSetting: '1' } };
`);
    await run(process.execPath, [join(project, 'node_modules/typescript/bin/tsc'), '-p', project], { cwd: project })
      .catch((error: { stdout?: string }) => { throw new Error(`tsc failed:\n${error.stdout}`); });
    // And at run time, from plain JavaScript.
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e',
      "const c = await import('partway'); const f = await import('partway/fastify'); console.log(typeof c.PartwayClient, typeof f.partway, typeof f.default)"], { cwd: project });
    expect(stdout.trim()).toBe('function function function');
  });
});
