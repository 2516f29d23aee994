import type { StorageAdapter } from '../storage/contract.js';
import { Keyring, DEFAULT_PBKDF2_ITERATIONS, MIN_SALT_BYTES, type KeyringEntry } from '../crypto/keyring.js';
import { randomId } from '../crypto/random.js';
import { IntegrityError, InvalidRequestError, VaultLockedError } from '../errors.js';
import { RecordStore } from '../records/record-store.js';
import type { KeyStore } from './key-store.js';

/** How a vault gets its keys. */
export type VaultKeyMode = 'generate' | 'passphrase';

/** What the key store's one slot holds. Salt and iterations are not secret; the passphrase key is never stored. */
type VaultMeta =
  | { readonly mode: 'generate'; readonly entries: readonly KeyringEntry[] }
  | { readonly mode: 'passphrase'; readonly salt: string; readonly iterations: number };

const SLOT = 'vault';
const CHECK_KIND = 'vault-check';
const CHECK_ID = 'passphrase';

/**
 * The vault's keyring: generated non-extractable keys persisted as
 * `CryptoKey` objects, or a passphrase-derived keyring held only in memory
 * (locked until `unlock`). A wrong passphrase is detected with a small sealed
 * verifier record, before anything is read or written with the wrong key.
 */
export class VaultKeys {
  readonly #keyStore: KeyStore;
  readonly #adapter: StorageAdapter;
  readonly #mode: VaultKeyMode;
  readonly #iterations: number;
  #keyring: Keyring | undefined;
  /** Salt of the unlocked passphrase keyring: if the stored salt changes (a clear elsewhere), the key is stale. */
  #salt: string | undefined;

  constructor(keyStore: KeyStore, adapter: StorageAdapter, mode: VaultKeyMode, iterations = DEFAULT_PBKDF2_ITERATIONS) {
    this.#keyStore = keyStore;
    this.#adapter = adapter;
    this.#mode = mode;
    this.#iterations = iterations;
  }

  get mode(): VaultKeyMode {
    return this.#mode;
  }

  /** Passphrase mode without a derived key. */
  get locked(): boolean {
    return this.#mode === 'passphrase' && this.#keyring === undefined;
  }

  /**
   * The keyring to use. In generate mode it is re-read from the key store when
   * `fresh` (before writes: another tab may have cleared and replaced the keys)
   * and created when `create`; `null` when there are no keys and none may be made.
   * @throws VaultLockedError in passphrase mode before `unlock`.
   */
  async keyring(options: { fresh?: boolean; create?: boolean } = {}): Promise<Keyring | null> {
    if (this.#mode === 'passphrase') {
      if (this.#keyring && options.fresh) {
        const meta = await this.#keyStore.get<VaultMeta>(SLOT);
        if (meta?.mode !== 'passphrase' || meta.salt !== this.#salt) this.forget(); // cleared in another tab
      }
      if (!this.#keyring) throw new VaultLockedError();
      return this.#keyring;
    }
    if (this.#keyring && !options.fresh) return this.#keyring;
    let meta = this.#check(await this.#keyStore.get<VaultMeta>(SLOT));
    if (!meta && options.create) {
      const generated = await Keyring.generate();
      // Atomic create-if-absent: two tabs opening a new vault at once agree on one set of keys.
      meta = this.#check(await this.#keyStore.getOrCreate<VaultMeta>(SLOT, { mode: 'generate', entries: [...generated.entries] }));
    }
    if (!meta || meta.mode !== 'generate') {
      this.#keyring = undefined;
      return null;
    }
    const keyring = this.#keyring?.currentKeyId === meta.entries[0]?.id ? this.#keyring : Keyring.fromKeys(meta.entries);
    this.#keyring = keyring;
    return keyring ?? null;
  }

  /**
   * Derives the key from `passphrase` (PBKDF2) and checks it against the
   * vault's verifier; the first unlock of a new vault sets the passphrase.
   * @throws InvalidRequestError (field `passphrase`) when it is wrong; nothing is changed.
   */
  async unlock(passphrase: string): Promise<void> {
    if (this.#mode !== 'passphrase') throw new InvalidRequestError('passphrase', 'is only used by a vault opened with keys: "passphrase"');
    let meta = this.#check(await this.#keyStore.get<VaultMeta>(SLOT));
    meta ??= this.#check(
      await this.#keyStore.getOrCreate<VaultMeta>(SLOT, {
        mode: 'passphrase',
        salt: randomId(MIN_SALT_BYTES * 2),
        iterations: this.#iterations,
      }),
    );
    if (!meta || meta.mode !== 'passphrase') throw new InvalidRequestError('options.keys', 'does not match this vault');
    const keyring = await Keyring.fromPassphrase(passphrase, { salt: meta.salt, iterations: meta.iterations });
    const checks = new RecordStore({ adapter: this.#adapter, keyring }).collection<{ ok: true }>(CHECK_KIND);
    try {
      const existing = await checks.get(CHECK_ID);
      if (!existing && (await checks.create(CHECK_ID, { ok: true })) === null) {
        await checks.get(CHECK_ID); // another tab set the passphrase first: it must match theirs
      }
    } catch (error) {
      // A different passphrase derives a different key (and key id): the verifier does not open.
      if (error instanceof IntegrityError) throw new InvalidRequestError('passphrase', 'does not unlock this vault', { cause: error });
      throw error;
    }
    this.#keyring = keyring;
    this.#salt = meta.salt;
  }

  /** Drops the cached keyring; passphrase mode becomes locked. */
  forget(): void {
    this.#keyring = undefined;
    this.#salt = undefined;
  }

  /** Deletes every key and the passphrase verifier. */
  async destroy(): Promise<void> {
    this.forget();
    await this.#adapter.delete(`${CHECK_KIND}/${CHECK_ID}`);
    await this.#keyStore.clear();
  }

  #check(meta: VaultMeta | undefined): VaultMeta | undefined {
    if (meta && meta.mode !== this.#mode) {
      throw new InvalidRequestError('options.keys', `is "${this.#mode}" but this vault was created with "${meta.mode}"`);
    }
    return meta;
  }
}
