import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { launchChromium } from '../support/chromium.js';
import { openTabPage, tabCall as call } from '../support/drive-tab.js';
import type { TabOpenOptions } from '../support/tab-page.js';
import { startResourceServer, type ResourceServer } from '../support/tab-resource-server.js';

// vault.fetch and DPoP in a real Chromium, tabs as pages of one context. The
// token endpoint and the protected resource are tests/support/tab-resource-server.ts,
// which verifies DPoP proofs with jose and counts every call for all tabs.

let server: ResourceServer;
let browser: Browser;
let context: BrowserContext;
let dbCounter = 0;

beforeAll(async () => {
  [server, browser] = await Promise.all([startResourceServer(), launchChromium()]);
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

type Options = Omit<TabOpenOptions, 'name' | 'refresh' | 'lockTimeoutMs'> & { name?: string };

async function openTabs(count: number, options: Options = {}): Promise<{ pages: Page[]; name: string }> {
  const name = options.name ?? `fetch-${dbCounter++}`;
  const pages = await Promise.all(Array.from({ length: count }, () => openTabPage(context, server.origin)));
  for (const page of pages) {
    await call(page, (tab, opts: TabOpenOptions) => tab.open(opts), { refresh: 'server', lockTimeoutMs: 10_000, tokenPath: '/token', ...options, name });
  }
  return { pages, name };
}

/** `perTab` concurrent vault.fetch calls in every tab, all tabs starting at one instant (a busy machine delays each tab's call differently). */
async function fetchEverywhere(pages: Page[], perTab: number) {
  const startAt = Date.now() + 300;
  const all = await Promise.all(pages.map((page) => call(page, (tab, [n, at]: [number, number]) => tab.fetchMany(n, '/resource', at), [perTab, startAt] as [number, number])));
  return all.flat();
}

describe('vault.fetch across tabs (Chromium)', () => {
  test('20 concurrent calls in each of 3 tabs with an expired token: one refresh, 60 calls answered with the new token', async () => {
    const { pages } = await openTabs(3);
    await call(pages[0]!, (tab) => tab.login());
    // The stored token expired (the vault decides by expires_in); the server still has rt-1 live.
    await call(pages[0]!, (tab) => tab.save({ access_token: 'at-1', token_type: 'Bearer', expires_in: 0, refresh_token: 'rt-1' }));
    server.resetCounts();
    const outcomes = await fetchEverywhere(pages, 20);
    console.info(`[fetch] expired token: ${server.counts.refresh} refresh(es), ${server.counts.resource} resource calls for 60 fetches over 3 tabs`);
    expect(outcomes).toHaveLength(60);
    expect(outcomes.every((outcome) => outcome.status === 200 && (outcome.body as { token: string }).token === 'at-2')).toBe(true);
    expect(server.counts.refresh).toBe(1);
    expect(server.counts.reused).toBe(0);
    expect(server.counts.resource).toBe(60);
  });

  test('401 invalid_token on 20 concurrent calls in each of 3 tabs: one refresh, each call retried once, all succeed', async () => {
    const { pages } = await openTabs(3);
    await call(pages[0]!, (tab) => tab.login());
    server.expireAccessTokens(); // valid for the vault, refused by the resource (revoked, or expired early)
    server.resetCounts();
    const outcomes = await fetchEverywhere(pages, 20);
    console.info(`[fetch] 401 invalid_token: ${server.counts.refresh} refresh(es), ${server.counts.resource} resource calls for 60 fetches over 3 tabs`);
    expect(outcomes.every((outcome) => outcome.status === 200 && (outcome.body as { token: string }).token === 'at-2')).toBe(true);
    expect(server.counts.refresh).toBe(1);
    expect(server.counts.reused).toBe(0);
    expect(server.counts.resource).toBe(120); // each call: the refused send and one retry
  });

  test('negative control: with the cross-tab lock off, the same 401s make more than one refresh (and present a rotated token)', async () => {
    const { pages } = await openTabs(3, { noCrossTabLock: true });
    await call(pages[0]!, (tab) => tab.login());
    server.expireAccessTokens();
    server.resetCounts();
    server.tokenDelayMs = 1_000;
    await fetchEverywhere(pages, 20);
    expect(server.counts.refresh).toBeGreaterThan(1);
  });

  test('a second 401 is returned as the answer: one refresh, two sends per call, no loop', async () => {
    const { pages } = await openTabs(3);
    await call(pages[0]!, (tab) => tab.login());
    server.resetCounts();
    server.rejectAll = true;
    const outcomes = await fetchEverywhere(pages, 20);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(Array(60).fill(401));
    expect(server.counts.refresh).toBe(1);
    expect(server.counts.resource).toBe(120);
  });

  test('aborting a call that waits for a refresh rejects at once with AbortError; the shared refresh still completes', async () => {
    const { pages } = await openTabs(1);
    const page = pages[0]!;
    await call(page, (tab) => tab.login());
    await call(page, (tab) => tab.save({ access_token: 'at-1', token_type: 'Bearer', expires_in: 0, refresh_token: 'rt-1' }));
    server.resetCounts();
    server.tokenDelayMs = 1_000;
    const [aborted, waited] = await Promise.all([
      call(page, async (tab) => {
        const started = Date.now();
        const outcome = await tab.fetchOnce('/resource', 100);
        return { ...outcome, elapsed: Date.now() - started };
      }),
      call(page, (tab) => tab.fetchOnce('/resource')),
    ]);
    expect(aborted.error).toMatch(/^AbortError/);
    expect(aborted.elapsed).toBeLessThan(900);
    expect(waited.status).toBe(200);
    expect(server.counts.refresh).toBe(1);
    expect(server.counts.resource).toBe(1); // the aborted call never sent its request
  });

  test('no tokens: InvalidGrantError, and nothing is sent', async () => {
    const { pages } = await openTabs(1);
    expect(await call(pages[0]!, (tab) => tab.fetchOnce())).toMatchObject({ error: 'ERR_INVALID_GRANT' });
    expect(server.counts.resource).toBe(0);
  });
});

describe('DPoP from the browser (Chromium, proofs verified with jose)', () => {
  test('a DPoP-bound token works through vault.fetch; the same token as Bearer is refused; proofs carry no private key', async () => {
    const { pages } = await openTabs(1, { dpop: true });
    const page = pages[0]!;
    expect(await call(page, (tab) => tab.login())).toBe('DPoP');
    const thumbprint = await call(page, (tab) => tab.dpopThumbprint());
    expect(server.binding('at-1')).toBe(thumbprint);
    expect(await call(page, (tab) => tab.fetchOnce())).toMatchObject({ status: 200, body: { token: 'at-1' } });
    // The same token without its proof, as a bearer token: refused.
    expect(await call(page, (tab) => tab.rawFetch('/resource', { Authorization: 'Bearer at-1' }))).toEqual({ status: 401, challenge: 'DPoP error="invalid_token", algs="ES256"' });
    // With the DPoP scheme but no proof: refused too.
    expect(await call(page, (tab) => tab.rawFetch('/resource', { Authorization: 'DPoP at-1' }))).toMatchObject({ status: 401 });
    expect(server.counts.refusedProofs).toEqual(['resource:missing']);
  });

  test('refresh of a DPoP-bound refresh token sends a proof by the same key; 3 tabs share the key and one refresh', async () => {
    const { pages } = await openTabs(3, { dpop: true });
    await call(pages[0]!, (tab) => tab.login());
    const thumbprints = await Promise.all(pages.map((page) => call(page, (tab) => tab.dpopThumbprint())));
    expect(new Set(thumbprints).size).toBe(1);
    server.expireAccessTokens();
    server.resetCounts();
    const outcomes = await fetchEverywhere(pages, 5);
    expect(outcomes.every((outcome) => outcome.status === 200)).toBe(true);
    expect(server.counts.refresh).toBe(1);
    expect(server.binding('at-2')).toBe(thumbprints[0]);
    expect(server.counts.refusedProofs).toEqual([]);
  });

  test('server nonces: use_dpop_nonce at the token endpoint and at the resource are answered with one retry each', async () => {
    const { pages } = await openTabs(1, { dpop: true });
    const page = pages[0]!;
    server.nonces = { token: true, resource: true };
    expect(await call(page, (tab) => tab.login())).toBe('DPoP');
    expect(server.counts.token).toBe(2); // refused for the nonce, then accepted with it
    // One origin is one server here: the nonce learned at /token is sent to /resource too (one send).
    expect(await call(page, (tab) => tab.fetchOnce())).toMatchObject({ status: 200 });
    expect(server.counts.resource).toBe(1);
    // The server rotates its nonce: the resource's use_dpop_nonce costs one retry, never more.
    server.rotateNonce();
    expect(await call(page, (tab) => tab.fetchOnce())).toMatchObject({ status: 200 });
    expect(server.counts.resource).toBe(3);
    expect(await call(page, (tab) => tab.fetchOnce())).toMatchObject({ status: 200 });
    expect(server.counts.resource).toBe(4);
    // And a refresh after another rotation: the token endpoint's use_dpop_nonce, one retry.
    server.rotateNonce();
    server.expireAccessTokens();
    expect(await call(page, (tab) => tab.fetchOnce())).toMatchObject({ status: 200, body: { token: 'at-2' } });
    expect(server.counts.token).toBe(4);
    expect(server.counts.refusedProofs).toEqual(['token:nonce', 'resource:nonce', 'token:nonce']);
  });

  test('the key is a non-extractable ECDSA P-256 key in the vault, kept across a reload and cleared with the tokens in every tab', async () => {
    const { pages, name } = await openTabs(2, { dpop: true });
    await call(pages[0]!, (tab) => tab.login());
    const before = await call(pages[1]!, (tab) => tab.dpopThumbprint());
    expect(await call(pages[0]!, (tab, db: string) => tab.dpopKeyRecord(db), name)).toEqual({
      privateExtractable: false,
      publicExtractable: true,
      algorithm: 'ECDSA P-256',
      exportRefused: true,
    });
    await pages[0]!.reload();
    await pages[0]!.waitForFunction(() => 'tab' in globalThis);
    await call(pages[0]!, (tab, opts: TabOpenOptions) => tab.open(opts), { name, refresh: 'server', lockTimeoutMs: 10_000, tokenPath: '/token', dpop: true });
    expect(await call(pages[0]!, (tab) => tab.dpopThumbprint())).toBe(before);
    expect(await call(pages[0]!, (tab) => tab.fetchOnce())).toMatchObject({ status: 200 });

    await call(pages[0]!, (tab) => tab.clear());
    expect(await call(pages[0]!, (tab, db: string) => tab.dpopKeyRecord(db), name)).toBeNull();
    await expect.poll(() => call(pages[1]!, (tab) => tab.changes().some((change) => change.kind === 'cleared' && change.remote))).toBe(true);
    // The other tab dropped the old key: its next sign-in is bound to a new one.
    expect(await call(pages[1]!, (tab) => tab.login())).toBe('DPoP');
    const after = await call(pages[1]!, (tab) => tab.dpopThumbprint());
    expect(after).not.toBe(before);
    expect(server.binding('at-2')).toBe(after);
  });
});
