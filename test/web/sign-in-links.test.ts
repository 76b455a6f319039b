import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/partway.js';
import { HAVE_CHROMIUM, launchChromium, openUploader } from './support.js';

/**
 * `/#token=` links (issue 13 §3.9): a link for another account never switches a signed-in user
 * silently, and a damaged link shows the sign-in form with a reason, not a blank page.
 */

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  [server, browser] = await Promise.all([startServer(), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const link = (token: string) => `${server.url}/#token=${encodeURIComponent(token)}`;

describe.skipIf(!HAVE_CHROMIUM)('sign-in links', () => {
  it('asks before a link switches a signed-in user to another account, and switches only when told to', async () => {
    const [alice, bob] = await Promise.all([server.tokenFor('alice-web'), server.tokenFor('bob-web')]);
    const { context, page, errors } = await openUploader(browser, server.url, alice);
    try {
      // A link opened in the same tab (only the fragment changes).
      await page.goto(link(bob));
      const question = page.getByRole('alertdialog');
      await question.waitFor();
      expect(await question.textContent()).toContain('You are signed in as alice-web. The link you opened would sign you in as bob-web');
      expect(await page.evaluate('localStorage.getItem("partway.token")')).toBe(alice);
      expect(await page.evaluate('location.hash')).toBe('');
      await page.getByRole('button', { name: 'Stay signed in as alice-web' }).click();
      await expect.poll(() => page.locator('#signed-in-as').textContent()).toBe('Signed in as alice-web');

      // A link opened afresh (a new page load), and this time the user switches.
      await page.goto('about:blank');
      await page.goto(link(bob));
      await page.getByRole('button', { name: 'Switch to bob-web' }).click();
      await expect.poll(() => page.locator('#signed-in-as').textContent()).toBe('Signed in as bob-web');
      expect(await page.evaluate('localStorage.getItem("partway.token")')).toBe(bob);

      // A link with the token already in use asks nothing.
      await page.goto('about:blank');
      await page.goto(link(bob));
      await expect.poll(() => page.locator('#signed-in-as').textContent()).toBe('Signed in as bob-web');
      expect(await page.getByRole('alertdialog').count()).toBe(0);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('shows the sign-in form with a reason for a damaged link, and keeps a signed-in user signed in', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    try {
      await page.goto(`${server.url}/#token=%E0%A4%A`);
      await expect.poll(() => page.locator('#token-error').textContent()).toContain('The sign-in link is damaged');
      await page.getByLabel('Access token').waitFor();

      const carol = await server.tokenFor('carol-web');
      await page.getByLabel('Access token').fill(carol);
      await page.keyboard.press('Enter');
      await expect.poll(() => page.locator('#signed-in-as').textContent()).toBe('Signed in as carol-web');
      await page.goto('about:blank');
      await page.goto(`${server.url}/#token=%E0%A4%A`);
      await expect.poll(() => page.locator('#signed-in-as').textContent()).toBe('Signed in as carol-web');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
