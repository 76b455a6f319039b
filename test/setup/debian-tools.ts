import { aptInstall, executable, Unavailable, whyNoApt, type Provided } from './system.js';

/** A program some tests run, from a Debian package, that the set-up installs when it is missing. */
export interface DebianTool {
  /** The name used in PARTWAY_TEST_ALLOW_MISSING and in messages. */
  name: string;
  /** Where Debian's package puts it; the tests run it from there (or by name) by default. */
  path: string;
  package: string;
  /** A variable naming another executable to use instead, if the tests honour one. */
  override?: string;
}

export const CHROMIUM: DebianTool = { name: 'chromium', path: '/usr/bin/chromium', package: 'chromium', override: 'PARTWAY_TEST_CHROMIUM' };
export const CURL: DebianTool = { name: 'curl', path: '/usr/bin/curl', package: 'curl' };
/** rclone 1.60 with its Box backend, for test/interop/rclone.test.ts. */
export const RCLONE: DebianTool = { name: 'rclone', path: '/usr/bin/rclone', package: 'rclone' };

/**
 * The tool as the override variable names it (used as it is), else Debian's package, installed with
 * apt-get when it is missing and this run may install. Installed for good: a system package that the
 * next run needs too, so there is nothing to stop.
 */
export async function provideDebianTool(tool: DebianTool, mayInstall: boolean): Promise<Provided> {
  const own = tool.override === undefined ? undefined : process.env[tool.override];
  if (own) {
    if (executable(own)) return { env: {}, description: `${tool.override} (${own})` };
    throw new Unavailable(`${tool.override}=${own} is not an executable`, `point ${tool.override} at a ${tool.name}, or unset it to use Debian's`);
  }
  if (executable(tool.path)) return { env: {}, description: tool.path };
  const remedy = `apt-get install ${tool.package} (as root)${tool.override ? `, or set ${tool.override}=/path/to/${tool.name}` : ''}`;
  if (!mayInstall) throw new Unavailable(`no ${tool.path}, and PARTWAY_TEST_ALLOW_MISSING lists ${tool.name}, so it was not installed`, remedy);
  const noApt = whyNoApt();
  if (noApt !== undefined) throw new Unavailable(`no ${tool.path}, and ${noApt}`, remedy);
  process.stderr.write(`test set-up: installing Debian's ${tool.package} (apt-get)...\n`);
  try {
    await aptInstall([tool.package]);
  } catch (error) {
    throw new Unavailable(`no ${tool.path}: ${(error as Error).message}`, remedy);
  }
  if (!executable(tool.path)) throw new Unavailable(`apt-get installed ${tool.package} but ${tool.path} is not there`, remedy);
  return { env: {}, description: `${tool.path} (installed now with apt-get)` };
}
