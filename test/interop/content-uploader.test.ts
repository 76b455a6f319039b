import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startServer, type TestServer } from '../helpers/partway.js';
import { MiB, scratchDir, type Scratch, type SourceFile } from './support.js';
import { serveUploaderPage } from './support/content-uploader.js';
import { startTlsFront, type TlsFront } from './support/tls-front.js';
import { makeCertificates, type TestCertificates } from './support/tls.js';
import { CHROMIUM, HAVE_CHROMIUM } from '../web/support.js';

/**
 * Box UI Elements' ContentUploader (its prebuilt bundle, unchanged) in Debian's Chromium, pointed at
 * Partway with `apiHost`/`uploadHost`. It uploads only from an `https:` page, so the page and the API
 * are both behind TLS with the test's throwaway certificate: once from another origin (CORS, with
 * Box's `X-Box-Client-*` headers) and once from the API's own origin.
 */
const API_HOST = 'partway.test';
const PAGE_HOST = 'uploader.test';
/** The uploader sends files over 100 MiB in chunks and smaller ones in one request. */
const BIG = 101 * MiB;

let certificates: TestCertificates;
let server: TestServer;
let front: TlsFront;
let pages: Server;
let browser: Browser;
let scratch: Scratch;
let big: SourceFile;
let small: SourceFile;
let apiOrigin: string;
let pageOrigin: string;

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return;
  certificates = await makeCertificates([API_HOST, PAGE_HOST]);
  pages = createHttpsServer({ cert: certificates.cert, key: certificates.key }, (request, response) => {
    if (!serveUploaderPage(request, response)) response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
  pageOrigin = `https://${PAGE_HOST}:${(pages.address() as AddressInfo).port}`;
  // Partway must know its public (https) address, so the front starts first and learns Partway's later.
  front = await startTlsFront(() => server.url, certificates, [], { pages: serveUploaderPage });
  apiOrigin = `https://${API_HOST}:${front.httpsPort}`;
  server = await startServer({ publicUrl: apiOrigin, corsOrigins: pageOrigin });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-sync', `--host-resolver-rules=MAP ${API_HOST} 127.0.0.1, MAP ${PAGE_HOST} 127.0.0.1`],
  });
  scratch = await scratchDir();
  big = await scratch.randomFile('big-video.bin', BIG);
  small = await scratch.randomFile('small-notes.txt', 200_000);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await front?.close();
  await new Promise((resolve) => (pages ? pages.close(resolve) : resolve(undefined)));
  await scratch?.remove();
  await certificates?.remove();
});

interface UploaderEvent {
  name: string;
  data: unknown;
}

/** Opens the uploader page at `origin`, adds the files, presses Upload and waits for `complete` or `error`. */
async function uploadWithContentUploader(origin: string, folderId: string, files: SourceFile[]): Promise<UploaderEvent[]> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  try {
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    const query = new URLSearchParams({ folder: folderId, token: server.token, api: apiOrigin });
    await page.goto(`${origin}/uie/index.html?${query}`);
    await page.locator('input[type=file]').first().setInputFiles(files.map((file) => file.path));
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await page.waitForFunction(() => (globalThis as unknown as { uploaderEvents: UploaderEvent[] }).uploaderEvents
      .some((event) => event.name === 'complete' || event.name === 'error'), undefined, { timeout: 240_000 });
    expect(pageErrors).toEqual([]);
    return await page.evaluate(() => (globalThis as unknown as { uploaderEvents: UploaderEvent[] }).uploaderEvents);
  } finally {
    await context.close();
  }
}

async function newFolder(name: string): Promise<string> {
  const created = await call('POST', `${server.api}/folders`, { token: server.token, json: { name, parent: { id: '0' } } });
  expect(created.status).toBe(201);
  return created.json.id as string;
}

/** The folder's files as the API reports them: name, size and SHA-1. */
async function filesIn(folderId: string) {
  const items = await call('GET', `${server.api}/folders/${folderId}/items?fields=name,size,sha1,parent`, { token: server.token });
  return (items.json.entries as Array<{ name: string; size: number; sha1: string; parent: { id: string } }>)
    .map((item) => ({ name: item.name, size: item.size, sha1: item.sha1, parent: item.parent.id }));
}

const expected = (folderId: string, ...files: SourceFile[]) => files
  .map((file) => ({ name: file.path.split('/').at(-1)!, size: file.size, sha1: file.sha1, parent: folderId }))
  .sort((a, b) => a.name.localeCompare(b.name));

describe.skipIf(!HAVE_CHROMIUM)('Box UI Elements ContentUploader against Partway', () => {
  it('from a page on another origin: a file over 100 MiB goes chunked, a small one in one request', async () => {
    const folder = await newFolder('from-another-origin');
    const start = front.log.length;
    const events = await uploadWithContentUploader(pageOrigin, folder, [big, small]);
    expect(events.filter((event) => event.name === 'error')).toEqual([]);
    expect(events.map((event) => event.name)).toContain('complete');
    expect(await filesIn(folder)).toEqual(expected(folder, big, small));

    const requests = front.log.slice(start).map((request) => `${request.method} ${request.url.split('?')[0]} ${request.status}`);
    // Box's preflight check before each file (a browser's CORS preflight, 204, may come first).
    expect(requests.filter((line) => line === 'OPTIONS /2.0/files/content 200')).toHaveLength(2);
    expect(requests.filter((line) => /^PUT \/api\/2\.0\/files\/upload_sessions\/\w+ 200$/.test(line))).toHaveLength(Math.ceil(BIG / (8 * MiB)));
    expect(requests).toContain('POST /api/2.0/files/upload_sessions 201');
    expect(requests).toContain('POST /api/2.0/files/content 201');
    expect(requests.some((line) => /^POST \/api\/2\.0\/files\/upload_sessions\/\w+\/commit 201$/.test(line))).toBe(true);
    expect(requests.filter((line) => / [45]\d\d$/.test(line))).toEqual([]);
  }, 300_000);

  it('from a page on the API\'s own origin: the same two files, and no CORS preflight', async () => {
    const folder = await newFolder('same-origin');
    const start = front.log.length;
    const events = await uploadWithContentUploader(apiOrigin, folder, [big, small]);
    expect(events.filter((event) => event.name === 'error')).toEqual([]);
    expect(events.map((event) => event.name)).toContain('complete');
    expect(await filesIn(folder)).toEqual(expected(folder, big, small));
    const requests = front.log.slice(start).filter((request) => request.url.startsWith('/2.0/') || request.url.startsWith('/api/2.0/'))
      .map((request) => `${request.method} ${request.url.split('?')[0]} ${request.status}`);
    // Same origin: the only OPTIONS are Box's own check before each file, never a browser's CORS preflight.
    expect(requests.filter((line) => line.startsWith('OPTIONS '))).toEqual(['OPTIONS /2.0/files/content 200', 'OPTIONS /2.0/files/content 200']);
    expect(requests.filter((line) => /^PUT \/api\/2\.0\/files\/upload_sessions\/\w+ 200$/.test(line))).toHaveLength(Math.ceil(BIG / (8 * MiB)));
    expect(requests).toContain('POST /api/2.0/files/content 201');
    expect(requests.some((line) => /^POST \/api\/2\.0\/files\/upload_sessions\/\w+\/commit 201$/.test(line))).toBe(true);
    expect(requests.filter((line) => / [45]\d\d$/.test(line))).toEqual([]);
  }, 300_000);
});
