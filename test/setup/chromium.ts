import { aptInstall, executable, Unavailable, whyNoApt, type Provided } from './system.js';

/** Where Debian's `chromium` package puts the browser; test/web/support.ts launches it from there by default. */
export const DEBIAN_CHROMIUM = '/usr/bin/chromium';

/**
 * Chromium for the web uploader's tests: PARTWAY_TEST_CHROMIUM when set (used as it is), else
 * Debian's package, installed with apt-get when it is missing and this run may install.
 */
export async function provideChromium(mayInstall: boolean): Promise<Provided> {
  const own = process.env.PARTWAY_TEST_CHROMIUM;
  if (own) {
    if (executable(own)) return { env: {}, description: `PARTWAY_TEST_CHROMIUM (${own})` };
    throw new Unavailable(`PARTWAY_TEST_CHROMIUM=${own} is not an executable`, 'point PARTWAY_TEST_CHROMIUM at a Chromium, or unset it to use Debian\'s');
  }
  if (executable(DEBIAN_CHROMIUM)) return { env: {}, description: DEBIAN_CHROMIUM };
  const remedy = 'apt-get install chromium (as root), or set PARTWAY_TEST_CHROMIUM=/path/to/chromium';
  if (!mayInstall) throw new Unavailable(`no ${DEBIAN_CHROMIUM}, and PARTWAY_TEST_ALLOW_MISSING lists chromium, so it was not installed`, remedy);
  const noApt = whyNoApt();
  if (noApt !== undefined) throw new Unavailable(`no ${DEBIAN_CHROMIUM}, and ${noApt}`, remedy);
  process.stderr.write(`test set-up: installing Debian's chromium for the browser tests (apt-get)...\n`);
  try {
    await aptInstall(['chromium']);
  } catch (error) {
    throw new Unavailable(`no ${DEBIAN_CHROMIUM}: ${(error as Error).message}`, remedy);
  }
  if (!executable(DEBIAN_CHROMIUM)) throw new Unavailable(`apt-get installed chromium but ${DEBIAN_CHROMIUM} is not there`, remedy);
  // Installed for good: a system package the next run needs too, so nothing to stop.
  return { env: {}, description: `${DEBIAN_CHROMIUM} (installed now with apt-get)` };
}
