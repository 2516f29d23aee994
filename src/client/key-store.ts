import type { StorageAdapter } from '../storage/contract.js';

/**
 * Where a {@link TokenVault} keeps what must survive a reload but is not a
 * sealed record: its non-extractable `CryptoKey` objects (stored as
 * themselves, by structured clone, so the key bytes never exist in
 * JavaScript) and the passphrase salt. `oauth-vault/indexeddb` provides one in the
 * same IndexedDB database as the tokens.
 */
export interface KeyStore {
  /** Reads a slot; `undefined` when absent. */
  get<T>(slot: string): Promise<T | undefined>;
  /**
   * Stores `value` only if the slot is empty, atomically, and returns what the
   * slot holds afterwards: two tabs racing to create keys both end up with the
   * winner's keys.
   */
  getOrCreate<T>(slot: string, value: T): Promise<T>;
  /** Empties every slot. */
  clear(): Promise<void>;
}

/**
 * An in-memory {@link KeyStore}: contents are lost with the page. Used as the
 * opt-in fallback where IndexedDB is unavailable, and in tests.
 */
export function memoryKeyStore(): KeyStore {
  const slots = new Map<string, unknown>();
  return {
    async get<T>(slot: string): Promise<T | undefined> {
      return slots.get(slot) as T | undefined;
    },
    async getOrCreate<T>(slot: string, value: T): Promise<T> {
      if (!slots.has(slot)) slots.set(slot, value);
      return slots.get(slot) as T;
    },
    async clear(): Promise<void> {
      slots.clear();
    },
  };
}

/** A storage backend for a {@link TokenVault}: sealed records plus a key store. */
export interface VaultStorage {
  readonly adapter: StorageAdapter;
  readonly keyStore: KeyStore;
}
