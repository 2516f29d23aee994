// The running demo (wrangler dev on 127.0.0.1, local Miniflare state) driven
// in a real Chromium: the SPA signs in, calls the API, refreshes, signs out.
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
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

  test('consent redirects to a client on another origin (the page\'s CSP allows it)', async () => {
    // A stand-in client on its own 127.0.0.1 port: only its callback page matters.
    const client: Server = createServer((_request, response) => response.end('<!doctype html><title>client callback</title>'));
    await new Promise<void>((listening) => client.listen(0, '127.0.0.1', listening));
    const callback = `http://127.0.0.1:${(client.address() as { port: number }).port}/cb`;
    try {
      const registered = (await (
        await fetch(`${server!.url}/register`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ redirect_uris: [callback], token_endpoint_auth_method: 'none' }),
        })
      ).json()) as { client_id: string };
      const authorize = new URL(`${server!.url}/authorize`);
      authorize.search = new URLSearchParams({
        response_type: 'code',
        client_id: registered.client_id,
        redirect_uri: callback,
        state: 'state-123',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
      }).toString();
      const context = await browser!.newContext();
      const page = await context.newPage();
      await page.goto(authorize.toString());
      await page.fill('#user', 'dora');
      await page.click('button[value="approve"]');
      await page.waitForURL((url) => url.toString().startsWith(`${callback}?`), { timeout: 10_000 });
      const landed = new URL(page.url());
      expect(landed.searchParams.get('code')).toMatch(/^ovc_/);
      expect(landed.searchParams.get('state')).toBe('state-123');
      expect(landed.searchParams.get('iss')).toBe(server!.url);
      await context.close();
    } finally {
      await new Promise((closed) => client.close(closed));
    }
  });
});
