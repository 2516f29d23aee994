// idb's wrapper checks `instanceof IDBRequest` etc. against globals, so the fake's classes must be global;
// the factory itself is still passed explicitly, one fresh instance per file.
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { indexedDbAdapter, indexedDbStorage } from '../../adapters/indexeddb/index.js';
import { IdbConnection } from '../../adapters/indexeddb/connection.js';
import { NotSupportedError } from '../../src/errors.js';
import { describeAdapterConformance } from '../../src/storage/conformance/index.js';

const factory = new IDBFactory();

describeAdapterConformance('indexeddb (fake-indexeddb, Node)', {
  create: (clock) => indexedDbAdapter({ name: 'conformance', indexedDB: factory, now: clock.now }),
});

describe('indexeddb adapter in Node', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  test('without IndexedDB: NotSupportedError on first use (not at import or construction)', async () => {
    vi.stubGlobal('indexedDB', undefined);
    const adapter = indexedDbAdapter({ name: 'nowhere' });
    await expect(adapter.get('k')).rejects.toBeInstanceOf(NotSupportedError);
    const storage = indexedDbStorage({ name: 'nowhere' });
    await expect(storage.keyStore.get('slot')).rejects.toBeInstanceOf(NotSupportedError);
  });

  test('without IndexedDB and with fallbackToMemory: works in memory', async () => {
    vi.stubGlobal('indexedDB', undefined);
    const adapter = indexedDbAdapter({ name: 'nowhere', fallbackToMemory: true });
    const version = await adapter.put('k', new Uint8Array([1, 2, 3]));
    expect((await adapter.get('k'))?.version).toBe(version);
    const storage = indexedDbStorage({ fallbackToMemory: true });
    expect(await storage.keyStore.getOrCreate('slot', { a: 1 })).toEqual({ a: 1 });
    expect(await storage.keyStore.getOrCreate('slot', { a: 2 })).toEqual({ a: 1 });
  });

  test('a factory that refuses to open (private mode) gives NotSupportedError, or the fallback when opted in', async () => {
    const refusing = {
      open() {
        throw new DOMException('denied', 'SecurityError');
      },
    } as unknown as IDBFactory;
    await expect(indexedDbAdapter({ indexedDB: refusing }).get('k')).rejects.toBeInstanceOf(NotSupportedError);
    const fallback = indexedDbAdapter({ indexedDB: refusing, fallbackToMemory: true });
    await fallback.put('k', new Uint8Array([9]));
    expect((await fallback.get('k'))?.value).toEqual(new Uint8Array([9]));
  });

  test('a connection closed behind our back is reopened', async () => {
    const adapter = indexedDbAdapter({ name: 'reopen', indexedDB: factory });
    await adapter.put('k', new Uint8Array([1]));
    await adapter.close!(); // the next call must open a new connection
    expect((await adapter.get('k'))?.value).toEqual(new Uint8Array([1]));
  });

  test('a connection closed without a close event (InvalidStateError on transaction) is replaced once, transparently', async () => {
    const connection = new IdbConnection({ name: 'silent-close', entriesStore: 'e', keysStore: 'k', factory: () => factory, blockedTimeoutMs: 1000 });
    const first = await connection.database();
    first.close(); // closed behind the connection's back: no event fires for close()
    expect(() => first.transaction(['e'], 'readonly')).toThrow(expect.objectContaining({ name: 'InvalidStateError' }));
    const tx = await connection.transaction(['e'], 'readwrite');
    await tx.objectStore('e').put!('v', 'k');
    await tx.done;
    expect(await connection.database()).not.toBe(first);
  });

  test('key store getOrCreate: of 20 concurrent creators, every one gets the first stored value', async () => {
    const { keyStore } = indexedDbStorage({ name: 'key-store-race', indexedDB: factory });
    const results = await Promise.all(Array.from({ length: 20 }, (_, index) => keyStore.getOrCreate('slot', { index })));
    expect(new Set(results.map((result) => result.index)).size).toBe(1);
    expect(await keyStore.get('slot')).toEqual(results[0]);
    await keyStore.clear();
    expect(await keyStore.get('slot')).toBeUndefined();
  });
});
