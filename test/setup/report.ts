/** A service some tests of the run needed and did not get, with what that cost. */
export interface Missing {
  label: string;
  /** Its name in PARTWAY_TEST_ALLOW_MISSING. */
  name: string;
  why: string;
  remedy: string;
  allowed: boolean;
  /** Tests of the run that were skipped in the files that need it, and those files. */
  skipped: number;
  files: string[];
}

const RULE = '!'.repeat(100);

/**
 * The block printed after vitest's summary when a service was missing: which groups did not run,
 * why, and what would provide them. Loud on purpose: a green run must not hide a third of the suite.
 */
export function missingBlock(missing: Missing[], skippedInAll: number): string {
  const failing = missing.filter((service) => !service.allowed);
  const lines = [
    `NOT THE WHOLE SUITE: ${missing.map((service) => service.label).join(', ')} could not be provided, `
      + `so ${skippedInAll} test${skippedInAll === 1 ? '' : 's'} that need ${missing.length === 1 ? 'it' : 'them'} did not run.`,
    '',
  ];
  for (const service of missing) {
    lines.push(`${service.label}${service.allowed ? ' (allowed by PARTWAY_TEST_ALLOW_MISSING)' : ''}: `
      + `${service.skipped} test${service.skipped === 1 ? '' : 's'} skipped in ${service.files.join(', ') || 'no file of this run'}`);
    lines.push(`  why:        ${service.why}`);
    lines.push(`  to provide: ${service.remedy}`);
    lines.push('');
  }
  if (failing.length > 0) {
    lines.push(`So this run FAILS. To run without them on purpose: PARTWAY_TEST_ALLOW_MISSING=${missing.map((service) => service.name).join(',')} npm test`);
  } else {
    lines.push('PARTWAY_TEST_ALLOW_MISSING allows this, so it does not fail the run; but these tests did not run.');
  }
  return `\n${RULE}\n${lines.map((line) => `!! ${line}`.trimEnd()).join('\n')}\n${RULE}\n\n`;
}
