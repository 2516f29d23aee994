import { afterEach, describe, expect, test } from 'vitest';
import { indexedDbAdapter, indexedDbStorage } from '../../adapters/indexeddb/index.js';
import { TokenVault, type TokenVaultOptions, type VaultStorage } from '../../src/index.js';
import { InvalidRequestError } from '../../src/errors.js';
import { describeTokenVaultCases, dumpDatabase as dumpDatabaseOf, rawText as rawTextOf, rotatingServer } from '../shared/token-vault-cases.js';

// TokenVault in a real Chromium: real IndexedDB, real CryptoKey structured
// clone, real Web Locks. Each test uses its own database.

const run = Math.random().toString(36).slice(2, 8);
let counter = 0;
const freshName = (label: string) => `vault-${label}-${run}-${counter++}`;
const opened: TokenVault[] = [];

async function openOn(storage: VaultStorage, name: string, options: Partial<TokenVaultOptions> = {}): Promise<TokenVault> {
  const vault = await TokenVault.open({ storage, name, ...options });
  opened.push(vault);
  return vault;
}
const openVault = (name: string, options: Partial<TokenVaultOptions> = {}) => openOn(indexedDbStorage({ name }), name, options);

afterEach(async () => {
  await Promise.all(opened.splice(0).map((vault) => vault.close()));
});

// Recognizable, high-entropy secrets: a hit in the raw dump cannot be a coincidence.
const secret = (label: string) => `${label}-${crypto.randomUUID()}-${crypto.randomUUID()}`;

const rawText = (name: string) => rawTextOf(indexedDB, name);
const dumpDatabase = (name: string) => dumpDatabaseOf(indexedDB, name);

describeTokenVaultCases('Chromium', { storage: (name) => indexedDbStorage({ name }), openVault: openOn, factory: () => indexedDB });

