import { describe, expect, test, vi } from 'vitest';
import type { StorageAdapter } from '../../src/storage/contract.js';
import type { TokenVault, TokenVaultChange, TokenVaultOptions, VaultStorage } from '../../src/index.js';
import { InvalidRequestError, TimeoutError, VaultLockedError } from '../../src/errors.js';

/**
 * TokenVault test bodies written once and run in every runtime that has an
 * IndexedDB: Node over fake-indexeddb (tests/node/token-vault.test.ts) and a
 * real Chromium (tests/browser/token-vault.test.ts). Each file passes how it
 * opens a vault and which IDBFactory to inspect.
 */

/** A fake token endpoint that rotates and counts: each call returns a new pair `at-n` / `rt-n`. */
export function rotatingServer(delayMs = 20) {
  let calls = 0;
  const refresh = async (refreshToken: string) => {
    calls++;
    const n = calls;
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    return { access_token: `at-${n}`, token_type: 'Bearer', expires_in: 3600, refresh_token: `rt-${n}`, seen: refreshToken };
  };
  return { refresh, calls: () => calls };
}

function rawRequest<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

export interface RawRow {
  store: string;
  key: IDBValidKey;
  value: unknown;
}

/** Every key and value of every object store, read with the plain IndexedDB API. */
export async function dumpDatabase(factory: IDBFactory, name: string): Promise<RawRow[]> {
  const db = await rawRequest(factory.open(name));
  try {
    const rows: RawRow[] = [];
    for (const store of Array.from(db.objectStoreNames)) {
      const tx = db.transaction(store, 'readonly');
      const [keys, values] = await Promise.all([rawRequest(tx.objectStore(store).getAllKeys()), rawRequest(tx.objectStore(store).getAll())]);
      keys.forEach((key, index) => rows.push({ store, key, value: values[index] }));
    }
    return rows;
  } finally {
    db.close();
  }
}

/** A text view of stored values: strings as is, bytes decoded as Latin-1 (so any embedded UTF-8 shows), objects walked. */
function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Array.from(value, (byte) => String.fromCharCode(byte)).join('');
  if (value instanceof ArrayBuffer) return textOf(new Uint8Array(value));
  if (value instanceof CryptoKey) return `[CryptoKey ${value.algorithm.name}]`;
  if (Array.isArray(value)) return value.map(textOf).join('\n');
  if (value && typeof value === 'object') return Object.entries(value).map(([key, inner]) => `${key}=${textOf(inner)}`).join('\n');
  return String(value);
}

/** Everything stored in the database as one searchable text. */
export async function rawText(factory: IDBFactory, name: string): Promise<string> {
  return (await dumpDatabase(factory, name)).map((row) => `${row.store}:${String(row.key)}\n${textOf(row.value)}`).join('\n');
}

export interface TokenVaultCaseSetup {
  /** IndexedDB storage for the database `name` (the file closes the vaults it opens). */
  storage: (name: string) => VaultStorage;
  /** Opens a vault on `storage` and registers it to be closed after the test. */
  openVault: (storage: VaultStorage, name: string, options?: Partial<TokenVaultOptions>) => Promise<TokenVault>;
  /** The factory `storage` uses, to inspect the raw database. */
  factory: () => IDBFactory;
}

