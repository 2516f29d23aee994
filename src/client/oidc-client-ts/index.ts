/**
 * `oauth-vault/oidc-client-ts`: keeps an `oidc-client-ts` app's user (access,
 * refresh and ID tokens, profile) and its sign-in state (PKCE verifiers)
 * sealed in IndexedDB under a non-extractable key, instead of plaintext
 * `sessionStorage`/`localStorage`; and, with {@link VaultUserManager}, makes
 * silent renewal single-flight across tabs and sign-out reach every tab.
 * Loads `oidc-client-ts` (your app's copy; a peer dependency) and nothing else.
 *
 * @example
 * ```ts
 * import { indexedDbStorage } from 'oauth-vault/indexeddb';
 * import { VaultUserManager, vaultStateStore } from 'oauth-vault/oidc-client-ts';
 *
 * const storage = indexedDbStorage({ name: 'my-app-oidc' });
 * const userManager = new VaultUserManager({
 *   authority: 'https://auth.example.com', client_id: 'my-spa', redirect_uri: `${location.origin}/callback`,
 *   userStore: vaultStateStore({ storage, name: 'my-app' }),
 *   stateStore: vaultStateStore({ storage, name: 'my-app', namespace: 'oidc-state' }),
 * });
 * ```
 *
 * @module
 */
import { UserManager, type SigninSilentArgs, type StateStore, type User, type UserManagerSettings } from 'oidc-client-ts';
import { SealedItems, type SealedItemsChange, type SealedItemsOptions } from '../sealed-items.js';
import { defaultLocks, withWebLock } from '../tab-sync.js';

export type { SealedItemsChange } from '../sealed-items.js';

export interface VaultStateStoreOptions extends SealedItemsOptions {
  /**
   * Keeps this store's items apart from another store's in the same database:
   * use one namespace for `userStore` (default `"oidc-user"`) and another for
   * `stateStore` (e.g. `"oidc-state"`), since oidc-client-ts sweeps every key
   * of its state store as sign-in state.
   */
  namespace?: string;
}

/** An oidc-client-ts `StateStore` whose values are sealed in the vault; see {@link vaultStateStore}. */
export interface VaultStateStore extends StateStore {
  /** The vault name (channel and lock names derive from it). */
  readonly name: string;
  /** Calls `listener` on every change here or in another tab (a kind, never a key or value). */
  onChange(listener: (change: SealedItemsChange) => void): () => void;
  /** Removes every item of this store and the keys, in every tab. */
  clear(): Promise<void>;
  /** Unlocks a store opened with `keys: "passphrase"`. */
  unlock(passphrase: string): Promise<void>;
  /** Leaves the channel and closes the storage. */
  close(): Promise<void>;
}

/**
 * A `StateStore` for `UserManagerSettings.userStore` (and `stateStore`):
 * every value sealed with AES-256-GCM under the vault's non-extractable key,
 * stored under a keyed lookup id of its key, shared by every tab of the
 * origin. Nothing is opened until the first call.
 */
export function vaultStateStore(options: VaultStateStoreOptions): VaultStateStore {
  const namespace = options.namespace ?? 'oidc-user';
  const items = new SealedItems<string>(options, namespace);
  return {
    name: items.name,
    set: async (key, value) => void (await items.set(key, value)),
    get: (key) => items.get(key),
    remove: (key) => items.remove(key),
    getAllKeys: () => items.keys(),
    onChange: (listener) => items.onChange(listener),
    clear: () => items.clear(),
    unlock: (passphrase) => items.unlock(passphrase),
    close: () => items.close(),
  };
}

/** `UserManagerSettings` whose `userStore` is a {@link vaultStateStore}. */
export type VaultUserManagerSettings = UserManagerSettings & { userStore: VaultStateStore };

/**
 * oidc-client-ts's `UserManager` on a {@link vaultStateStore}, with what the
 * store alone cannot give:
 * - **one renewal across tabs**: `signinSilent` (the automatic renewal
 *   calls it too) runs under a Web Lock; a tab that waited while another
 *   renewed returns the stored, renewed user instead of presenting a refresh
 *   token that was just rotated away;
 * - **every tab follows**: a user stored or removed in another tab raises
 *   `userLoaded` / `userUnloaded` here and resets the expiry timers.
 */
export class VaultUserManager extends UserManager {
  readonly #store: VaultStateStore;
  readonly #unsubscribe: () => void;

  constructor(settings: VaultUserManagerSettings, ...rest: ConstructorParameters<typeof UserManager> extends [unknown, ...infer R] ? R : never) {
    super(settings, ...rest);
    this.#store = settings.userStore;
    this.#unsubscribe = this.#store.onChange((change) => {
      if (change.remote) void this.#follow().catch(() => undefined);
    });
  }

  /** Renews silently (refresh token or iframe), once across tabs: see the class. */
  override async signinSilent(args?: SigninSilentArgs): Promise<User | null> {
    const before = (await this.getUser())?.refresh_token;
    const renew = async (): Promise<User | null> => {
      const current = await this.getUser();
      // Renewed by another tab while this one waited for the lock: use its result.
      if (current && before !== undefined && current.refresh_token !== before) return current;
      return super.signinSilent(args);
    };
    const locks = defaultLocks();
    if (!locks) return renew();
    const timeoutMs = ((args?.silentRequestTimeoutInSeconds ?? this.settings.silentRequestTimeoutInSeconds) + 5) * 1000;
    return withWebLock(locks, `oauth-vault:${this.#store.name}:oidc-renew`, timeoutMs, renew);
  }

  /** Stops following other tabs (the store stays open). */
  dispose(): void {
    this.#unsubscribe();
  }

  /** Another tab changed the user: load it here (timers and `userLoaded`), or unload. */
  async #follow(): Promise<void> {
    const user = await this.getUser(true);
    if (!user) await this.events.unload();
  }
}