describe('TokenVault in Chromium', () => {
  test('the persisted keys are non-extractable CryptoKeys: exportKey rejects', async () => {
    const name = freshName('keys');
    const vault = await openVault(name);
    await vault.save({ access_token: secret('at'), token_type: 'Bearer', expires_in: 3600 });
    const keyRows = (await dumpDatabase(name)).filter((row) => row.store === 'entries-keys');
    expect(keyRows).toHaveLength(1);
    const meta = keyRows[0]!.value as { mode: string; entries: { encryptionKey: unknown; lookupKey: unknown }[] };
    expect(meta.mode).toBe('generate');
    const keys = meta.entries.flatMap((entry) => [entry.encryptionKey, entry.lookupKey]);
    expect(keys).toHaveLength(2);
    for (const key of keys) {
      expect(key).toBeInstanceOf(CryptoKey);
      expect((key as CryptoKey).extractable).toBe(false);
      await expect(crypto.subtle.exportKey('raw', key as CryptoKey)).rejects.toThrow();
      await expect(crypto.subtle.exportKey('jwk', key as CryptoKey)).rejects.toThrow();
    }
    expect((keys[0] as CryptoKey).algorithm.name).toBe('AES-GCM');
    expect((keys[1] as CryptoKey).algorithm.name).toBe('HMAC');
  });

  test('no plaintext token anywhere in the raw database (and the scan finds one when it is there)', async () => {
    const name = freshName('raw');
    const tokens = { access_token: secret('at'), refresh_token: secret('rt'), id_token: secret('idt'), token_type: 'Bearer', expires_in: 3600 };
    const vault = await openVault(name, { refresh: async () => ({ ...tokens, access_token: secret('at2'), refresh_token: secret('rt2') }) });
    await vault.save(tokens);
    const text = await rawText(name);
    expect(text).toContain('tokens/current'); // the scan did read the records
    for (const value of [tokens.access_token, tokens.refresh_token, tokens.id_token]) {
      expect(text).not.toContain(value);
      expect(text).not.toContain(value.slice(0, 20));
    }
    // Control: the same scan does see a token written in plaintext into the same database.
    await indexedDbAdapter({ name }).put('control/plain', new TextEncoder().encode(tokens.refresh_token) as Uint8Array<ArrayBuffer>);
    expect(await rawText(name)).toContain(tokens.refresh_token);
  });

  test('tokens survive a reload: a new TokenVault.open on the same database reads them', async () => {
    const name = freshName('reload');
    const tokens = { access_token: secret('at'), refresh_token: secret('rt'), token_type: 'Bearer', expires_in: 3600 };
    const first = await openVault(name);
    await first.save(tokens);
    await first.close();
    const second = await openVault(name);
    expect(await second.get()).toMatchObject({ accessToken: tokens.access_token, refreshToken: tokens.refresh_token });
    expect(await second.getAccessToken()).toBe(tokens.access_token);
  });

  test('clear() removes the tokens and the keys from the database; the next login makes new keys', async () => {
    const name = freshName('clear');
    const vault = await openVault(name);
    await vault.save({ access_token: secret('at'), refresh_token: secret('rt'), token_type: 'Bearer', expires_in: 3600 });
    const keyIdBefore = ((await dumpDatabase(name)).find((row) => row.store === 'entries-keys')!.value as { entries: { id: string }[] }).entries[0]!.id;
    await vault.clear();
    expect(await dumpDatabase(name)).toEqual([]);
    expect(await vault.get()).toBeNull();
    await vault.save({ access_token: secret('at'), token_type: 'Bearer' });
    const keyIdAfter = ((await dumpDatabase(name)).find((row) => row.store === 'entries-keys')!.value as { entries: { id: string }[] }).entries[0]!.id;
    expect(keyIdAfter).not.toBe(keyIdBefore);
  });

  test('save() with a malformed response: InvalidRequestError naming the field; previous tokens intact', async () => {
    const vault = await openVault(freshName('malformed'));
    const tokens = { access_token: secret('at'), refresh_token: secret('rt'), token_type: 'Bearer', expires_in: 3600 };
    await vault.save(tokens);
    const before = await vault.get();
    const error = await vault.save({ access_token: 42, token_type: 'Bearer' } as never).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as InvalidRequestError).field).toBe('tokenResponse.access_token');
    expect(await vault.get()).toEqual(before);
  });

  test('passphrase mode at the default 600,000 iterations', async () => {
    const name = freshName('passphrase-default');
    const vault = await openVault(name, { keys: 'passphrase' });
    const started = performance.now();
    await vault.unlock('default iterations passphrase');
    const derivationMs = performance.now() - started;
    await vault.save({ access_token: secret('at'), token_type: 'Bearer' });
    const row = (await dumpDatabase(name)).find((entry) => entry.store === 'entries-keys');
    expect((row!.value as { iterations: number }).iterations).toBe(600_000);
    console.info(`PBKDF2 600k unlock in Chromium: ${derivationMs.toFixed(0)} ms`);
  });

  test('Web Locks in one page: 10 concurrent getAccessToken() over 3 vault instances refresh exactly once', async () => {
    const name = freshName('locks');
    let now = Date.now();
    const { refresh, calls } = rotatingServer(50);
    const vaults = await Promise.all([0, 1, 2].map(() => openVault(name, { refresh, now: () => now })));
    await vaults[0]!.save({ access_token: 'at-0', refresh_token: 'rt-0', token_type: 'Bearer', expires_in: 3600 });
    now += 3_600_000;
    const results = await Promise.all(Array.from({ length: 10 }, (_, index) => vaults[index % 3]!.getAccessToken()));
    expect(calls()).toBe(1);
    expect(new Set(results)).toEqual(new Set(['at-1']));
    for (const vault of vaults) expect((await vault.get())?.refreshToken).toBe('rt-1');
  });

  test('Web Locks in one page: refresh() forced at once on 3 vault instances refreshes exactly once', async () => {
    const name = freshName('forced');
    const { refresh, calls } = rotatingServer(50);
    const vaults = await Promise.all([0, 1, 2].map(() => openVault(name, { refresh })));
    await vaults[0]!.save({ access_token: 'at-0', refresh_token: 'rt-0', token_type: 'Bearer', expires_in: 3600 });
    const results = await Promise.all(vaults.map((vault) => vault.refresh()));
    expect(calls()).toBe(1);
    expect(results.map((tokens) => tokens?.refreshToken)).toEqual(['rt-1', 'rt-1', 'rt-1']);
  });

  test('negative control: the same with the cross-tab lock off refreshes more than once', async () => {
    const name = freshName('nolocks');
    let now = Date.now();
    const { refresh, calls } = rotatingServer(50);
    const vaults = await Promise.all([0, 1, 2].map(() => openVault(name, { refresh, now: () => now, locks: null })));
    await vaults[0]!.save({ access_token: 'at-0', refresh_token: 'rt-0', token_type: 'Bearer', expires_in: 3600 });
    now += 3_600_000;
    await Promise.all(Array.from({ length: 10 }, (_, index) => vaults[index % 3]!.getAccessToken()));
    expect(calls()).toBeGreaterThan(1);
  });
});