const login = { access_token: 'at-0', token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt-0', scope: 'openid api' };

/** Wraps a storage so a test can see each compare-and-set's outcome (to know a background write has finished). */
function watchCompareAndSet(storage: VaultStorage): { storage: VaultStorage; results: (string | null)[] } {
  const results: (string | null)[] = [];
  const adapter: StorageAdapter = {
    ...storage.adapter,
    compareAndSet: async (...args) => {
      const result = await storage.adapter.compareAndSet(...args);
      results.push(result);
      return result;
    },
  };
  return { storage: { adapter, keyStore: storage.keyStore }, results };
}

/** Wraps a storage to count reads of token records and of the key store. */
function countReads(storage: VaultStorage): { storage: VaultStorage; reads: { records: number; keys: number } } {
  const reads = { records: 0, keys: 0 };
  const adapter: StorageAdapter = {
    ...storage.adapter,
    get: (key) => {
      reads.records++;
      return storage.adapter.get(key);
    },
  };
  const keyStore = {
    ...storage.keyStore,
    get: <T>(slot: string) => {
      reads.keys++;
      return storage.keyStore.get<T>(slot);
    },
  };
  return { storage: { adapter, keyStore }, reads };
}

export function describeTokenVaultCases(label: string, setup: TokenVaultCaseSetup): void {
  const run = Math.random().toString(36).slice(2, 8);
  let counter = 0;
  const freshName = (what: string) => `vault-cases-${what}-${run}-${counter++}`;
  const open = (name: string, options: Partial<TokenVaultOptions> = {}) => setup.openVault(setup.storage(name), name, options);

  describe(`TokenVault (${label})`, () => {
    test('passphrase mode (100,000 iterations): locked until the right passphrase; a wrong one is a typed error and loses nothing; nothing derived is stored', async () => {
      const name = freshName('passphrase');
      const options = { keys: 'passphrase', iterations: 100_000 } as const;
      const first = await open(name, options);
      expect(first.locked).toBe(true);
      await expect(first.get()).rejects.toBeInstanceOf(VaultLockedError);
      await expect(first.save(login)).rejects.toBeInstanceOf(VaultLockedError);
      await first.unlock('correct horse battery staple');
      await first.save(login);
      await first.close();

      const reopened = await open(name, options);
      expect(reopened.locked).toBe(true);
      await expect(reopened.get()).rejects.toBeInstanceOf(VaultLockedError);
      await expect(reopened.getAccessToken()).rejects.toBeInstanceOf(VaultLockedError);
      const wrong = await reopened.unlock('wrong horse').catch((caught: unknown) => caught);
      expect(wrong).toBeInstanceOf(InvalidRequestError);
      expect((wrong as InvalidRequestError).field).toBe('passphrase');
      expect(reopened.locked).toBe(true);
      await reopened.unlock('correct horse battery staple');
      expect(await reopened.get()).toMatchObject({ accessToken: login.access_token, refreshToken: login.refresh_token });
      // Nothing derived from the passphrase is stored: only the mode, salt and iteration count.
      const keyRows = (await dumpDatabase(setup.factory(), name)).filter((row) => row.store === 'entries-keys');
      expect(keyRows.map((row) => Object.keys(row.value as object).sort())).toEqual([['iterations', 'mode', 'salt']]);
      expect(await rawText(setup.factory(), name)).not.toContain(login.refresh_token);
      // The mode is part of the vault: opening it in the other mode is refused.
      await expect(open(name, { keys: 'generate' })).rejects.toBeInstanceOf(InvalidRequestError);
    });

    test('get() and getAccessToken() cost one record read and one AES-GCM open; keys written by another tab are reloaded without a second read', async () => {
      const name = freshName('one-read');
      const counted = countReads(setup.storage(name));
      const vault = await setup.openVault(counted.storage, name);
      await vault.save(login);
      const decrypt = vi.spyOn(crypto.subtle, 'decrypt');
      try {
        counted.reads.records = 0;
        counted.reads.keys = 0;
        expect(await vault.get()).toMatchObject({ accessToken: 'at-0' });
        expect(await vault.getAccessToken()).toBe('at-0');
        expect(counted.reads).toEqual({ records: 2, keys: 0 });
        expect(decrypt).toHaveBeenCalledTimes(2);

        // Another tab clears and signs in again under new keys, before its message arrives (here: never; another channel).
        const other = await setup.openVault(setup.storage(name), `${name}-elsewhere`);
        await other.clear();
        await other.save({ ...login, access_token: 'at-other' });
        counted.reads.records = 0;
        counted.reads.keys = 0;
        decrypt.mockClear();
        expect(await vault.get()).toMatchObject({ accessToken: 'at-other' });
        // The entry read once is opened again under the reloaded keys (the first open fails before decrypting: unknown key id).
        expect(counted.reads).toEqual({ records: 1, keys: 1 });
        expect(decrypt).toHaveBeenCalledTimes(1);
      } finally {
        decrypt.mockRestore();
      }
    });

    test('a refresh answered after lockTimeoutMs: callers get TimeoutError, and the late rotated tokens are still stored', async () => {
      let time = Date.now();
      let answer: ((response: typeof login) => void) | undefined;
      const name = freshName('late');
      const watched = watchCompareAndSet(setup.storage(name));
      const vault = await setup.openVault(watched.storage, name, {
        now: () => time,
        lockTimeoutMs: 100,
        // Ignores its signal, as many hand-written refresh functions do.
        refresh: () => new Promise((resolve) => (answer = resolve)),
      });
      await vault.save(login);
      time += 3_600_000;
      await expect(vault.getAccessToken()).rejects.toBeInstanceOf(TimeoutError);
      const changes: TokenVaultChange[] = [];
      vault.onChange((change) => changes.push(change));
      // The server did rotate: dropping this answer would leave the vault presenting rt-0, a reused token.
      answer!({ ...login, access_token: 'at-late', refresh_token: 'rt-late' });
      await expect.poll(() => watched.results.length).toBe(1);
      expect(watched.results[0]).not.toBeNull();
      expect(await vault.get()).toMatchObject({ accessToken: 'at-late', refreshToken: 'rt-late' });
      expect(changes).toEqual([{ kind: 'refreshed', version: watched.results[0], remote: false }]);
    });

    test('a late refresh answer never overwrites a newer login (compare-and-set on the record it refreshed)', async () => {
      let time = Date.now();
      let answer: ((response: typeof login) => void) | undefined;
      const name = freshName('late-lost');
      const watched = watchCompareAndSet(setup.storage(name));
      const vault = await setup.openVault(watched.storage, name, {
        now: () => time,
        lockTimeoutMs: 100,
        refresh: () => new Promise((resolve) => (answer = resolve)),
      });
      await vault.save(login);
      time += 3_600_000;
      await expect(vault.getAccessToken()).rejects.toBeInstanceOf(TimeoutError);
      await vault.save({ ...login, access_token: 'at-new-login', refresh_token: 'rt-new-login' });
      answer!({ ...login, access_token: 'at-late', refresh_token: 'rt-late' });
      await expect.poll(() => watched.results.length).toBe(1);
      expect(watched.results[0]).toBeNull();
      expect(await vault.get()).toMatchObject({ accessToken: 'at-new-login', refreshToken: 'rt-new-login' });
    });
  });
}
