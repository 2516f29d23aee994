import type { KeyStore } from '../../src/client/key-store.js';
import type { IdbConnection } from './connection.js';

/**
 * A {@link KeyStore} in its own object store of the same database. Values are
 * stored by structured clone, so a non-extractable `CryptoKey` is persisted as
 * itself: its bytes are never visible to JavaScript, here or after a reload.
 */
export function idbKeyStore(connection: IdbConnection, store: string): KeyStore {
  const run = <T>(mode: IDBTransactionMode, body: (os: SlotStore) => Promise<T>): Promise<T> => connection.run(store, mode, body);
  return {
    get: <T>(slot: string) => connection.read<T>(store, slot),
    // Check and create in one readwrite transaction: two tabs creating keys at once agree on one set.
    getOrCreate: <T>(slot: string, value: T) =>
      run('readwrite', async (os) => {
        const existing = (await os.get(slot)) as T | undefined;
        if (existing !== undefined) return existing;
        await os.put(value, slot);
        return value;
      }),
    clear: () => run('readwrite', (os) => os.clear()),
  };
}

interface SlotStore {
  get(key: string): Promise<unknown>;
  put(value: unknown, key: string): Promise<IDBValidKey>;
  clear(): Promise<void>;
}
