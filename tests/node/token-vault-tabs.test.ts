import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { launchChromium } from '../support/chromium.js';
import { openTabPage, tabCall as call } from '../support/drive-tab.js';
import type { TabOpenOptions } from '../support/tab-page.js';
import { startTabServer, type TabServer } from '../support/tab-server.js';

// Several tabs of one origin in a real Chromium: pages of one browser context
// share IndexedDB, Web Locks and BroadcastChannel, exactly like tabs. Vitest
// browser mode runs tests in one page, so this Node test drives the pages
// with playwright-core. The token endpoint and its call counter live in the
// test server, shared by every tab.

let server: TabServer;
let browser: Browser;
let context: BrowserContext;
let dbCounter = 0;

beforeAll(async () => {
  [server, browser] = await Promise.all([startTabServer(), launchChromium()]);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

beforeEach(async () => {
  await context?.close();
  context = await browser.newContext();
  server.reset();
});

async function openTabs(count: number, options: Omit<TabOpenOptions, 'name'> & { name?: string }): Promise<Page[]> {
  const name = options.name ?? `tabs-${dbCounter++}`;
  const pages = await Promise.all(Array.from({ length: count }, () => openTabPage(context, server.origin)));
  for (const page of pages) await call(page, (tab, opts: TabOpenOptions) => tab.open(opts), { ...options, name });
  return pages;
}

const expired = { access_token: 'at-0', token_type: 'Bearer', expires_in: 0, refresh_token: 'rt-0' };

describe('TokenVault across tabs (Chromium, playwright-core)', () => {
  test('10 concurrent getAccessToken() over 3 tabs with an expired token: exactly one refresh; every tab sees the new pair', async () => {
    const pages = await openTabs(3, { refresh: 'server', lockTimeoutMs: 10_000 });
    await call(pages[0]!, (tab, response: Record<string, unknown>) => tab.save(response), expired);
    const started = Date.now();
    const results = await Promise.all(pages.map((page, index) => call(page, (tab, n: number) => tab.getAccessTokens(n), index === 0 ? 4 : 3)));
    const elapsed = Date.now() - started;
    console.info(`[tabs] locked: ${server.refreshCalls} refresh call(s) for 10 calls over 3 tabs in ${elapsed} ms`);
    expect(results.flat()).toHaveLength(10);
    expect(new Set(results.flat())).toEqual(new Set(['at-1']));
    expect(server.refreshCalls).toBe(1);
    expect(server.reusedRefreshTokens).toBe(0);
    for (const page of pages) {
      expect(await call(page, (tab) => tab.get())).toMatchObject({ accessToken: 'at-1', refreshToken: 'rt-1' });
    }
    // What crossed tabs: one "refreshed" notice with a storage version, and no token.
    await expect.poll(() => call(pages[2]!, (tab) => tab.rawMessages().length)).toBeGreaterThanOrEqual(2);
    const raw = await call(pages[2]!, (tab) => tab.rawMessages());
    for (const message of raw) {
      expect(Object.keys(message as object).sort()).toEqual(['kind', 'version']);
      expect(JSON.stringify(message)).not.toMatch(/at-|rt-/);
    }
    expect(raw.map((message) => (message as { kind: string }).kind).sort()).toEqual(['refreshed', 'saved']);
  });

  test('negative control: the same without the cross-tab lock makes several refresh calls (and replays a rotated token)', async () => {
    const pages = await openTabs(3, { refresh: 'server', lockTimeoutMs: 10_000, noCrossTabLock: true });
    await call(pages[0]!, (tab, response: Record<string, unknown>) => tab.save(response), expired);
    await Promise.all(pages.map((page, index) => call(page, (tab, n: number) => tab.getAccessTokens(n), index === 0 ? 4 : 3)));
    console.info(`[tabs] unlocked control: ${server.refreshCalls} refresh calls, ${server.reusedRefreshTokens} reused refresh token(s)`);
    expect(server.refreshCalls).toBeGreaterThan(1);
  });

  test('clear() in one tab: get() returns null in the other within 1 s, and its listeners hear "cleared"', async () => {
    const pages = await openTabs(2, { refresh: 'server', lockTimeoutMs: 10_000 });
    const [a, b] = [pages[0]!, pages[1]!];
    await call(a, (tab, response: Record<string, unknown>) => tab.save(response), { ...expired, expires_in: 3600 });
    expect(await call(b, (tab) => tab.get())).toMatchObject({ accessToken: 'at-0' });
    const emptied = call(b, (tab) => tab.waitForEmpty(1000));
    const clearedAt = await call(a, (tab) => tab.clear());
    const emptyAt = await emptied;
    expect(emptyAt).not.toBeNull();
    await expect.poll(() => call(b, (tab) => tab.changes().filter((change) => change.kind === 'cleared')), { timeout: 1000 }).toHaveLength(1);
    const heardAt = (await call(b, (tab) => tab.changes())).find((change) => change.kind === 'cleared')!.at;
    console.info(`[tabs] cross-tab clear: get() null after ${Math.max(0, emptyAt! - clearedAt)} ms, "cleared" event after ${heardAt - clearedAt} ms`);
    expect(await call(b, (tab) => tab.get())).toBeNull();
    expect(await call(b, (tab) => tab.rawMessages())).toContainEqual({ kind: 'cleared', version: null });
  });

  test('a tab closed while holding the refresh lock does not wedge the others', async () => {
    const name = `tabs-${dbCounter++}`;
    const [holder] = await openTabs(1, { name, refresh: 'hang', lockTimeoutMs: 60_000 });
    const others = await openTabs(2, { name, refresh: 'server', lockTimeoutMs: 5_000 });
    await call(holder!, (tab, response: Record<string, unknown>) => tab.save(response), expired);
    await call(holder!, (tab) => tab.startGetAccessToken());
    await expect.poll(() => call(holder!, (tab) => tab.refreshEntered())).toBe(1); // it holds the lock, refreshing forever
    const waiting = Promise.all(others.map((page) => call(page, (tab) => tab.getAccessTokens(2))));
    await new Promise((resolve) => setTimeout(resolve, 300)); // the others are queued behind the lock
    expect(server.refreshCalls).toBe(0);
    const closedAt = Date.now();
    await holder!.close();
    const results = (await waiting).flat();
    console.info(`[tabs] dead holder: others got tokens ${Date.now() - closedAt} ms after the holder tab closed (lock timeout 5000 ms)`);
    expect(new Set(results)).toEqual(new Set(['at-1']));
    expect(server.refreshCalls).toBe(1);
  });

  test('a live holder that never finishes: the others fail with TimeoutError after the lock timeout, not never', async () => {
    const name = `tabs-${dbCounter++}`;
    const [holder] = await openTabs(1, { name, refresh: 'hang', lockTimeoutMs: 60_000 });
    const [waiter] = await openTabs(1, { name, refresh: 'server', lockTimeoutMs: 1_000 });
    await call(holder!, (tab, response: Record<string, unknown>) => tab.save(response), expired);
    await call(holder!, (tab) => tab.startGetAccessToken());
    await expect.poll(() => call(holder!, (tab) => tab.refreshEntered())).toBe(1);
    const started = Date.now();
    const results = await call(waiter!, (tab) => tab.getAccessTokens(2));
    console.info(`[tabs] wedged live holder: waiter gave up after ${Date.now() - started} ms (lock timeout 1000 ms)`);
    expect(results).toEqual([{ error: 'ERR_TIMEOUT' }, { error: 'ERR_TIMEOUT' }]);
    expect(server.refreshCalls).toBe(0);
  });

  test('a live holder whose refresh hangs gives the lock up after its timeout, and a waiting tab then refreshes', async () => {
    const name = `tabs-${dbCounter++}`;
    const [holder] = await openTabs(1, { name, refresh: 'hang', lockTimeoutMs: 1_000 });
    const [waiter] = await openTabs(1, { name, refresh: 'server', lockTimeoutMs: 5_000 });
    await call(holder!, (tab, response: Record<string, unknown>) => tab.save(response), expired);
    await call(holder!, (tab) => tab.startGetAccessToken());
    await expect.poll(() => call(holder!, (tab) => tab.refreshEntered())).toBe(1);
    const started = Date.now();
    const results = await call(waiter!, (tab) => tab.getAccessTokens(2));
    console.info(`[tabs] hung live holder (timeout 1000 ms): waiter got tokens after ${Date.now() - started} ms`);
    expect(results).toEqual(['at-1', 'at-1']);
    expect(server.refreshCalls).toBe(1);
    expect(await call(holder!, (tab) => tab.get())).toMatchObject({ accessToken: 'at-1', refreshToken: 'rt-1' });
  });
});
