import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, freePorts, isRoot, lastLines, run, Unavailable, type Provided } from './system.js';

const SCRIPTS = fileURLToPath(new URL('../../scripts/', import.meta.url));
const START = 'bash scripts/start-s3.sh';

/**
 * S3 for the tests: PARTWAY_TEST_S3_ENDPOINT (and the other PARTWAY_TEST_S3_*) when the developer
 * set them, else OpenStack Swift started by scripts/start-s3.sh on ports and a directory of its own,
 * so it never meets an instance someone else left running; stopped and wiped at the end.
 */
export async function provideS3(mayStart: boolean): Promise<Provided> {
  const own = process.env.PARTWAY_TEST_S3_ENDPOINT;
  if (own) return { env: {}, description: `PARTWAY_TEST_S3_ENDPOINT (${own})` };
  const remedy = `${START} as root (it installs Swift from Debian), then set PARTWAY_TEST_S3_ENDPOINT and the other PARTWAY_TEST_S3_* from what it prints`;
  if (!mayStart) throw new Unavailable('PARTWAY_TEST_S3_ENDPOINT is not set and PARTWAY_TEST_ALLOW_MISSING lists s3, so none was started', remedy);
  if (!isRoot) throw new Unavailable('PARTWAY_TEST_S3_ENDPOINT is not set, and starting Swift (scripts/start-s3.sh) needs root', remedy);

  const dir = mkdtempSync(join(tmpdir(), 'partway-test-s3-'));
  const env = { ...process.env, S3_DIR: dir, S3_PORT: String(await freePort()), S3_BACKEND_PORT: String(await freePorts(3)) };
  const stopNow = () => {
    spawnSync('bash', [join(SCRIPTS, 'stop-s3.sh'), '--wipe'], { env, stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  let exports: string;
  try {
    // The first time on a machine it installs Swift with apt-get (about 50 s).
    exports = (await run('bash', [join(SCRIPTS, 'start-s3.sh')], { env })).stdout;
  } catch (error) {
    // It stops what it started when it fails; the directory stays for the logs its message names.
    throw new Unavailable(`scripts/start-s3.sh failed (its files are kept in ${dir}): ${lastLines(error)}`, remedy);
  }
  // Its stdout is `export NAME=value` lines, quoted by printf %q: plain values at most backslash-escaped.
  const value = (name: string) => (new RegExp(`^export ${name}=(.*)$`, 'm').exec(exports)?.[1] ?? '').replace(/\\(.)/g, '$1');
  const settings = {
    PARTWAY_TEST_S3_ENDPOINT: value('S3_ENDPOINT'),
    PARTWAY_TEST_S3_REGION: value('S3_REGION'),
    PARTWAY_TEST_S3_BUCKET: value('S3_BUCKET'),
    PARTWAY_TEST_S3_ACCESS_KEY_ID: value('S3_ACCESS_KEY_ID'),
    PARTWAY_TEST_S3_SECRET_ACCESS_KEY: value('S3_SECRET_ACCESS_KEY'),
  };
  return {
    env: settings,
    description: `Swift started by scripts/start-s3.sh (${settings.PARTWAY_TEST_S3_ENDPOINT}, in ${dir})`,
    async stop() {
      await run('bash', [join(SCRIPTS, 'stop-s3.sh'), '--wipe'], { env }).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
    stopNow,
  };
}
