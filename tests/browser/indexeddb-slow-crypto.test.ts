// IndexedDB commits a transaction as soon as it has no pending request when
// control returns to the event loop, so nothing but IDB requests may be
// awaited inside one: records are sealed before the transaction opens.
// Chromium keeps a transaction alive across a Web Crypto promise, so an
// `await crypto.subtle...` moved inside one goes unnoticed in a plain run.
// Here every Web Crypto call also waits a macrotask (setTimeout 0), which
// does end a transaction: the adapter and the vault must still work.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { indexedDbAdapter, indexedDbStorage } from '../../adapters/indexeddb/index.js';
import { Keyring, TokenVault, generateSecret } from '../../src/index.js';
import { RecordStore } from '../../src/records/record-store.js';

const run = Math.random().toString(36).slice(2, 8);
const macrotask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

const METHODS = ['encrypt', 'decrypt', 'sign', 'verify', 'digest', 'importKey', 'generateKey', 'deriveKey', 'deriveBits'] as const;
const originals = new Map<string, (...args: unknown[]) => Promise<unknown>>();
let slowCalls = 0;

beforeAll(() => {
  const subtle = SubtleCrypto.prototype as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const method of METHODS) {
    const original = subtle[method]!;
    originals.set(method, original);
    subtle[method] = async function (this: SubtleCrypto, ...args: unknown[]) {
      slowCalls++;
      await macrotask();
      return original.apply(this, args);
    };
  }
});

afterAll(() => {
  const subtle = SubtleCrypto.prototype as unknown as Record<string, unknown>;
  for (const [method, original] of originals) subtle[method] = original;
});

describe('IndexedDB with Web Crypto that yields a macrotask: sealing stays outside every transaction', () => {
  test('control: a readwrite transaction awaiting the slowed Web Crypto inside it is gone by its next request', async () => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open(`slow-control-${run}`);
      request.onupgradeneeded = () => request.result.createObjectStore('entries');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const store = db.transaction('entries', 'readwrite').objectStore('entries');
    store.get('k');
    await crypto.subtle.digest('SHA-256', new Uint8Array([1]));
    expect(() => store.put(new Uint8Array([2]), 'k')).toThrow(expect.objectContaining({ name: 'TransactionInactiveError' }));
    db.close();
  });

  test('sealed records: put, compare-and-set, batch, get and delete work over the IndexedDB adapter', async () => {
    const calls = slowCalls;
    const adapter = indexedDbAdapter({ name: `slow-records-${run}` });
    const records = new RecordStore({ adapter, keyring: await Keyring.fromSecret(generateSecret()) }).collection<{ n: number }>('item');
    const version = await records.put('a', { n: 1 });
    expect(await records.compareAndSet('a', { n: 2 }, { ifVersion: version })).not.toBeNull();
    expect(await records.create('b', { n: 3 })).not.toBeNull();
    const batch = await adapter.batch!([await records.preparePut('c', { n: 4 }, { condition: { ifAbsent: true } }), records.prepareDelete('b', { ifPresent: true })]);
    expect(batch.ok).toBe(true);
    expect((await records.get('a'))?.data).toEqual({ n: 2 });
    expect(await records.get('b')).toBeNull();
    expect((await records.get('c'))?.data).toEqual({ n: 4 });
    expect(await records.delete('c')).toBe(true);
    expect(slowCalls).toBeGreaterThan(calls); // the slowed crypto was in play
  });

  test('TokenVault: save, get, refresh with rotation and clear', async () => {
    const calls = slowCalls;
    const name = `slow-vault-${run}`;
    let now = Date.now();
    const vault = await TokenVault.open({
      storage: indexedDbStorage({ name }),
      name,
      now: () => now,
      refresh: async (refreshToken) => ({ access_token: `at-after-${refreshToken}`, refresh_token: 'rt-2', token_type: 'Bearer', expires_in: 3600 }),
    });
    try {
      await vault.save({ access_token: 'at-1', refresh_token: 'rt-1', token_type: 'Bearer', expires_in: 3600 });
      expect(await vault.get()).toMatchObject({ accessToken: 'at-1', refreshToken: 'rt-1' });
      now += 3_600_000;
      expect(await vault.getAccessToken()).toBe('at-after-rt-1');
      expect((await vault.get())?.refreshToken).toBe('rt-2');
      await vault.clear();
      expect(await vault.get()).toBeNull();
    } finally {
      await vault.close();
    }
    expect(slowCalls).toBeGreaterThan(calls);
  });
});
