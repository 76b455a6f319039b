import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, FileChooser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdvancingClock, call, startServer, type TestServer } from '../helpers/partway.js';
import {
  fileIdInListing, HAVE_CHROMIUM, holdPartsAfter, launchChromium, listedParts, openUploader, PartCounter, TempFiles, until, type TestFile,
} from './support.js';

/**
 * The web uploader's other duties in real headless Chromium: signing in, folders, name clashes,
 * downloads, deletes, the messages for Box errors, pause/resume/cancel, keyboard use, a narrow
 * screen, and the README's screenshot.
 */

const PART = 1024 * 1024;
/** Just above Box's 20,000,000-byte minimum, so the page uses an upload session (21 parts). */
const CHUNKED = 21_000_000;

let server: TestServer;
let browser: Browser;
const files = new TempFiles();

beforeAll(async () => {
  [server, browser] = await Promise.all([startServer({ basePartSize: String(PART), minChunkedSize: '1000000' }), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await files.remove();
});

async function uploadThroughPage(page: Page, file: TestFile): Promise<void> {
  const before = await page.locator('.upload[data-status="done"]').count();
  await page.setInputFiles('#file-input', file.path);
  await until(async () => await page.locator('.upload[data-status="done"]').count() > before, 60_000, `${file.name} to upload`);
}

async function fileInfo(token: string, id: string, target: TestServer = server) {
  return (await call('GET', `${target.api}/files/${id}`, { token })).json;
}

describe.skipIf(!HAVE_CHROMIUM)('web uploader', () => {
  it('signs in with a pasted token, refuses a wrong one, and signs out', async () => {
    const token = await server.tokenFor('signin');
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(server.url);
      await page.getByLabel('Access token').fill('pw_not_a_real_token');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => page.locator('#token-error').textContent()).toContain('refused this token');

      await page.getByLabel('Access token').fill(token);
      await page.keyboard.press('Enter');
      await expect.poll(() => page.locator('#signed-in-as').textContent()).toBe('Signed in as signin');

      // The token is kept in the browser's storage.
      await page.reload();
      await page.locator('#signed-in-as').waitFor();
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByLabel('Access token').waitFor();
      await page.reload();
      await page.getByLabel('Access token').waitFor();
    } finally {
      await context.close();
    }
  });

  it('creates folders, browses them, and uploads into one from the keyboard', async () => {
    const token = await server.tokenFor('folders');
    const { context, page, errors } = await openUploader(browser, server.url, token);
    const small = await files.write('keyboard.txt', 5000);
    // Listening from the start: Playwright turns on file-picker interception asynchronously.
    const choosers: FileChooser[] = [];
    page.on('filechooser', (chooser) => choosers.push(chooser));
    try {
      await page.getByLabel('New folder').fill('Projects');
      await page.keyboard.press('Enter');
      await page.getByRole('link', { name: 'Projects' }).waitFor();

      // The same name again: Box's 409 in plain words.
      await page.getByLabel('New folder').fill('Projects');
      await page.keyboard.press('Enter');
      await expect.poll(() => page.locator('#new-folder-error').textContent()).toContain('already exists');

      await page.getByRole('link', { name: 'Projects' }).click();
      await expect.poll(() => page.locator('#folder-title').textContent()).toBe('Projects');
      await expect.poll(() => page.locator('.breadcrumbs').textContent()).toBe('All FilesProjects');

      // Tab from the folder form to "Choose files…", and Enter opens the file picker.
      await page.getByLabel('New folder').focus();
      await page.keyboard.press('Tab');
      await page.keyboard.press('Tab');
      expect(await page.evaluate('document.activeElement.id')).toBe('choose-files');
      await page.keyboard.press('Enter');
      await until(() => choosers.length === 1, 10_000, 'the file picker');
      await choosers[0]!.setFiles(small.path);
      await page.locator('.upload[data-status="done"]').waitFor();
      const id = await fileIdInListing(page, small.name);
      const info = await fileInfo(token, id);
      expect(info).toMatchObject({ sha1: small.sha1, size: 5000, parent: { name: 'Projects' } });

      await page.locator('.breadcrumbs').getByRole('link', { name: 'All Files' }).click();
      await expect.poll(() => page.locator('#folder-title').textContent()).toBe('All Files');

      // Several files dropped on the page at once go to the folder shown.
      await page.evaluate(`(() => {
        const transfer = new DataTransfer();
        transfer.items.add(new File(['first dropped file'], 'dropped-1.txt'));
        transfer.items.add(new File(['second dropped file'], 'dropped-2.txt'));
        for (const type of ['dragenter', 'dragover', 'drop']) {
          document.querySelector('.items').dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
        }
      })()`);
      await until(async () => await page.locator('.upload[data-status="done"]').count() === 3, 10_000, 'the dropped files');
      expect(await fileInfo(token, await fileIdInListing(page, 'dropped-2.txt'))).toMatchObject({ size: 19, parent: { id: '0' } });
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('on a name clash, offers a new version (chunked) or keeping both (simple upload), or skipping', async () => {
    const token = await server.tokenFor('clash');
    const { context, page, errors } = await openUploader(browser, server.url, token);
    const [first, second, noteA, noteB] = await Promise.all([
      files.write('clash-a/report.bin', CHUNKED), files.write('clash-b/report.bin', CHUNKED),
      files.write('clash-a/note.txt', 3000), files.write('clash-b/note.txt', 4000),
    ]);
    try {
      await uploadThroughPage(page, first);
      const id = await fileIdInListing(page, 'report.bin');
      expect(await fileInfo(token, id)).toMatchObject({ sha1: first.sha1, etag: '0' });

      await page.setInputFiles('#file-input', second.path);
      const clash = page.locator('.upload[data-status="conflict"]');
      await clash.waitFor();
      expect(await clash.textContent()).toContain('A file named report.bin already exists in All Files (20.0 MiB');
      await clash.getByRole('button', { name: 'Upload as new version report.bin' }).click();
      await until(async () => (await fileInfo(token, id)).sha1 === second.sha1, 60_000, 'the new version');
      expect(await fileInfo(token, id)).toMatchObject({ sha1: second.sha1, etag: '1', size: CHUNKED });
      await until(async () => await page.locator('.upload[data-status="done"]').count() === 2, 10_000, 'both uploads done');

      // A small file (Box's simple upload) with a taken name: keep both.
      await uploadThroughPage(page, noteA);
      await page.setInputFiles('#file-input', noteB.path);
      await clash.waitFor();
      await clash.getByRole('button', { name: 'Keep both note.txt' }).click();
      const copyId = await fileIdInListing(page, 'note (1).txt');
      expect(await fileInfo(token, copyId)).toMatchObject({ name: 'note (1).txt', sha1: noteB.sha1 });

      // Or skip it.
      await page.setInputFiles('#file-input', noteB.path);
      await clash.waitFor();
      await clash.getByRole('button', { name: 'Skip note.txt' }).click();
      await until(async () => await clash.count() === 0, 10_000, 'the skipped upload to go');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('downloads a file through its signed link, byte for byte', async () => {
    const token = await server.tokenFor('download');
    const { context, page, errors } = await openUploader(browser, server.url, token);
    const file = await files.write('download.bin', CHUNKED);
    try {
      await uploadThroughPage(page, file);
      await fileIdInListing(page, file.name);
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: `Download ${file.name}` }).click(),
      ]);
      expect(download.suggestedFilename()).toBe(file.name);
      const path = await download.path();
      const bytes = await readFile(path);
      expect(bytes.length).toBe(CHUNKED);
      expect(createHash('sha1').update(bytes).digest('hex')).toBe(file.sha1);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('asks before deleting a file', async () => {
    const token = await server.tokenFor('delete');
    const { context, page, errors } = await openUploader(browser, server.url, token);
    const file = await files.write('delete-me.txt', 1234);
    try {
      await uploadThroughPage(page, file);
      const id = await fileIdInListing(page, file.name);
      await page.getByRole('button', { name: `Delete ${file.name}` }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
      expect((await call('GET', `${server.api}/files/${id}`, { token })).status).toBe(200);

      await page.getByRole('button', { name: `Delete ${file.name}` }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
      await until(async () => await page.locator('tr.file-row').count() === 0, 10_000, 'the row to go');
      expect((await call('GET', `${server.api}/files/${id}`, { token })).status).toBe(404);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('pauses and resumes without sending stored parts again, and cancels (aborting the session)', async () => {
    const token = await server.tokenFor('pause');
    const { context, page, errors } = await openUploader(browser, server.url, token);
    const file = await files.write('pause.bin', CHUNKED);
    try {
      const gate = await holdPartsAfter(page, 5);
      await page.setInputFiles('#file-input', file.path);
      await until(async () => gate.sessionId() !== undefined && await listedParts(server, token, gate.sessionId()!) === 5, 30_000, '5 parts');
      const row = page.locator('.upload').first();
      await row.getByRole('button', { name: `Pause ${file.name}` }).click();
      await expect.poll(() => row.getAttribute('data-status')).toBe('paused');
      await gate.remove();

      const counter = new PartCounter(server);
      try {
        await row.getByRole('button', { name: `Resume ${file.name}` }).click();
        await expect.poll(() => row.getAttribute('data-status'), { timeout: 60_000 }).toBe('done');
        expect(counter.count).toBe(21 - 5);
      } finally {
        counter.detach();
      }
      expect(await fileInfo(token, await fileIdInListing(page, file.name))).toMatchObject({ sha1: file.sha1 });

      // Cancel: the session is aborted on the server and nothing is left to resume.
      const other = await files.write('cancel.bin', CHUNKED);
      const gate2 = await holdPartsAfter(page, 3);
      await page.setInputFiles('#file-input', other.path);
      await until(async () => gate2.sessionId() !== undefined && await listedParts(server, token, gate2.sessionId()!) === 3, 30_000, '3 parts');
      await page.getByRole('button', { name: `Cancel ${other.name}` }).click();
      await until(async () => (await call('GET', `${server.upload}/files/upload_sessions/${gate2.sessionId()}`, { token })).status === 404,
        10_000, 'the session to be aborted');
      await gate2.remove();
      await page.reload();
      await page.locator('tr.file-row').first().waitFor();
      expect(await page.locator('.upload').count()).toBe(0);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('resumes after the tab was closed, in a new tab', async () => {
    const token = await server.tokenFor('tabs');
    const { context, page, errors } = await openUploader(browser, server.url, token);
    const file = await files.write('tabs.bin', CHUNKED);
    try {
      const gate = await holdPartsAfter(page, 9);
      await page.setInputFiles('#file-input', file.path);
      await until(async () => gate.sessionId() !== undefined && await listedParts(server, token, gate.sessionId()!) === 9, 30_000, '9 parts');
      const counter = new PartCounter(server);
      try {
        await gate.fail();
        await page.close({ runBeforeUnload: false });
        const tab = await context.newPage();
        tab.on('pageerror', (error) => errors.push(error.message));
        await tab.goto(server.url);
        const waiting = tab.locator('.upload[data-status="waiting-file"]');
        await expect.poll(() => waiting.textContent()).toContain('9 of 21 parts are on the server');
        // Its own "Choose file…" button takes the file back.
        await waiting.locator('input[type="file"]').setInputFiles(file.path);
        await tab.locator('.upload[data-status="done"]').waitFor({ timeout: 60_000 });
        expect(counter.count).toBe(21 - 9);
        expect(await fileInfo(token, await fileIdInListing(tab, file.name))).toMatchObject({ sha1: file.sha1 });
      } finally {
        counter.detach();
      }
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('explains a full quota', async () => {
    const limited = await startServer({ basePartSize: String(PART), minChunkedSize: '1000000', storageQuota: '10000000' });
    try {
      const token = await limited.tokenFor('quota');
      const { context, page, errors } = await openUploader(browser, limited.url, token);
      try {
        const file = await files.write('too-big.bin', CHUNKED);
        await page.setInputFiles('#file-input', file.path);
        const failed = page.locator('.upload[data-status="failed"]');
        await failed.waitFor();
        expect(await failed.textContent()).toContain('Not enough storage: this account\'s quota is used up');
        expect(await failed.textContent()).toContain('403 storage_limit_exceeded');
        await failed.getByRole('button', { name: `Cancel ${file.name}` }).click();
        await until(async () => await failed.count() === 0, 10_000, 'the failed upload to go');
        expect(errors).toEqual([]);
      } finally {
        await context.close();
      }
    } finally {
      await limited.close();
    }
  });

  it('explains an expired session, and Retry starts a new one', async () => {
    const ttlSeconds = 5;
    const clock = new AdvancingClock();
    const shortLived = await startServer({ basePartSize: String(PART), minChunkedSize: '1000000', sessionLifetime: String(ttlSeconds) }, { now: clock.now });
    try {
      const token = await shortLived.tokenFor('expiry');
      const { context, page, errors } = await openUploader(browser, shortLived.url, token);
      try {
        const file = await files.write('expiring.bin', CHUNKED);
        const gate = await holdPartsAfter(page, 2);
        await page.setInputFiles('#file-input', file.path);
        await until(async () => gate.sessionId() !== undefined && await listedParts(shortLived, token, gate.sessionId()!) === 2, 30_000, '2 parts');
        clock.advance(ttlSeconds * 1000 + 500);
        await gate.release();

        const failed = page.locator('.upload[data-status="failed"]');
        await failed.waitFor();
        expect(await failed.textContent()).toContain('The upload session expired (sessions last 7 days). Retry to upload the file again.');
        expect(await failed.textContent()).toContain('410 session_expired');

        await failed.getByRole('button', { name: `Retry ${file.name}` }).click();
        const done = page.locator('.upload[data-status="done"]');
        await done.waitFor({ timeout: 60_000 });
        expect(await done.textContent()).toContain('The earlier upload session had expired');
        expect(await fileInfo(token, await fileIdInListing(page, file.name), shortLived)).toMatchObject({ sha1: file.sha1 });
        expect(errors).toEqual([]);
      } finally {
        await context.close();
      }
    } finally {
      await shortLived.close();
    }
  });

  it('fits a 360-pixel-wide screen', async () => {
    const token = await server.tokenFor('narrow');
    const { context, page, errors } = await openUploader(browser, server.url, token, { width: 360, height: 740 });
    const [small, large] = await Promise.all([files.write('narrow/a-rather-long-file-name-for-a-phone.txt', 2000), files.write('narrow/big.bin', CHUNKED)]);
    try {
      await uploadThroughPage(page, small);
      const gate = await holdPartsAfter(page, 2);
      await page.setInputFiles('#file-input', large.path);
      const running = page.locator('.upload[data-status="running"]');
      await running.waitFor();
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);
      for (const action of ['Pause', 'Cancel']) {
        await expect.poll(() => running.getByRole('button', { name: `${action} ${large.name}` }).isVisible()).toBe(true);
      }
      const download = page.getByRole('button', { name: `Download ${small.name}` });
      await download.scrollIntoViewIfNeeded();
      const box = await download.boundingBox();
      expect(box!.x + box!.width).toBeLessThanOrEqual(360);
      await running.getByRole('button', { name: `Cancel ${large.name}` }).click();
      await gate.remove();
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('screenshot: the page mid-upload', async () => {
    const token = await server.tokenFor('maria');
    const { context, page, errors } = await openUploader(browser, server.url, token, { width: 1200, height: 800 });
    const [notes, budget, dataset, interview] = await Promise.all([
      files.write('shot/meeting-notes.md', 12_400), files.write('shot/budget-2026.xlsx', 48_213),
      files.write('shot/site-backup-2026-11.tar', 60_000_000), files.write('shot/interview-raw.mov', 25_000_000),
    ]);
    try {
      for (const name of ['Camera uploads', 'Projects']) {
        await page.getByLabel('New folder').fill(name);
        await page.keyboard.press('Enter');
        await page.getByRole('link', { name }).waitFor();
      }
      await page.setInputFiles('#file-input', [notes.path, budget.path]);
      await until(async () => await page.locator('.upload[data-status="done"]').count() === 2, 30_000, 'the small files');
      await page.getByRole('button', { name: 'Clear finished' }).click();
      await fileIdInListing(page, budget.name);

      const gate = await holdPartsAfter(page, 26);
      await page.setInputFiles('#file-input', [dataset.path, interview.path]);
      await until(async () => gate.sessionId() !== undefined && await listedParts(server, token, gate.sessionId()!) === 26, 30_000, '26 parts');
      await expect.poll(() => page.locator('.upload .stats').first().textContent()).toContain('26 of 58 parts');
      await page.locator('body').click({ position: { x: 5, y: 790 } });
      const path = process.env.PARTWAY_WRITE_SCREENSHOT
        ? new URL('../../docs/web-uploader.png', import.meta.url).pathname
        : join(await files.dir(), 'web-uploader.png');
      await page.screenshot({ path });
      expect((await stat(path)).size).toBeGreaterThan(20_000);
      await page.getByRole('button', { name: `Cancel ${dataset.name}` }).click();
      await gate.remove();
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
