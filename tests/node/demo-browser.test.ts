// The running demo (wrangler dev on 127.0.0.1, local Miniflare state) driven
// in a real Chromium: the SPA signs in, calls the API, refreshes, signs out.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { resolve } from 'node:path';
import type { Browser, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generateSecret } from '../../src/index.js';
import { launchChromium } from '../support/chromium.js';
import { freePort, startWranglerDev, type DevServer } from '../support/wrangler-dev.js';

const root = resolve(import.meta.dirname, '../..');
const config = resolve(root, 'examples/authorization-server/wrangler.toml');

describe('demo SPA against the running demo server, in Chromium', () => {
  let server: DevServer | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    execFileSync(process.execPath, [resolve(root, 'scripts/build-spa.mjs')], { cwd: root, stdio: 'pipe' });
    server = await startWranglerDev(config, { VAULT_SECRET: generateSecret() });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  const field = (page: Page, name: string) => page.locator(`[data-field="${name}"]`);
  const output = (page: Page) => page.locator('#output');

  /** Clicks Sign in and plays the user on the consent page, up to the SPA showing "signed in". */
  async function signIn(page: Page, user: string): Promise<void> {
    await page.click('#sign-in');
    await page.waitForURL(/\/authorize\?/);
    await page.fill('#user', user);
    await page.click('button[value="approve"]');
    await expect.poll(() => field(page, 'state').textContent(), { timeout: 15_000 }).toBe('signed in');
  }

  test('sign in, call the API, refresh, sign out', async () => {
    const context = await browser!.newContext();
    const page = await context.newPage();
    // Every request of a normal session succeeds: no 401 or 404 along the way.
    const failed: string[] = [];
    const watch = (response: Response) => {
      if (response.status() >= 400) failed.push(`${response.status()} ${response.request().method()} ${new URL(response.url()).pathname}`);
    };
    context.on('response', watch);
    await page.goto(`${server!.url}/`);
    await expect.poll(() => field(page, 'state').textContent()).toBe('signed out');

    await signIn(page, 'alice');
    expect(page.url()).toBe(`${server!.url}/`); // code and state removed from the address bar
    expect(await field(page, 'scope').textContent()).toBe('profile');

    await page.click('#call-api');
    await expect.poll(() => page.locator('#output').textContent()).toContain('"status": 200');
    expect(await page.locator('#output').textContent()).toContain('"sub": "alice"');

    const tokensBefore = await page.evaluate(() => indexedDB.databases().then((dbs) => dbs.map((db) => db.name)));
    expect(tokensBefore).toContain('oauth-vault-demo');
    await page.click('#refresh');
    await expect.poll(() => page.locator('#output').textContent()).toContain('"refreshed": true');
    expect(await output(page).getAttribute('class')).not.toBe('error');
    await page.click('#call-api');
    await expect.poll(() => page.locator('#output').textContent()).toContain('"status": 200');

    // A second tab sees the sign-out of the first.
    const other = await context.newPage();
    await other.goto(`${server!.url}/`);
    await expect.poll(() => field(other, 'state').textContent()).toBe('signed in');
    await page.click('#sign-out');
    await expect.poll(() => field(page, 'state').textContent()).toBe('signed out');
    await expect.poll(() => field(other, 'state').textContent(), { timeout: 2000 }).toBe('signed out');
    await expect.poll(() => output(page).textContent()).toContain('the grant is revoked on the server');
    expect(failed).toEqual([]);
    await context.close();
  });

  test('with the DPoP switch on: the browser\'s proofs pass the server, the tokens are DPoP-bound, calls and refresh work', async () => {
    const context = await browser!.newContext();
    const page = await context.newPage();
    const failed: string[] = [];
    context.on('response', (response: Response) => {
      if (response.status() >= 400) failed.push(`${response.status()} ${response.request().method()} ${new URL(response.url()).pathname}`);
    });
    await page.goto(`${server!.url}/`);
    await expect.poll(() => field(page, 'state').textContent()).toBe('signed out');
    // Turning it on reloads the page with a DPoP key in the vault.
    await Promise.all([page.waitForEvent('load'), page.check('#dpop')]);
    await expect.poll(() => page.locator('#dpop').isChecked()).toBe(true);
    await signIn(page, 'dora');
    expect(await page.locator('#timeline').textContent()).toContain('signed in (DPoP tokens)');
    const apiAuthorization = page.waitForRequest((request) => new URL(request.url()).pathname === '/api/me');
    await page.click('#call-api');
    await expect.poll(() => output(page).textContent()).toContain('"status": 200');
    expect(await output(page).textContent()).toContain('"sub": "dora"');
    // The token the page sent with its proof is bound: the same token as Bearer is refused (RFC 9449 §7.1).
    const sent = (await (await apiAuthorization).allHeaders()).authorization ?? '';
    expect(sent).toMatch(/^DPoP /);
    const asBearer = await fetch(`${server!.url}/api/me`, { headers: { authorization: `Bearer ${sent.slice('DPoP '.length)}` } });
    expect(asBearer.status).toBe(401);
    await page.click('#refresh');
    await expect.poll(() => output(page).textContent()).toContain('"refreshed": true');
    await page.click('#call-api');
    await expect.poll(() => output(page).textContent()).toContain('"status": 200');
    // Only the server's first nonce request (RFC 9449 §8) failed; the vault retried with the nonce.
    expect(failed).toEqual(['400 POST /token']);
    await context.close();
  });

  test('the product demo, step by step with screenshots: the fingerprint changes on rotation, other tabs\' events show in the timeline, IndexedDB holds ciphertext under a non-extractable key', async () => {
    const shots = resolve(root, 'tests/.generated/demo-screenshots');
    mkdirSync(shots, { recursive: true });
    const taken: Buffer[] = [];
    const shoot = async (page: Page, name: string) => {
      const png = await page.screenshot({ fullPage: true });
      writeFileSync(resolve(shots, `${name}.png`), png);
      expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      expect(taken.some((earlier) => earlier.equals(png)), `${name} differs from every earlier step`).toBe(false);
      taken.push(png);
    };
    const fingerprint = (page: Page) => page.locator('#fingerprint');
    const timeline = (page: Page) => page.locator('#timeline').textContent();
    const context = await browser!.newContext({ viewport: { width: 1200, height: 900 } });
    const first = await context.newPage();
    await first.goto(`${server!.url}/`);
    await expect.poll(() => field(first, 'state').textContent()).toBe('signed out');
    // The demo server verifies DPoP proofs: the toggle is offered, off until the user turns it on.
    expect(await first.locator('#dpop').isDisabled()).toBe(false);
    expect(await first.locator('#dpop').isChecked()).toBe(false);
    expect(await first.locator('#dpop-note').textContent()).toContain('takes effect at the next sign-in');
    await shoot(first, '01-signed-out');

    await signIn(first, 'fay');
    const tab1 = (await first.locator('#tab-name').textContent())!;
    const signedInPrint = (await fingerprint(first).textContent())!;
    expect(signedInPrint).toMatch(/^([0-9a-f]{2} ){5}[0-9a-f]{2}$/);
    expect(await timeline(first)).toContain('signed in (Bearer tokens)');
    await shoot(first, '02-signed-in');
    const printBefore = await fingerprint(first).screenshot();

    const second = await context.newPage();
    await second.goto(`${server!.url}/`);
    await expect.poll(() => field(second, 'state').textContent()).toBe('signed in');
    const tab2 = (await second.locator('#tab-name').textContent())!;
    expect(tab2).not.toBe(tab1);
    expect(await fingerprint(second).textContent()).toBe(signedInPrint);

    // Rotation in tab 1: its fingerprint changes (and is marked), and tab 2 follows and names tab 1 in its timeline.
    await first.click('#refresh');
    await expect.poll(() => fingerprint(first).textContent()).not.toBe(signedInPrint);
    const rotatedPrint = await fingerprint(first).textContent();
    expect(await fingerprint(first).getAttribute('class')).toContain('changed');
    expect((await fingerprint(first).screenshot()).equals(printBefore)).toBe(false);
    await shoot(first, '03-refreshed');
    await expect.poll(() => fingerprint(second).textContent()).toBe(rotatedPrint);
    await expect.poll(() => timeline(second)).toContain(`${tab1} refreshed the tokens`);
    expect(await second.locator('#timeline li.other').first().textContent()).toContain(tab1);
    await shoot(second, '04-other-tab-saw-the-refresh');

    // What is stored: ciphertext rows, non-extractable keys, and no token in the raw records.
    await first.click('#reload-stored');
    await expect.poll(() => first.locator('#stored').textContent()).toContain('ciphertext');
    const stored = (await first.locator('#stored').textContent())!;
    expect(stored).toContain('tokens/current');
    expect(stored).toMatch(/encryptionKey: CryptoKey AES-GCM, extractable: false, export refused/);
    expect(await field(first, 'plaintext').textContent()).toContain('not found');
    await shoot(first, '05-what-is-stored');

    await first.click('#call-api');
    await expect.poll(() => output(first).textContent()).toContain('"status": 200');
    await expect.poll(() => timeline(second)).toContain(`${tab1} called /api/me: 200`);

    // Sign-out in tab 2: tab 1 is signed out and its timeline names tab 2.
    await second.click('#sign-out');
    await expect.poll(() => field(first, 'state').textContent()).toBe('signed out');
    await expect.poll(() => timeline(first)).toContain(`${tab2} signed out`);
    expect(await fingerprint(first).textContent()).toBe('—');
    await shoot(first, '06-signed-out-by-other-tab');

    // An error is shown as an error: a refresh with a client id the server does not know.
    await signIn(first, 'fay');
    await first.evaluate(() => localStorage.setItem('oauth-vault-demo/client', JSON.stringify({ clientId: 'unknown-client', redirect: `${location.origin}/` })));
    await first.click('#refresh');
    await expect.poll(() => output(first).getAttribute('class'), { timeout: 5000 }).toBe('error');
    expect(await first.locator('#timeline li.fail').first().textContent()).toContain('invalid_client');
    await shoot(first, '07-error');
    await context.close();
  }, 90_000);

  test('when the server forgot the SPA (state wiped), refresh and sign-out fail visibly and at once, and sign-in registers again', async () => {
    // A server of its own on a fixed port: restarting it on fresh state keeps
    // the origin, so the SPA keeps its tokens and client id, as after
    // `rm -rf .wrangler/state` or a switch between STORAGE=kv and STORAGE=d1.
    const port = await freePort();
    const vars = { VAULT_SECRET: generateSecret() };
    let own = await startWranglerDev(config, vars, { port });
    const context = await browser!.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${own.url}/`);
      await expect.poll(() => field(page, 'state').textContent()).toBe('signed out');
      await signIn(page, 'erin');

      await own.stop();
      own = await startWranglerDev(config, vars, { port });
      await page.reload();
      await expect.poll(() => field(page, 'state').textContent()).toBe('signed in');
      // Refresh: the server answers invalid_client; the SPA says so, promptly,
      // and signs out here (its tokens belong to a client that is gone).
      await page.click('#refresh');
      await expect.poll(() => output(page).getAttribute('class'), { timeout: 5000 }).toBe('error');
      expect(await output(page).textContent()).toContain('invalid_client');
      expect(await output(page).textContent()).not.toContain('refreshed');
      await expect.poll(() => field(page, 'state').textContent(), { timeout: 5000 }).toBe('signed out');
      // Sign in again: a new registration, and a working session.
      await signIn(page, 'erin');
      await page.click('#call-api');
      await expect.poll(() => output(page).textContent()).toContain('"status": 200');

      // From here on, a client id the server does not know stands in for another wipe.
      const forgetOnServer = () =>
        page.evaluate(() => localStorage.setItem('oauth-vault-demo/client', JSON.stringify({ clientId: 'wiped-client', redirect: `${location.origin}/` })));

      // Sign out: local first, so it completes although the server cannot
      // revoke; the failed revocation is shown as a failure.
      await forgetOnServer();
      await page.click('#sign-out');
      await expect.poll(() => field(page, 'state').textContent(), { timeout: 5000 }).toBe('signed out');
      await expect.poll(() => output(page).getAttribute('class'), { timeout: 10_000 }).toBe('error');
      expect(await output(page).textContent()).toContain('signed out');
      expect(await output(page).textContent()).toContain('invalid_client');

      // Signed out with a client id the server does not know: Sign in
      // registers again instead of stopping at /authorize's error page.
      await forgetOnServer();
      await signIn(page, 'erin');
      expect(await page.evaluate(() => localStorage.getItem('oauth-vault-demo/client'))).not.toContain('wiped-client');
    } finally {
      await context.close();
      await own.stop();
    }
  }, 120_000);

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
