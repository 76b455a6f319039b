import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, isRoot, lastLines, run, Unavailable, type Provided } from './system.js';

/** The machine's own PostgreSQL as this project's machines have it: trust auth, a database "test". */
const MACHINE_URL = 'postgres://postgres@127.0.0.1:5432/test';

/**
 * PostgreSQL for the tests: PARTWAY_TEST_DATABASE_URL when the developer set it, else the machine's
 * server when it answers, else a private cluster from Debian's binaries in a temp directory.
 * PARTWAY_TEST_PRIVATE_POSTGRES=1 skips the machine's server.
 */
export async function providePostgres(mayStart: boolean): Promise<Provided> {
  const own = process.env.PARTWAY_TEST_DATABASE_URL;
  if (own) return { env: {}, description: `PARTWAY_TEST_DATABASE_URL (${redacted(own)})` };
  let machineProblem = 'PARTWAY_TEST_PRIVATE_POSTGRES is set';
  if (!process.env.PARTWAY_TEST_PRIVATE_POSTGRES) {
    machineProblem = await answers(MACHINE_URL);
    if (machineProblem === '') return { env: { PARTWAY_TEST_DATABASE_URL: MACHINE_URL }, description: `the machine's (${MACHINE_URL})` };
  }
  const remedy = 'start the machine\'s PostgreSQL (pg_ctlcluster 15 main start), or apt-get install postgresql, '
    + 'or set PARTWAY_TEST_DATABASE_URL=postgres://...';
  if (!mayStart) throw new Unavailable(`${MACHINE_URL}: ${machineProblem}; PARTWAY_TEST_ALLOW_MISSING lists postgres, so no private cluster`, remedy);
  const bin = debianBinaries();
  if (bin === undefined) throw new Unavailable(`${MACHINE_URL}: ${machineProblem}; and no PostgreSQL binaries under /usr/lib/postgresql`, remedy);
  return startPrivateCluster(bin, machineProblem);
}

/** '' when the database answers a query, else why not. */
async function answers(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return '';
  } catch (error) {
    return (error as Error).message || String(error);
  } finally {
    await client.end().catch(() => {});
  }
}

function debianBinaries(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((version) => existsSync(join(root, version, 'bin', 'initdb')));
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  return newest === undefined ? undefined : join(root, newest, 'bin');
}

/** initdb refuses to run as root: as root the cluster belongs to the `postgres` OS user. */
async function startPrivateCluster(bin: string, machineProblem: string): Promise<Provided> {
  const dir = mkdtempSync(join(tmpdir(), 'partway-test-pg-'));
  const asOwner = (command: string, args: string[]): [string, string[]] => isRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
  const port = await freePort();
  const ctl = (action: string) => asOwner(join(bin, 'pg_ctl'), ['-D', join(dir, 'db'), '-w', '-t', '60', '-l', join(dir, 'log'),
    '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, ...(action === 'stop' ? ['-m', 'fast'] : []), action]);
  const stopNow = () => {
    spawnSync(...ctl('stop'), { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (isRoot) {
      const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
      chownSync(dir, Number(uid.stdout), Number(gid.stdout));
    }
    await run(...asOwner(join(bin, 'initdb'), ['-D', join(dir, 'db'), '-A', 'trust', '-U', 'postgres', '--no-sync']));
    await run(...ctl('start'));
  } catch (error) {
    stopNow();
    throw new Unavailable(`${MACHINE_URL}: ${machineProblem}; a private cluster from ${bin} did not start: ${lastLines(error)}`,
      'start the machine\'s PostgreSQL (pg_ctlcluster 15 main start) or set PARTWAY_TEST_DATABASE_URL=postgres://...');
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    env: { PARTWAY_TEST_DATABASE_URL: url },
    description: `a private cluster (${url}, in ${dir}; ${MACHINE_URL}: ${machineProblem})`,
    async stop() {
      await run(...ctl('stop')).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
    stopNow,
  };
}

function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.href;
  } catch {
    return 'set';
  }
}
