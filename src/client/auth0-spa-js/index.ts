/**
 * `oauth-vault/auth0-spa-js`: a cache for `@auth0/auth0-spa-js` that keeps
 * its entries (access, refresh and ID tokens) sealed in IndexedDB under a
 * non-extractable key, shared by every tab, instead of memory (lost on
 * reload, one copy per tab) or plaintext `localStorage`. Loads nothing at
 * run time but oauth-vault's own code: the SDK's types only.
 *
 * @example
 * ```ts
 * import { Auth0Client } from '@auth0/auth0-spa-js';
 * import { indexedDbStorage } from 'oauth-vault/indexeddb';
 * import { vaultCache } from 'oauth-vault/auth0-spa-js';
 *
 * const cache = vaultCache({ storage: indexedDbStorage({ name: 'my-app-auth0' }), name: 'my-app' });
 * const auth0 = new Auth0Client({ domain, clientId, cache, useRefreshTokens: true, authorizationParams: { redirect_uri: location.origin } });
 * cache.onChange(async ({ remote }) => remote && render(await auth0.isAuthenticated())); // another tab signed in or out
 * ```
 *
 * @module
 */
import type { Cacheable, ICache } from '@auth0/auth0-spa-js';
import { SealedItems, type SealedItemsChange, type SealedItemsOptions } from '../sealed-items.js';

export type { SealedItemsChange } from '../sealed-items.js';

export interface VaultCacheOptions extends SealedItemsOptions {
  /** Keeps this cache's entries apart from other stores in the same database; default `"auth0"`. */
  namespace?: string;
}

/** An auth0-spa-js `ICache` whose entries are sealed in the vault; see {@link vaultCache}. */
export interface VaultCache extends ICache {
  /** Calls `listener` on every change here or in another tab (a kind, never a key or value). */
  onChange(listener: (change: SealedItemsChange) => void): () => void;
  /** Removes every entry and the keys, in every tab. */
  clear(): Promise<void>;
  /** Unlocks a cache opened with `keys: "passphrase"`. */
  unlock(passphrase: string): Promise<void>;
  /** Leaves the channel and closes the storage. */
  close(): Promise<void>;
}

/**
 * A cache for `new Auth0Client({ cache })`: every entry sealed with
 * AES-256-GCM under the vault's non-extractable key and stored under a keyed
 * lookup id of its cache key. Because all tabs share it, auth0-spa-js's own
 * Web Lock around `getTokenSilently` (it re-reads the cache once it holds
 * the lock) makes refreshes single-flight across tabs, and `logout()` in one
 * tab empties the cache for all. Nothing is opened until the first call.
 */
export function vaultCache(options: VaultCacheOptions): VaultCache {
  const items = new SealedItems<unknown>(options, options.namespace ?? 'auth0');
  return {
    set: async <T = Cacheable>(key: string, entry: T) => void (await items.set(key, entry, (stored) => staleStrip(entry, stored))),
    get: async <T = Cacheable>(key: string) => ((await items.get(key)) ?? undefined) as T | undefined,
    remove: async (key: string) => void (await items.remove(key)),
    allKeys: () => items.keys(),
    onChange: (listener) => items.onChange(listener),
    clear: () => items.clear(),
    unlock: (passphrase) => items.unlock(passphrase),
    close: () => items.close(),
  };
}

interface WrappedEntry {
  body?: { access_token?: unknown };
  expiresAt?: unknown;
}

/**
 * Whether `incoming` is auth0-spa-js's "strip" of an expired entry (the body
 * cut down to its refresh token, written back on read) while the cache holds
 * a fresher complete entry: another tab refreshed between this tab's read and
 * its write. Writing it would put the old, rotated refresh token back over
 * the new tokens, and the next refresh would present it.
 */
function staleStrip(incoming: unknown, stored: unknown): boolean {
  const next = incoming as WrappedEntry | null;
  const current = stored as WrappedEntry | null;
  if (!next?.body || next.body.access_token !== undefined || !current?.body?.access_token) return false;
  return typeof next.expiresAt === 'number' && typeof current.expiresAt === 'number' && current.expiresAt > next.expiresAt;
}
