import { MIN_PBKDF2_ITERATIONS, type Keyring } from '../crypto/keyring.js';
import { InvalidRequestError, KeyNotFoundError } from '../errors.js';
import { RecordStore, type RecordCollection } from '../records/record-store.js';
import { optionalInteger, requireObject, requireString } from '../util/validate.js';
import { ChangeFeed, type VaultChange } from './change-feed.js';
import type { VaultStorage } from './key-store.js';
import { VaultKeys, type VaultKeyMode } from './vault-keys.js';

/** Options of the SDK stores (`oauth-vault/oidc-client-ts`, `oauth-vault/auth0-spa-js`). */
export interface SealedItemsOptions {
  /** Where sealed items and keys live: `indexedDbStorage()` from `oauth-vault/indexeddb`. */
  storage: VaultStorage;
  /** Names the cross-tab channel; tabs sharing a store use the same name. Default `"oauth-vault"`. */
  name?: string;
  /** `"generate"` (default): non-extractable keys kept in storage. `"passphrase"`: locked until `unlock`. */
  keys?: VaultKeyMode;
  /** PBKDF2 iterations for a new passphrase store; default 600,000. */
  iterations?: number;
}

/** A change of a store's items; carries no key and no value. */
export type SealedItemsChange = VaultChange<'set' | 'removed' | 'cleared'>;

interface Item<T> {
  /** The caller's key (kept inside the seal: storage keys are lookup ids). */
  k: string;
  v: T;
}

const LOOKUP_CONTEXT = 'oauth-vault/item';

/**
 * A small key/value store of JSON values for SDKs that bring their own token
 * logic: each value sealed with AES-256-GCM under the vault's keys, stored
 * under an HMAC lookup id of its key (so neither SDK cache keys nor values
 * appear in storage), with changes announced to the other tabs (a kind,
 * never a key or value). Opens lazily: the first call creates the keys.
 */
export class SealedItems<T = unknown> {
  readonly name: string;
  readonly #storage: VaultStorage;
  readonly #keys: VaultKeys;
  readonly #kind: string;
  readonly #changes: ChangeFeed<SealedItemsChange['kind']>;
  #collection: { keyring: Keyring; records: RecordCollection<Item<T>> } | undefined;

