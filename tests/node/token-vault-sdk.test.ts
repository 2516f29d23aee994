// oidc-client-ts and auth0-spa-js, unchanged, on oauth-vault's sealed stores,
// signing in against the running demo server (wrangler dev) in a real
// Chromium: the demo's integration pages (examples/spa/oidc.html, auth0.html).
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generateSecret } from '../../src/index.js';
import { launchChromium } from '../support/chromium.js';
import { startAuth0Shim, type Auth0Shim } from '../support/tab-auth0-shim.js';
import { startWranglerDev, type DevServer } from '../support/wrangler-dev.js';

const root = resolve(import.meta.dirname, '../..');
const config = resolve(root, 'examples/authorization-server/wrangler.toml');

let server: DevServer | undefined;
let shim: Auth0Shim | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  execFileSync(process.execPath, [resolve(root, 'scripts/build-spa.mjs')], { cwd: root, stdio: 'pipe' });
  server = await startWranglerDev(config, { VAULT_SECRET: generateSecret() });
  [shim, browser] = await Promise.all([startAuth0Shim(server.url), launchChromium()]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await shim?.close();
  await server?.stop();
});

const field = (page: Page, name: string) => page.locator(`[data-field="${name}"]`);
const state = (page: Page) => field(page, 'state').textContent();

async function openPage(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(url);
  await expect.poll(() => page.evaluate(() => 'demo' in globalThis), { timeout: 15_000 }).toBe(true);
  return page;
}

/** Clicks Sign in and plays the user on the demo's consent page, up to the page showing "signed in". */
async function signIn(page: Page, user: string): Promise<void> {
  await page.click('#sign-in');
  await page.waitForURL(/\/authorize\?/);
  await page.fill('#user', user);
  await page.click('button[value="approve"]');
  await expect.poll(() => state(page), { timeout: 15_000 }).toBe('signed in');
}

/** Every record of every IndexedDB database of the page's origin, as text (bytes as Latin-1, objects walked, keys described). */
function dumpOrigin(page: Page): Promise<string> {
  return page.evaluate(async () => {
    const text = (value: unknown): string => {
      if (typeof value === 'string') return value;
      if (value instanceof Uint8Array) return Array.from(value, (byte) => String.fromCharCode(byte)).join('');
      if (value instanceof ArrayBuffer) return text(new Uint8Array(value));
      if (value instanceof CryptoKey) return `[CryptoKey ${value.algorithm.name} extractable=${value.extractable}]`;
      if (Array.isArray(value)) return value.map(text).join('\n');
      if (value && typeof value === 'object') return Object.entries(value).map(([key, inner]) => `${key}=${text(inner)}`).join('\n');
      return String(value);
    };
    const request = <T>(r: IDBRequest<T>) => new Promise<T>((ok, fail) => ((r.onsuccess = () => ok(r.result)), (r.onerror = () => fail(r.error))));
    const out: string[] = [];
    for (const { name } of await indexedDB.databases()) {
      const db = await request(indexedDB.open(name!));
      for (const store of Array.from(db.objectStoreNames)) {
        const os = db.transaction(store, 'readonly').objectStore(store);
        const [keys, values] = await Promise.all([request(os.getAllKeys()), request(os.getAll())]);
        keys.forEach((key, index) => out.push(`${name}/${store}/${String(key)}\n${text(values[index])}`));
      }
      db.close();
    }
    return out.join('\n');
  });
}

