import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startServer, type TestServer } from '../helpers/partway.js';
import {
  fileIdInListing, HAVE_CHROMIUM, holdPartsAfter, launchChromium, listedParts, openUploader, PartCounter, REMOTE_HOST, TempFiles, until, type TestFile,
} from './support.js';

/**
 * The web uploader in real headless Chromium: a 60 MB file in 1 MiB parts, the page reloaded
 * halfway, the same file chosen again, and only the missing parts sent; from localhost (a secure
 * context) and from a plain-http address that is not (no crypto.subtle: hash-wasm does the SHA-1s).
 */

const PART = 1024 * 1024;
const SIZE = 60_000_000;
const TOTAL_PARTS = Math.ceil(SIZE / PART); // 58

let server: TestServer;
let browser: Browser;
const files = new TempFiles();
let big: TestFile;

beforeAll(async () => {
  [server, browser, big] = await Promise.all([
    startServer({ basePartSize: String(PART), minChunkedSize: '1000000' }),
    launchChromium(),
    files.write('big.bin', SIZE),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await files.remove();
});

async function uploadWithReloadHalfway(origin: string, user: string, storedBeforeReload: number) {
  const token = await server.tokenFor(user);
  const { context, page, errors } = await openUploader(browser, origin, token);
  try {
    // The server gets exactly `storedBeforeReload` parts; the page holds the next ones back.
    const gate = await holdPartsAfter(page, storedBeforeReload);
    await page.setInputFiles('#file-input', big.path);
    await until(async () => gate.sessionId() !== undefined
      && await listedParts(server, token, gate.sessionId()!) === storedBeforeReload, 30_000, 'the first parts to be stored');
    const sessionId = gate.sessionId()!;
    await expect.poll(() => page.locator('.upload .stats').first().textContent()).toContain(`${storedBeforeReload} of ${TOTAL_PARTS} parts`);

    // Reload: the page forgets the File (and the held parts), but the session is in IndexedDB.
    const counter = new PartCounter(server);
    try {
      await gate.fail();
      await page.reload();
      await gate.remove();
      await page.locator('#signed-in-as').waitFor();
      const waiting = page.locator('.upload[data-status="waiting-file"]');
      await expect.poll(() => waiting.textContent()).toContain(`${storedBeforeReload} of ${TOTAL_PARTS} parts are on the server`);
      expect(await listedParts(server, token, sessionId)).toBe(storedBeforeReload);

      // Choosing the same file again continues the session.
      await page.setInputFiles('#file-input', big.path);
      const done = page.locator('.upload[data-status="done"]');
      await done.waitFor({ timeout: 60_000 });
      expect(await done.textContent()).toContain(`SHA-1 ${big.sha1} verified; ${storedBeforeReload} parts were already on the server`);
      expect(counter.count).toBe(TOTAL_PARTS - storedBeforeReload);
      // Several parts were in flight at once.
      expect(counter.peakInFlight).toBeGreaterThan(1);
    } finally {
      counter.detach();
    }

    // The committed file on the server is the generated data.
    const fileId = await fileIdInListing(page, big.name);
    const info = await call('GET', `${server.api}/files/${fileId}`, { token });
    expect(info.status).toBe(200);
    expect(info.json).toMatchObject({ name: big.name, size: SIZE, sha1: big.sha1 });

    // Nothing is left to resume.
    await page.reload();
    await page.locator('#signed-in-as').waitFor();
    await page.locator('tr.file-row').first().waitFor();
    expect(await page.locator('.upload').count()).toBe(0);
    expect(errors).toEqual([]);
    return page;
  } finally {
    await context.close();
  }
}

describe.skipIf(!HAVE_CHROMIUM)('web uploader: resume after a reload', () => {
  it('from localhost (a secure context)', async () => {
    await uploadWithReloadHalfway(server.url, 'local', 24);
  });

  it(`from a plain-http address that is not localhost (http://${REMOTE_HOST}), with hash-wasm`, async () => {
    const origin = server.url.replace('127.0.0.1', REMOTE_HOST);
    const token = await server.tokenFor('remote-check');
    const { context, page } = await openUploader(browser, origin, token);
    try {
      expect(await page.evaluate('[window.isSecureContext, typeof crypto.subtle, document.documentElement.dataset.partHash]'))
        .toEqual([false, 'undefined', 'hash-wasm']);
    } finally {
      await context.close();
    }
    await uploadWithReloadHalfway(origin, 'remote', 7);
  });
});