  /** @param kind the record kind of this store's items (one per use, e.g. `oidc-user`). */
  constructor(options: SealedItemsOptions, kind: string) {
    requireObject('options', options);
    const storage = requireObject('options.storage', options.storage) as unknown as VaultStorage;
    requireObject('options.storage.adapter', storage.adapter);
    requireObject('options.storage.keyStore', storage.keyStore);
    this.name = requireString('options.name', options.name ?? 'oauth-vault', { max: 128 });
    const mode = options.keys ?? 'generate';
    if (mode !== 'generate' && mode !== 'passphrase') throw new InvalidRequestError('options.keys', 'must be "generate" or "passphrase"');
    const iterations = optionalInteger('options.iterations', options.iterations, MIN_PBKDF2_ITERATIONS, 10_000_000);
    this.#storage = storage;
    this.#kind = kind;
    this.#keys = new VaultKeys(storage.keyStore, storage.adapter, mode, iterations);
    this.#changes = new ChangeFeed(`oauth-vault:${this.name}:${kind}`, ['set', 'removed', 'cleared'], (message) => {
      if (message.kind === 'cleared') this.#keys.forget();
    });
  }

  /** True in passphrase mode until `unlock`. */
  get locked(): boolean {
    return this.#keys.locked;
  }

  /** Unlocks a passphrase store (the first unlock sets the passphrase). */
  unlock(passphrase: string): Promise<void> {
    return this.#keys.unlock(passphrase);
  }

  /** The value stored under `key`, or `null`. */
  async get(key: string): Promise<T | null> {
    const keyring = await this.#keys.keyring({ create: this.#keys.mode === 'generate' });
    if (!keyring) return null;
    try {
      return await this.#read(keyring, key);
    } catch (error) {
      // Written under keys another tab created after a clear: reload them once.
      if (!(error instanceof KeyNotFoundError) || this.#keys.mode !== 'generate') throw error;
      const reloaded = await this.#keys.keyring({ fresh: true });
      return reloaded ? this.#read(reloaded, key) : null;
    }
  }

  /**
   * Stores `value` under `key` (sealed), replacing what was there — unless
   * `keep` says the stored value must stay (checked and written by
   * compare-and-set, so a tab writing meanwhile is never overwritten
   * unchecked). Writing the value already stored changes nothing and tells no
   * one: SDKs write on read (auth0-spa-js rewrites an expired entry each time
   * it reads it), and tabs that re-read on every change would otherwise echo
   * each other forever.
   * @returns whether it was written.
   */
  async set(key: string, value: T, keep?: (stored: T) => boolean): Promise<boolean> {
    requireString('key', key, { max: 4096 });
    const keyring = (await this.#keys.keyring({ fresh: true, create: true }))!;
    const records = this.#records(keyring);
    const id = await this.#id(keyring, key);
    const item: Item<T> = { k: key, v: value };
    for (let attempt = 0; attempt < 3; attempt++) {
      const existing = await records.get(id).catch(() => null);
      if (existing && (JSON.stringify(existing.data) === JSON.stringify(item) || keep?.(existing.data.v))) return false;
      const version = await records.compareAndSet(id, item, existing ? { ifVersion: existing.version } : { ifAbsent: true });
      if (version !== null) {
        this.#changes.publish({ kind: 'set', version });
        return true;
      }
    }
    // Three writers in a row won over this one: theirs are newer; this value is dropped.
    return false;
  }

  /** Removes `key`; returns the value it had, or `null`. Tells the other tabs only when something was removed. */
  async remove(key: string): Promise<T | null> {
    const keyring = await this.#keys.keyring({ fresh: true });
    if (!keyring) return null;
    const records = this.#records(keyring);
    const id = await this.#id(keyring, key);
    const existing = await records.get(id).catch(() => null);
    if (!(await records.delete(id))) return null;
    this.#changes.publish({ kind: 'removed', version: null });
    return existing?.data.v ?? null;
  }

  /** Every key stored (items that no longer open are skipped). */
  async keys(): Promise<string[]> {
    const keyring = await this.#keys.keyring({ fresh: true });
    if (!keyring) return [];
    const keys: string[] = [];
    for await (const id of this.#records(keyring).ids()) {
      const item = await this.#records(keyring).get(id).catch(() => null);
      if (item) keys.push(item.data.k);
    }
    return keys;
  }

  /** Removes every item and the keys, here and in every tab. */
  async clear(): Promise<void> {
    const keyring = await this.#keys.keyring({ fresh: true }).catch(() => null);
    if (keyring) {
      const records = this.#records(keyring);
      const ids: string[] = [];
      for await (const id of records.ids()) ids.push(id);
      for (const id of ids) await records.delete(id);
    }
    await this.#keys.destroy();
    this.#changes.publish({ kind: 'cleared', version: null });
  }

  /** Calls `listener` on every change, here or in another tab. Returns the unsubscribe function. */
  onChange(listener: (change: SealedItemsChange) => void): () => void {
    return this.#changes.subscribe(listener);
  }

  /** Leaves the channel and closes the storage. */
  async close(): Promise<void> {
    this.#changes.close();
    await this.#storage.adapter.close?.();
  }

  async #read(keyring: Keyring, key: string): Promise<T | null> {
    const item = await this.#records(keyring).get(await this.#id(keyring, key));
    return item && item.data.k === key ? item.data.v : null;
  }

  #id(keyring: Keyring, key: string): Promise<string> {
    return keyring.lookupId(`${LOOKUP_CONTEXT}/${this.#kind}`, key);
  }

  #records(keyring: Keyring): RecordCollection<Item<T>> {
    if (this.#collection?.keyring !== keyring) {
      this.#collection = { keyring, records: new RecordStore({ adapter: this.#storage.adapter, keyring }).collection<Item<T>>(this.#kind) };
    }
    return this.#collection.records;
  }
}