/** The encodings a token could be stored in: as is, base64, base64url, hex, UTF-16LE, URL-encoded. */
function encodings(token: string): string[] {
  const bytes = Buffer.from(token, 'utf8');
  return [token, bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex'), Buffer.from(token, 'utf16le').toString('latin1'), encodeURIComponent(token)];
}

function expectNoToken(dump: string, tokens: string[]): void {
  expect(tokens.length).toBeGreaterThan(0);
  for (const token of tokens) {
    for (const [index, encoded] of encodings(token).entries()) expect(dump.includes(encoded), `token ${token.slice(0, 8)}… in encoding #${index}`).toBe(false);
  }
}

test('the at-rest scan finds a token in each encoding it checks (control)', () => {
  const token = 'ova_control.secret-value-1234567890';
  for (const encoded of encodings(token)) expect(() => expectNoToken(`noise ${encoded} noise`, [token])).toThrow();
});

describe('oidc-client-ts UserManager on vaultStateStore (demo server, Chromium)', () => {
  const oidcTokens = (page: Page) =>
    page.evaluate(async () => {
      const user = await (globalThis as unknown as { demo: { userManager: { getUser(): Promise<{ access_token: string; refresh_token?: string } | null> } } }).demo.userManager.getUser();
      return user ? [user.access_token, user.refresh_token ?? ''].filter(Boolean) : [];
    });

  test('sign in, reload, refresh (the fingerprint changes), API call; raw IndexedDB holds no token; sign-out in one tab signs out the others', async () => {
    const context = await browser!.newContext();
    const page = await openPage(context, `${server!.url}/oidc.html`);
    await expect.poll(() => state(page)).toBe('signed out');
    await signIn(page, 'olive');
    expect(page.url()).toBe(`${server!.url}/oidc.html`);
    const first = await field(page, 'access-token').textContent();
    expect(first).toMatch(/^[0-9a-f]{12}$/);

    const tokens = await oidcTokens(page);
    expect(tokens).toHaveLength(2);
    const dump = await dumpOrigin(page);
    expect(dump).toContain('oauth-vault-demo-oidc/entries/oidc-user/'); // the user is there, sealed
    expectNoToken(dump, tokens);

    await page.reload();
    await expect.poll(() => state(page), { timeout: 15_000 }).toBe('signed in');
    expect(await field(page, 'access-token').textContent()).toBe(first);

    await page.click('#refresh');
    await expect.poll(() => page.locator('#output').textContent()).toContain('"renewed": true');
    const second = await field(page, 'access-token').textContent();
    expect(second).not.toBe(first);
    await page.click('#call-api');
    await expect.poll(() => page.locator('#output').textContent()).toContain('"sub": "olive"');
    expectNoToken(await dumpOrigin(page), [...tokens, ...(await oidcTokens(page))]);

    const other = await openPage(context, `${server!.url}/oidc.html`);
    await expect.poll(() => state(other)).toBe('signed in');
    expect(await field(other, 'access-token').textContent()).toBe(second);
    await page.click('#sign-out');
    await expect.poll(() => state(page)).toBe('signed out');
    // The other tab hears of it (userUnloaded through VaultUserManager) without a reload.
    await expect.poll(() => state(other), { timeout: 3000 }).toBe('signed out');
    expect(await oidcTokens(other)).toEqual([]);
    expect(await dumpOrigin(other)).not.toContain('/oidc-user/');
    await context.close();
  }, 60_000);

  test('signinSilent at once in 3 tabs: one refresh request with VaultUserManager, three with the plain UserManager (control)', async () => {
    const refreshes = async (query: string) => {
      const context = await browser!.newContext();
      const signInPage = await openPage(context, `${server!.url}/oidc.html`);
      await signIn(signInPage, 'rita');
      const pages = await Promise.all([1, 2, 3].map(() => openPage(context, `${server!.url}/oidc.html${query}`)));
      let count = 0;
      context.on('request', (request) => {
        if (request.method() === 'POST' && new URL(request.url()).pathname === '/token' && request.postData()?.includes('grant_type=refresh_token')) count++;
      });
      const startAt = Date.now() + 300;
      const renewed = await Promise.all(
        pages.map((page) =>
          page.evaluate(async (at) => {
            await new Promise((resolve) => setTimeout(resolve, at - Date.now()));
            const user = await (globalThis as unknown as { demo: { userManager: { signinSilent(): Promise<{ access_token: string } | null> } } }).demo.userManager.signinSilent();
            return user?.access_token ?? null;
          }, startAt),
        ),
      );
      await context.close();
      return { count, distinct: new Set(renewed).size };
    };
    const vault = await refreshes('');
    const plain = await refreshes('?plain');
    console.info(`[oidc] signinSilent in 3 tabs at once: ${vault.count} refresh request(s) with VaultUserManager, ${plain.count} with UserManager`);
    expect(vault).toEqual({ count: 1, distinct: 1 });
    expect(plain.count).toBe(3);
  }, 90_000);
});

describe('auth0-spa-js Auth0Client with vaultCache (demo server behind tests/support/tab-auth0-shim.ts, Chromium)', () => {
  test('sign in, reload, refresh (the fingerprint changes), API call; raw IndexedDB holds no token; logout in one tab signs out the others', async () => {
    const context = await browser!.newContext();
    const page = await openPage(context, `${shim!.origin}/auth0.html`);
    await expect.poll(() => state(page)).toBe('signed out');
    await signIn(page, 'arlo');
    expect(await field(page, 'user').textContent()).toBe('arlo');
    const first = await field(page, 'access-token').textContent();
    expect(first).toMatch(/^[0-9a-f]{12}$/);
    const dump = await dumpOrigin(page);
    expect(dump).toContain('oauth-vault-demo-auth0/entries/auth0/');
    expectNoToken(dump, shim!.issuedTokens);

    await page.reload();
    await expect.poll(() => state(page), { timeout: 15_000 }).toBe('signed in');
    expect(await field(page, 'access-token').textContent()).toBe(first);

    const before = shim!.refreshRequests;
    await page.click('#refresh');
    await expect.poll(() => page.locator('#output').textContent()).toContain('"refreshed": true');
    expect(shim!.refreshRequests).toBe(before + 1);
    await expect.poll(() => field(page, 'access-token').textContent()).not.toBe(first);
    await page.click('#call-api');
    await expect.poll(() => page.locator('#output').textContent()).toContain('"sub": "arlo"');
    expectNoToken(await dumpOrigin(page), shim!.issuedTokens);

    const other = await openPage(context, `${shim!.origin}/auth0.html`);
    await expect.poll(() => state(other)).toBe('signed in');

    // The access token expires (its sealed cache entry is rewritten so); 3 tabs ask for a token at once.
    const third = await openPage(context, `${shim!.origin}/auth0.html`);
    const tabs = [page, other, third];
    const tokensAtOnce = async (cacheMode: 'on' | 'off') => {
      await page.evaluate(async () => {
        const { cache } = (globalThis as unknown as { demo: { cache: { allKeys(): Promise<string[]>; get(key: string): Promise<{ body?: { access_token?: string }; expiresAt: number } | undefined>; set(key: string, entry: unknown): Promise<void> } } }).demo;
        for (const key of await cache.allKeys()) {
          const entry = await cache.get(key);
          if (entry?.body?.access_token) await cache.set(key, { ...entry, expiresAt: Math.floor(Date.now() / 1000) - 1 });
        }
      });
      const before = shim!.refreshRequests;
      const startAt = Date.now() + 300;
      const tokens = await Promise.all(
        tabs.map((tab) =>
          tab.evaluate(
            async ([at, mode]) => {
              await new Promise((resolve) => setTimeout(resolve, at - Date.now()));
              return (globalThis as unknown as { demo: { auth0: { getTokenSilently(options: object): Promise<string> } } }).demo.auth0.getTokenSilently({ cacheMode: mode });
            },
            [startAt, cacheMode] as const,
          ),
        ),
      );
      return { refreshes: shim!.refreshRequests - before, distinct: new Set(tokens).size };
    };
    const shared = await tokensAtOnce('on');
    // Control: with the cache bypassed, every tab refreshes; the count above would show that too.
    const bypassed = await tokensAtOnce('off');
    console.info(`[auth0] expired token, getTokenSilently in 3 tabs at once: ${shared.refreshes} refresh request(s) with vaultCache; ${bypassed.refreshes} with cacheMode 'off'`);
    expect(shared).toEqual({ refreshes: 1, distinct: 1 });
    expect(bypassed.refreshes).toBe(3);
    expectNoToken(await dumpOrigin(page), shim!.issuedTokens);

    await page.click('#sign-out');
    await expect.poll(() => state(page)).toBe('signed out');
    await expect.poll(() => state(other), { timeout: 3000 }).toBe('signed out');
    expect(await dumpOrigin(other)).not.toContain('/entries/auth0/');
    await context.close();
  }, 60_000);
});
