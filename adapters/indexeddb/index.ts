/**
 * `oauth-vault/indexeddb`: the IndexedDB adapter and the IndexedDB storage for an
 * SPA's {@link TokenVault}. This is the only entry point that loads `idb`.
 *
 * @example
 * ```ts
 * import { TokenVault } from 'oauth-vault';
 * import { indexedDbStorage } from 'oauth-vault/indexeddb';
 *
 * const vault = await TokenVault.open({
 *   storage: indexedDbStorage({ name: 'my-app-tokens' }),
 *   refresh: (refreshToken) => refreshAtMyServer(refreshToken),
 * });
 * ```
 *
 * @module
 */
import type { StorageAdapter } from '../../src/storage/contract.js';
import { memoryKeyStore, type KeyStore, type VaultStorage } from '../../src/client/key-store.js';
import { NotSupportedError } from '../../src/errors.js';
import { requireString } from '../../src/util/validate.js';
import { memoryAdapter } from '../memory/index.js';
import { IdbConnection } from './connection.js';
import { idbEntriesAdapter, INDEXEDDB_CAPABILITIES } from './entries.js';
import { idbKeyStore } from './key-store.js';

export interface IndexedDbAdapterOptions {
  /** Database name (one per vault); default `"oauth-vault"`. */
  name?: string;
  /** Object store for entries; default `"entries"`. Keys live in `"<storeName>-keys"`. */
  storeName?: string;
  /** Clock for logical expiry, epoch milliseconds (tests inject one). */
  now?: () => number;
  /**
   * Where IndexedDB is missing or refuses to open (some private modes), keep
   * everything in memory instead of failing with `NotSupportedError`. Tokens
   * and keys are then lost on reload and not shared between tabs. Off by
   * default: an app must choose this knowingly.
   */
  fallbackToMemory?: boolean;
  /**
   * The `IDBFactory` to use; default the global `indexedDB`, looked up at the
   * first operation (never at import). Pass `fake-indexeddb`'s in Node tests.
   */
  indexedDB?: IDBFactory;
  /** How long to wait when another tab blocks an upgrade; default 10 s, then a retriable `StorageError`. */
  blockedTimeoutMs?: number;
}

interface Backend {
  adapter: StorageAdapter;
  keyStore: KeyStore;
}

/**
 * Opens nothing yet: the database is opened on first use, and only then is
 * the choice between IndexedDB and the opted-in memory fallback made.
 */
interface LazyBackend {
  (): Promise<Backend>;
  /** Closes the IndexedDB connection if one is open; opens nothing. */
  close(): void;
}

function lazyBackend(options: IndexedDbAdapterOptions): LazyBackend {
  const name = requireString('options.name', options.name ?? 'oauth-vault', { max: 256 });
  const entriesStore = requireString('options.storeName', options.storeName ?? 'entries', { max: 128 });
  const now = options.now ?? Date.now;
  const connection = new IdbConnection({
    name,
    entriesStore,
    keysStore: `${entriesStore}-keys`,
    factory: () => options.indexedDB ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB,
    blockedTimeoutMs: options.blockedTimeoutMs ?? 10_000,
  });
  const idb: Backend = { adapter: idbEntriesAdapter(connection, entriesStore, now), keyStore: idbKeyStore(connection, `${entriesStore}-keys`) };
  let decided: Promise<Backend> | undefined;
  const resolve = () =>
    (decided ??= connection.database().then(
      () => idb,
      (error: unknown) => {
        if (options.fallbackToMemory && error instanceof NotSupportedError) {
          return { adapter: memoryAdapter({ now }), keyStore: memoryKeyStore() };
        }
        decided = undefined; // try again next time (the error may be transient)
        throw error;
      },
    ));
  return Object.assign(resolve, { close: () => connection.close() });
}

function forwardingAdapter(backend: LazyBackend): StorageAdapter {
  const use = async () => (await backend()).adapter;
  return {
    name: 'indexeddb',
    capabilities: INDEXEDDB_CAPABILITIES,
    get: async (key) => (await use()).get(key),
    put: async (key, value, options) => (await use()).put(key, value, options),
    compareAndSet: async (key, value, condition, options) => (await use()).compareAndSet(key, value, condition, options),
    delete: async (key, options) => (await use()).delete(key, options),
    list: async (options) => (await use()).list(options),
    batch: async (operations) => (await use()).batch!(operations),
    deleteExpired: async () => (await use()).deleteExpired!(),
    close: async () => backend.close(),
  };
}

/**
 * A StorageAdapter on IndexedDB: atomic compare-and-set and atomic batches
 * (each one readwrite transaction), logical expiry, prefix listing. Browsers
 * (and Node with `fake-indexeddb`).
 *
 * @throws NotSupportedError (from the first operation) where IndexedDB is
 * unavailable, unless `fallbackToMemory` is set.
 */
export function indexedDbAdapter(options: IndexedDbAdapterOptions = {}): StorageAdapter {
  return forwardingAdapter(lazyBackend(options));
}

/**
 * Storage for a `TokenVault`: sealed token records and the vault's
 * non-extractable `CryptoKey`s, in one IndexedDB database.
 */
export function indexedDbStorage(options: IndexedDbAdapterOptions = {}): VaultStorage {
  const backend = lazyBackend(options);
  return {
    adapter: forwardingAdapter(backend),
    keyStore: {
      async get<T>(slot: string) {
        return (await backend()).keyStore.get<T>(slot);
      },
      async getOrCreate<T>(slot: string, value: T) {
        return (await backend()).keyStore.getOrCreate<T>(slot, value);
      },
      clear: async () => (await backend()).keyStore.clear(),
    },
  };
}

export type { KeyStore, VaultStorage } from '../../src/client/key-store.js';
