import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { launchWithProfile } from '../support/chromium.js';
import { openTabPage, tabCall as run } from '../support/drive-tab.js';
import { startTabServer, type TabServer } from '../support/tab-server.js';

// The threat model, measured on a real Chromium profile on disk: what a thief
// who copies the profile directory gets. The answer differs by key mode, and
// the README says so.

let server: TabServer;
const dirs: string[] = [];
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  server = await startTabServer();
});

afterAll(async () => {
  await Promise.all(contexts.map((context) => context.close().catch(() => undefined)));
  await server?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const tabIn = (context: BrowserContext): Promise<Page> => openTabPage(context, server.origin);

/** Every byte of every file under `dir`, as Latin-1 text (so any embedded ASCII shows). */
function profileText(dir: string): string {
  const parts: string[] = [];
  const walk = (path: string): void => {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) return;
    if (stat.isDirectory()) for (const entry of readdirSync(path)) walk(join(path, entry));
    else if (stat.isFile()) parts.push(readFileSync(path).toString('latin1'));
  };
  walk(dir);
  return parts.join('\n');
}

const secret = (label: string) => `${label}-${crypto.randomUUID()}`;

test('a copied Chromium profile: no plaintext token on disk; generate-mode tokens open from the copy, passphrase-mode ones do not', async () => {
  const profile = mkdtempSync(join(tmpdir(), 'oauth-vault-profile-'));
  dirs.push(profile);
  const generated = { access_token: secret('at'), refresh_token: secret('rt'), token_type: 'Bearer', expires_in: 3600 };
  const passphrased = { access_token: secret('pat'), refresh_token: secret('prt'), token_type: 'Bearer', expires_in: 3600 };
  const control = secret('control');

  const original = await launchWithProfile(profile);
  contexts.push(original);
  const [a, b, c] = [await tabIn(original), await tabIn(original), await tabIn(original)];
  await run(a, (tab) => tab.open({ name: 'generated', refresh: 'server', lockTimeoutMs: 5000 }));
  await run(a, (tab, response: Record<string, unknown>) => tab.save(response), generated);
  await run(b, (tab) => tab.open({ name: 'passphrased', refresh: 'server', lockTimeoutMs: 5000, passphraseIterations: 100_000 }));
  await run(b, (tab) => tab.unlock('the owner knows this'));
  await run(b, (tab, response: Record<string, unknown>) => tab.save(response), passphrased);
  await run(c, (tab, text: string) => tab.putPlain('control', text), control);
  await original.close();

  // At rest: the scan sees the unsealed control value, and none of the tokens.
  const text = profileText(profile);
  expect(text).toContain(control);
  for (const token of [generated.access_token, generated.refresh_token, passphrased.access_token, passphrased.refresh_token]) {
    expect(text).not.toContain(token);
  }

  // The thief copies the whole profile and opens it in their own browser.
  const copy = mkdtempSync(join(tmpdir(), 'oauth-vault-copy-'));
  dirs.push(copy);
  cpSync(profile, copy, { recursive: true });
  for (const name of ['SingletonLock', 'SingletonCookie', 'SingletonSocket']) rmSync(join(copy, name), { force: true });
  const stolen = await launchWithProfile(copy);
  contexts.push(stolen);
  const [d, e] = [await tabIn(stolen), await tabIn(stolen)];

  // Generate mode: the non-extractable key travels with the profile (the browser
  // serializes it into its IndexedDB files), so the copy opens the tokens.
  await run(d, (tab) => tab.open({ name: 'generated', refresh: 'server', lockTimeoutMs: 5000 }));
  expect(await run(d, (tab) => tab.get())).toMatchObject({ refreshToken: generated.refresh_token });

  // Passphrase mode: the key was never stored; the copy is locked and a guess fails.
  await run(e, (tab) => tab.open({ name: 'passphrased', refresh: 'server', lockTimeoutMs: 5000, passphraseIterations: 100_000 }));
  expect(await run(e, (tab) => tab.get().then(() => 'opened', (error: { code?: string }) => error.code))).toBe('ERR_VAULT_LOCKED');
  expect(await run(e, (tab) => tab.unlock('a guess').then(() => 'unlocked', (error: { code?: string }) => error.code))).toBe('ERR_INVALID_REQUEST');
  await stolen.close();
  // Two persistent-profile browsers, a profile copy and three PBKDF2 derivations: about 20 s alone, far more on a busy machine.
}, 90_000);
