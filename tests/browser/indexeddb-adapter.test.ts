import { describe, expect, test } from 'vitest';
import { indexedDbAdapter } from '../../adapters/indexeddb/index.js';
import { StorageError } from '../../src/errors.js';
import { describeAdapterConformance } from '../../src/storage/conformance/index.js';

// A fresh database name per run: Chromium's profile may outlive one run.
const run = Math.random().toString(36).slice(2, 8);

describeAdapterConformance('indexeddb (Chromium)', {
  create: (clock) => indexedDbAdapter({ name: `conformance-${run}`, now: clock.now }),
});

describe('indexeddb adapter in Chromium', () => {
  test('a second connection that upgrades the database is not blocked: the first steps aside and reopens', async () => {
    const name = `upgrade-${run}`;
    const first = indexedDbAdapter({ name });
    await first.put('k', new Uint8Array([1]));
    // Another "tab" asks for another store: an upgrade that the first connection must not block.
    const second = indexedDbAdapter({ name, storeName: 'other', blockedTimeoutMs: 2000 });
    await second.put('k', new Uint8Array([2]));
    // The first connection was closed on versionchange; its next call reopens at the new version.
    expect((await first.get('k'))?.value).toEqual(new Uint8Array([1]));
    expect((await second.get('k'))?.value).toEqual(new Uint8Array([2]));
  });

  test('after the database is deleted under it (terminated/closed connection), the adapter reopens', async () => {
    const name = `deleted-${run}`;
    const adapter = indexedDbAdapter({ name });
    await adapter.put('k', new Uint8Array([1]));
    await new Promise<void>((resolve, reject) => {
      const request = indexedDB.deleteDatabase(name);
      request.onsuccess = () => resolve();
      request.onerror = () => reject(request.error);
    });
    expect(await adapter.get('k')).toBeNull();
    await adapter.put('k', new Uint8Array([3]));
    expect((await adapter.get('k'))?.value).toEqual(new Uint8Array([3]));
  });

  test('an upgrade blocked by an old connection that never closes: a retriable StorageError after blockedTimeoutMs, then success once it closes', async () => {
    const name = `blocked-${run}`;
    await indexedDbAdapter({ name }).put('k', new Uint8Array([1]));
    // A tab running old code: holds the database open and ignores versionchange.
    const stubborn = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open(name);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const upgrading = indexedDbAdapter({ name, storeName: 'newer', blockedTimeoutMs: 300 });
    const error = await upgrading.get('k').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).retriable).toBe(true);
    stubborn.close();
    await upgrading.put('k', new Uint8Array([2]));
    expect((await upgrading.get('k'))?.value).toEqual(new Uint8Array([2]));
  });

  test('a read resolves when its request succeeds, before its transaction completes (reads wait for nothing else)', async () => {
    const name = `read-early-${run}`;
    const adapter = indexedDbAdapter({ name });
    await adapter.put('k', new Uint8Array([1]));
    const order: string[] = [];
    const transaction = IDBDatabase.prototype.transaction;
    IDBDatabase.prototype.transaction = function (this: IDBDatabase, ...args: Parameters<IDBDatabase['transaction']>) {
      const tx = transaction.apply(this, args);
      tx.addEventListener('complete', () => order.push(`complete ${tx.mode}`));
      return tx;
    } as IDBDatabase['transaction'];
    try {
      const value = await adapter.get('k');
      order.push('get resolved');
      await adapter.put('k', new Uint8Array([2]));
      order.push('put resolved');
      expect(value?.value).toEqual(new Uint8Array([1]));
      await expect.poll(() => order.length).toBe(4);
      // A write resolves only once committed; a read does not wait for its (readonly) commit.
      expect(order).toEqual(['get resolved', 'complete readonly', 'complete readwrite', 'put resolved']);
    } finally {
      IDBDatabase.prototype.transaction = transaction;
    }
  });
});
