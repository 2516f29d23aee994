// The running demo (wrangler dev on 127.0.0.1, local Miniflare state) driven
// in a real Chromium: the SPA signs in, calls the API, refreshes, signs out.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generateSecret } from '../../src/index.js';
import { launchChromium } from '../support/chromium.js';
import { startWranglerDev, type DevServer } from '../support/wrangler-dev.js';

const root = resolve(import.meta.dirname, '../..');

describe('demo SPA against the running demo server, in Chromium', () => {
  let server: DevServer | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    execFileSync(process.execPath, [resolve(root, 'scripts/build-spa.mjs')], { cwd: root, stdio: 'pipe' });
    server = await startWranglerDev(resolve(root, 'examples/authorization-server/wrangler.toml'), { VAULT_SECRET: generateSecret() });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  const field = (page: Page, name: string) => page.locator(`[data-field="${name}"]`);

  test('sign in, call the API, refresh, sign out', async () => {
    const context = await browser!.newContext();
    const page = await context.newPage();
    await page.goto(`${server!.url}/`);
    await expect.poll(() => field(page, 'state').textContent()).toBe('signed out');

    await page.click('#sign-in');
    await page.waitForURL(/\/authorize\?/);
    await page.fill('#user', 'alice');
    await page.click('button[value="approve"]');
    await expect.poll(() => field(page, 'state').textContent(), { timeout: 15_000 }).toBe('signed in');
    expect(page.url()).toBe(`${server!.url}/`); // code and state removed from the address bar
    expect(await field(page, 'scope').textContent()).toBe('profile');

    await page.click('#call-api');
    await expect.poll(() => page.locator('#output').textContent()).toContain('"status": 200');
    expect(await page.locator('#output').textContent()).toContain('"sub": "alice"');

    const tokensBefore = await page.evaluate(() => indexedDB.databases().then((dbs) => dbs.map((db) => db.name)));
    expect(tokensBefore).toContain('oauth-vault-demo');
    await page.click('#refresh');
    await expect.poll(() => page.locator('#output').textContent()).toContain('"refreshed": true');
    await page.click('#call-api');
    await expect.poll(() => page.locator('#output').textContent()).toContain('"status": 200');

    // A second tab sees the sign-out of the first.
    const other = await context.newPage();
    await other.goto(`${server!.url}/`);
    await expect.poll(() => field(other, 'state').textContent()).toBe('signed in');
    await page.click('#sign-out');
    await expect.poll(() => field(page, 'state').textContent()).toBe('signed out');
    await expect.poll(() => field(other, 'state').textContent(), { timeout: 2000 }).toBe('signed out');
    await context.close();
  });
});
