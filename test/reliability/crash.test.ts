import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PartwayClient, type ResumeState, type UploadResult } from '../../src/client/index.js';
import { loadConfig } from '../../src/config.js';
import { asBlobKey, asUploadRef } from '../../src/core/model.js';
import { createPartway } from '../../src/server.js';
import { runCli, spawnServer, waitForExit, type ServerProcess } from '../helpers/process.js';
import { freePorts } from '../setup/system.js';

/** SIGKILLs of the server in one run: 3 by default, 20 or more in CI (`PARTWAY_CRASH_KILLS`). */
const KILLS = Number(process.env.PARTWAY_CRASH_KILLS ?? 3);
const MiB = 1024 * 1024;
const UPLOADS_AT_ONCE = 3;

interface Job {
  name: string;
  path: string;
  sha1: string;
  size: number;
  resume?: ResumeState;
  result?: UploadResult;
}

let work: string;
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('crashes', () => {
  it(`loses nothing when the server is killed with SIGKILL ${KILLS} times while several uploads run`, async () => {
    work = await mkdtemp(join(tmpdir(), 'partway-crash-'));
    const dataDir = join(work, 'data');
    // The server restarts on this port after each kill: below the ephemeral range, so no client socket takes it meanwhile.
    const port = await freePorts(1);
    const env = {
      PARTWAY_DATA_DIR: dataDir, PARTWAY_PORT: String(port), PARTWAY_BASE_PART_SIZE: String(MiB), PARTWAY_MIN_CHUNKED_SIZE: '1000',
    };
    const token = (await runCli(['token', 'create', '--user', 'crash'], env)).stdout.trim();
    const jobs: Job[] = [];
    let named = 0;
    const newJob = async () => {
      const name = `file-${named++}.bin`; // taken before any await: concurrent calls get distinct names
      const job = await randomFile(work, name, (6 + Math.floor(Math.random() * 10)) * MiB + Math.floor(Math.random() * MiB));
      jobs.push(job);
      return job;
    };
    const runJob = (client: PartwayClient, job: Job) => client.upload(job.path, {
      concurrency: 4, resume: job.resume, chunkedThreshold: 1000,
      onState: (state) => { job.resume = state; },
    }).then((result) => { job.result = result; });

    let kills = 0;
    let server: ServerProcess | undefined;
    while (kills < KILLS) {
      server = await spawnServer(env);
      // A client that gives up fast: the test resumes it after the restart, as a re-run of the CLI would.
      const client = new PartwayClient({ server: server.url, token, retry: { attempts: 2, baseDelayMs: 20, maxDelayMs: 50 } });
      const unfinished = jobs.filter((job) => !job.result);
      while (unfinished.length < UPLOADS_AT_ONCE) unfinished.push(await newJob());
      const running = unfinished.map((job) => {
        // Keep uploads going until the kill: a finished job is replaced by a new one.
        const loop = async (current: Job): Promise<void> => {
          await runJob(client, current);
          await loop(await newJob());
        };
        return loop(job).catch(() => {});
      });
      await new Promise((resolve) => setTimeout(resolve, 80 + Math.random() * 400));
      server.child.kill('SIGKILL');
      await waitForExit(server.child);
      kills++;
      await Promise.all(running);
      await client.close();
    }

    // The last start: every upload resumes and finishes.
    server = await spawnServer(env);
    const client = new PartwayClient({ server: server.url, token });
    for (const job of jobs.filter((candidate) => !candidate.result)) await runJob(client, job);
    for (const job of jobs) {
      expect(job.result?.sha1, job.name).toBe(job.sha1);
      expect(job.result?.file.sha1).toBe(job.sha1);
    }
    // Every committed file is there once, with its bytes.
    const listed = await client.listFolder('0');
    expect(listed.map((item) => item.name).sort()).toEqual(jobs.map((job) => job.name).sort());
    for (const job of jobs) {
      const target = join(work, `${job.name}.back`);
      expect((await client.download(job.result!.file.id, target)).sha1).toBe(job.sha1);
      await rm(target);
    }
    await client.close();
    server.child.kill('SIGTERM');
    await waitForExit(server.child);

    // Start once more (the repair runs) and sweep: every byte left on disk is needed by a record.
    // (That no part was recorded without its bytes shows above: every commit re-hashed the joined
    // parts on the server, and every download matched.)
    const partway = await createPartway(loadConfig({ dataDir, port: '0', logLevel: 'silent', basePartSize: String(MiB) }, {}), false);
    try {
      await partway.listen();
      await partway.janitor.sweep();
      const { metadata } = partway.stores;
      const uploadsDir = join(dataDir, 'blobs', 'uploads');
      for (const uploadRef of await readdir(uploadsDir)) {
        // On disk a joined blob's key is its upload's directory.
        const usage = await metadata.uploadUsage(asUploadRef(uploadRef), asBlobKey(uploadRef));
        expect(usage.recordedPartRefs !== null || usage.isFileBlob, `upload ${uploadRef} is needed`).toBe(true);
        const files = (await readdir(join(uploadsDir, uploadRef))).filter((file) => file !== 'manifest.json');
        for (const file of files) expect(usage.recordedPartRefs ?? [], `part ${file} of ${uploadRef} is recorded`).toContain(file);
      }
      expect(await metadata.claimGarbage(Date.now(), 1, 10)).toEqual([]);
    } finally {
      await partway.close();
    }
    console.info(`crash test: ${kills} SIGKILLs, ${jobs.length} files committed and verified`);
  });
});

async function randomFile(dir: string, name: string, size: number): Promise<Job> {
  const data = randomBytes(size);
  const path = join(dir, name);
  await writeFile(path, data);
  return { name, path, size, sha1: createHash('sha1').update(data).digest('hex') };
}
