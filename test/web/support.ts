import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page, type Route } from 'playwright-core';
import { call, sha1Hex, type TestServer } from '../helpers/partway.js';
import { CHROMIUM as DEBIAN_CHROMIUM } from '../setup/debian-tools.js';
import { executable } from '../setup/system.js';

/**
 * Browser tests drive Debian's Chromium through playwright-core (`npx playwright install` cannot
 * run on these machines). `partway.test` resolves to 127.0.0.1 inside the browser, so the page can
 * be opened from a plain-http address that is not localhost: not a secure context, no crypto.subtle.
 */
export const REMOTE_HOST = 'partway.test';

/** The browser: PARTWAY_TEST_CHROMIUM, else Debian's, which the test set-up installs when it is missing. */
export const CHROMIUM = process.env.PARTWAY_TEST_CHROMIUM ?? DEBIAN_CHROMIUM.path;

/** Whether it is there: without it the browser tests are skipped, and the run says so at its end (test/setup/). */
export const HAVE_CHROMIUM = executable(CHROMIUM);

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-sync', `--host-resolver-rules=MAP ${REMOTE_HOST} 127.0.0.1`,
    ],
  });
}

export interface OpenPage {
  context: BrowserContext;
  page: Page;
  /** Uncaught exceptions in the page; a test ends by checking there were none. */
  errors: string[];
}

/** A fresh browser profile on the uploader, signed in through a `/#token=` link. */
export async function openUploader(browser: Browser, origin: string, token: string,
  viewport = { width: 1200, height: 800 }): Promise<OpenPage> {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  // The page asks before unloading while uploads run (beforeunload); tests reload on purpose.
  page.on('dialog', (dialog) => void dialog.accept().catch(() => {}));
  await page.goto(`${origin}/#token=${encodeURIComponent(token)}`);
  await page.locator('#signed-in-as').waitFor();
  return { context, page, errors };
}

export interface TestFile {
  path: string;
  name: string;
  data: Buffer;
  sha1: string;
}

export class TempFiles {
  #dir: string | undefined;

  /** Writes random bytes to `relativePath` (e.g. `a/report.bin`: files of one name in two directories). */
  async write(relativePath: string, size: number, data: Buffer = randomBytes(size)): Promise<TestFile> {
    this.#dir ??= await mkdtemp(join(tmpdir(), 'partway-web-'));
    const path = join(this.#dir, relativePath);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, data);
    return { path, name: basename(path), data, sha1: sha1Hex(data) };
  }

  async dir(): Promise<string> {
    this.#dir ??= await mkdtemp(join(tmpdir(), 'partway-web-'));
    return this.#dir;
  }

  async remove(): Promise<void> {
    if (this.#dir !== undefined) await rm(this.#dir, { recursive: true, force: true });
  }
}

const PART_PATH = /^\/api\/2\.0\/files\/upload_sessions\/([0-9A-Fa-f]+)$/;

/** Counts the part uploads (PUTs) the server receives, and the most at once, by listening to its HTTP server. */
export class PartCounter {
  count = 0;
  peakInFlight = 0;
  #inFlight = 0;
  readonly #server: TestServer;
  readonly #listener = (request: IncomingMessage, response: ServerResponse) => {
    if (request.method !== 'PUT' || !PART_PATH.test(request.url ?? '')) return;
    this.count++;
    this.peakInFlight = Math.max(this.peakInFlight, ++this.#inFlight);
    response.on('close', () => this.#inFlight--);
  };

  constructor(server: TestServer) {
    this.#server = server;
    server.partway.app.server.on('request', this.#listener);
  }

  detach(): void {
    this.#server.partway.app.server.off('request', this.#listener);
  }
}

export interface PartGate {
  /** The upload session the parts went to. */
  sessionId(): string | undefined;
  /** Lets the held parts go on to the server. */
  release(): Promise<void>;
  /**
   * Answers the held parts, and every later one, with a 503 and a long Retry-After, and waits until
   * `inFlight` parts were answered so: then no part is pending in the browser when the page goes
   * away (Playwright lets intercepted requests through when a page closes), and the page sends no
   * retry meanwhile.
   */
  fail(inFlight?: number): Promise<void>;
  /** Stops intercepting. */
  remove(): Promise<void>;
}

/**
 * Lets the first `allowed` part uploads of the page through and holds every later one in the
 * browser, so that the server holds exactly `allowed` parts, whatever the timing.
 */
export async function holdPartsAfter(page: Page, allowed: number): Promise<PartGate> {
  let passed = 0;
  let failing = false;
  let answered = 0;
  const unavailable = async (route: Route) => {
    await route.fulfill({
      status: 503, headers: { 'retry-after': '3600' }, contentType: 'application/json',
      body: JSON.stringify({ type: 'error', status: 503, code: 'unavailable', message: 'held back by the test', request_id: 'test' }),
    }).catch(() => {});
    answered++;
  };
  let sessionId: string | undefined;
  const held: Route[] = [];
  const handler = async (route: Route) => {
    const request = route.request();
    if (request.method() !== 'PUT') return route.continue();
    sessionId ??= PART_PATH.exec(new URL(request.url()).pathname)?.[1];
    if (failing) return unavailable(route);
    if (passed < allowed) {
      passed++;
      return route.continue();
    }
    held.push(route);
  };
  const pattern = (url: URL) => PART_PATH.test(url.pathname);
  await page.route(pattern, handler);
  return {
    sessionId: () => sessionId,
    async release() {
      await page.unroute(pattern, handler);
      await Promise.all(held.splice(0).map((route) => route.continue().catch(() => {})));
    },
    async fail(inFlight = 4) {
      failing = true;
      await Promise.all(held.splice(0).map(unavailable));
      await until(() => answered >= inFlight, 10_000, `the ${inFlight} parts in flight to be answered`);
    },
    async remove() {
      await page.unroute(pattern, handler);
    },
  };
}

/** The parts the server lists for a session (through the API, as any client would see them). */
export async function listedParts(server: TestServer, token: string, sessionId: string): Promise<number> {
  const reply = await call('GET', `${server.upload}/files/upload_sessions/${sessionId}/parts?limit=1000`, { token });
  if (reply.status !== 200) throw new Error(`list parts answered ${reply.status}: ${reply.text}`);
  return reply.json.total_count;
}

export async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 30_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The id of the file of that name in the folder listing the page shows. */
export async function fileIdInListing(page: Page, name: string): Promise<string> {
  const row = page.locator('tr.file-row', { has: page.locator('th', { hasText: name }) });
  await row.first().waitFor();
  const id = await row.first().getAttribute('data-file-id');
  if (id === null) throw new Error(`no file id for ${name}`);
  return id;
}
