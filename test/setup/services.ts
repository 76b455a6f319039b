import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { TestProject } from 'vitest/node';
import { CHROMIUM, CURL, provideDebianTool, RCLONE } from './debian-tools.js';
import { providePostgres } from './postgres.js';
import { missingBlock, type Missing } from './report.js';
import { provideS3 } from './s3.js';
import { Unavailable, type Provided } from './system.js';

/**
 * vitest's global set-up: provides the services the run's test files need (PostgreSQL, S3,
 * Chromium, curl), publishes them in the PARTWAY_TEST_* variables the tests read, stops what it started,
 * and after the summary says loudly what could not be provided (failing the run, unless
 * PARTWAY_TEST_ALLOW_MISSING names it). Variables a developer already set are used as they are.
 */

interface Service {
  label: string;
  /** What in a test file's source shows that it needs the service. */
  neededBy: RegExp;
  /** `mayStart` is false when PARTWAY_TEST_ALLOW_MISSING names the service: use it if it is there, start nothing. */
  provide(mayStart: boolean): Promise<Provided>;
}

const SERVICES: Record<string, Service> = {
  postgres: { label: 'PostgreSQL', neededBy: /helpers\/(postgres|shared-backends)\.js/, provide: providePostgres },
  s3: { label: 'S3', neededBy: /helpers\/(s3|shared-backends)\.js/, provide: provideS3 },
  chromium: { label: 'Chromium', neededBy: /\b(launchChromium|chromium\.launch)\(/, provide: (may) => provideDebianTool(CHROMIUM, may) },
  curl: { label: 'curl', neededBy: /\bcurl\('curl'/, provide: (may) => provideDebianTool(CURL, may) },
  rclone: { label: 'rclone', neededBy: /\brcloneFor\(/, provide: (may) => provideDebianTool(RCLONE, may) },
};

type Outcome = { name: string; files: string[] } & ({ provided: Provided } | { missing: Unavailable });

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const allowed = allowedMissing();
  // Only what this run's files need: a single test file on SQLite starts nothing. In watch mode the
  // set-up runs once for every later run, so it provides everything.
  const runFiles = project.vitest.state.getPaths();
  // Interrupted (Ctrl-C), vitest exits without running the teardown: stop what was started anyway,
  // and before vitest's own 'exit' listener, which exits at once.
  const started: Provided[] = [];
  const stopNow = () => started.forEach((provided) => provided.stopNow?.());
  process.prependOnceListener('exit', stopNow);

  const outcomes: Outcome[] = await Promise.all(Object.entries(SERVICES).map(async ([name, service]) => {
    const files = runFiles.filter((file) => service.neededBy.test(readFileSync(file, 'utf8')));
    if (files.length === 0 && !project.vitest.config.watch) return undefined;
    try {
      const provided = await service.provide(!allowed.has(name));
      started.push(provided);
      Object.assign(process.env, provided.env);
      process.stderr.write(`test set-up: ${service.label}: ${provided.description}\n`);
      return { name, files, provided };
    } catch (error) {
      const missing = error instanceof Unavailable ? error : new Unavailable(String(error), `see the error; or PARTWAY_TEST_ALLOW_MISSING=${name}`);
      process.stderr.write(`test set-up: ${service.label}: NOT AVAILABLE (${missing.why}); its tests will be skipped\n`);
      return { name, files, missing };
    }
  })).then((all) => all.filter((outcome) => outcome !== undefined));

  return async function teardown() {
    process.off('exit', stopNow);
    await Promise.all(started.map((provided) => provided.stop?.()));
    const missing = outcomes.flatMap((outcome) => 'missing' in outcome ? [describeMissing(project, outcome, allowed)] : []);
    if (missing.length === 0) return;
    const files = new Set(outcomes.flatMap((outcome) => 'missing' in outcome ? outcome.files : []));
    process.stderr.write(missingBlock(missing, skippedIn(project, files)));
    if (missing.some((service) => !service.allowed)) process.exitCode = 1;
  };
}

/** PARTWAY_TEST_ALLOW_MISSING: a comma-separated list of services (or `all`) a run may go without. */
function allowedMissing(): Set<string> {
  const names = (process.env.PARTWAY_TEST_ALLOW_MISSING ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (names.includes('all')) return new Set(Object.keys(SERVICES));
  const unknown = names.filter((name) => !(name in SERVICES));
  if (unknown.length > 0) {
    throw new Error(`PARTWAY_TEST_ALLOW_MISSING names ${unknown.join(', ')}; it takes ${Object.keys(SERVICES).join(', ')} or all`);
  }
  return new Set(names);
}

/** The tests of these files that were skipped in this run. */
function skippedIn(project: TestProject, files: Set<string>): number {
  let skipped = 0;
  for (const module of project.vitest.state.getTestModules()) {
    if (files.has(module.moduleId)) skipped += [...module.children.allTests('skipped')].length;
  }
  return skipped;
}

function describeMissing(project: TestProject, outcome: Outcome & { missing: Unavailable }, allowed: Set<string>): Missing {
  return {
    label: SERVICES[outcome.name]!.label,
    name: outcome.name,
    why: outcome.missing.why,
    remedy: outcome.missing.remedy,
    allowed: allowed.has(outcome.name),
    skipped: skippedIn(project, new Set(outcome.files)),
    files: outcome.files.map((file) => relative(project.config.root, file)),
  };
}
