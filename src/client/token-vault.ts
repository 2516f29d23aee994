import { MIN_PBKDF2_ITERATIONS, type Keyring } from '../crypto/keyring.js';
import { InvalidRequestError, KeyNotFoundError, TimeoutError, VaultError } from '../errors.js';
import { authorizedFetch, proofFetch, type FetchContext } from './authorized-fetch.js';
import { RecordStore, type RecordCollection, type StoredRecord } from '../records/record-store.js';
import { optionalInteger, requireObject, requireString } from '../util/validate.js';
import { BackgroundRefresh, type BackgroundRefreshOptions } from './background-refresh.js';
import { ChangeFeed, type TokenVaultChange } from './change-feed.js';
import { DpopProofs, type DpopSigner } from './dpop-proofs.js';
import type { VaultStorage } from './key-store.js';
import { callRefresh, type RefreshFunction } from './refresh-call.js';
import { defaultLocks, withWebLock, type LockManagerLike } from './tab-sync.js';
import { expiresWithin, parseTokenResponse, type TokenResponse, type TokenSet } from './token-set.js';
import { VaultKeys, type VaultKeyMode } from './vault-keys.js';

export type { RefreshContext, RefreshFunction } from './refresh-call.js';
export type { DpopProofClaims, DpopSigner } from './dpop-proofs.js';
export type { TokenVaultChange } from './change-feed.js';

export interface TokenVaultOptions {
  /** Where sealed tokens and keys live: `indexedDbStorage()` from `oauth-vault/indexeddb`. */
  storage: VaultStorage;
  /** Names the cross-tab lock and channel; tabs sharing a vault must use the same name. Default `"oauth-vault"`. */
  name?: string;
  /** `"generate"` (default): random non-extractable keys kept in storage. `"passphrase"`: PBKDF2, never stored; locked until `unlock`. */
  keys?: VaultKeyMode;
  /** PBKDF2 iterations for a new passphrase vault; default 600,000, at least 100,000. */
  iterations?: number;
  /** Refreshes tokens; without it `getAccessToken()` never refreshes. */
  refresh?: RefreshFunction;
  /** Refresh when the access token expires within this many ms; default 60,000. */
  refreshSkewMs?: number;
  /**
   * Longest wait for the cross-tab refresh lock, and longest a refresh may
   * take; default 10,000 ms. A refresh that takes longer is abandoned: its
   * signal aborts and callers get `TimeoutError`. The server may still have
   * rotated the refresh token, so the next refresh can present a token the
   * server considers reused, and a rotating server then revokes the grant.
   * Pair the vault with a server-side refresh grace window (OAuthStore's
   * `refreshGrace`) that answers a retried refresh instead of revoking.
   * Within the vault, a success that still arrives after the timeout is
   * stored (compare-and-set: only if the tokens are still the ones it
   * refreshed), which helps when `refresh` does not pass its signal on.
   */
  lockTimeoutMs?: number;
  /** Refresh in the background when the token expires within `windowMs` (default 5 min), checked every `intervalMs` (default 30 s). */
  backgroundRefresh?: BackgroundRefreshOptions;
  /** Receives errors of background work: background refreshes, and storing a refresh response that arrived late (foreground calls throw instead). */
  onBackgroundError?: (error: unknown) => void;
  /**
   * The Web Locks manager; default `navigator.locks`, looked up per call.
   * `null` turns cross-tab coordination off (single flight within this tab
   * only): for tests and runtimes whose locks misbehave, not for production.
   */
  locks?: LockManagerLike | null;
  /**
   * DPoP (RFC 9449): `dpop()` from `oauth-vault/dpop`. The vault then keeps a
   * non-extractable ECDSA P-256 key with the tokens (cleared with them), and
   * `fetch`, `dpopFetch` and the refresh function's `context.fetch` send a
   * proof with every request. Tokens the server issued as `Bearer` are still
   * sent as bearer tokens.
   */
  dpop?: DpopSigner;
  /** The `fetch` that `fetch`/`dpopFetch` call; default the global one, looked up per call. */
  fetch?: typeof fetch;
  /** Clock, epoch milliseconds (tests inject one). */
  now?: () => number;
}

type ResolvedOptions = TokenVaultOptions & Required<Pick<TokenVaultOptions, 'refreshSkewMs' | 'lockTimeoutMs' | 'now'>>;

const RECORD_KIND = 'tokens';
const RECORD_ID = 'current';
const RECORD_KEY = `${RECORD_KIND}/${RECORD_ID}`;
const MAX_MS = 24 * 3600 * 1000;

/**
 * The SPA's token store: OAuth tokens sealed with AES-GCM under a
 * non-extractable key, refreshed once across every open tab, cleared in every
 * tab on logout.
 *
 * @example
 * ```ts
 * import { TokenVault } from 'oauth-vault';
 * import { indexedDbStorage } from 'oauth-vault/indexeddb';
 *
 * const vault = await TokenVault.open({
 *   storage: indexedDbStorage({ name: 'my-app' }),
 *   name: 'my-app',
 *   refresh: async (refreshToken, { signal }) => {
 *     const response = await fetch('/oauth/token', {
 *       method: 'POST', signal,
 *       body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'spa' }),
 *     });
 *     if (!response.ok) throw new Error(`refresh failed: ${response.status}`);
 *     return response.json();
 *   },
 * });
 * await vault.save(tokenResponseFromLogin);
 * const accessToken = await vault.getAccessToken(); // refreshed if needed, once for all tabs
 * ```
 */
export class TokenVault {
  readonly #storage: VaultStorage;
  readonly #keys: VaultKeys;
  readonly #options: ResolvedOptions;
  readonly #lockName: string;
  readonly #changes: ChangeFeed;
  readonly #background: BackgroundRefresh | undefined;
  #inflight: Promise<TokenSet | null> | undefined;
  #collection: { keyring: Keyring; records: RecordCollection<TokenSet> } | undefined;
  readonly #dpop: DpopProofs | undefined;
  readonly #fetchContext: FetchContext;
  #abort = new AbortController();
  #closed = false;

  private constructor(options: ResolvedOptions, keys: VaultKeys, name: string) {
    this.#options = options;
    this.#storage = options.storage;
    this.#keys = keys;
    this.#lockName = `oauth-vault:${name}:refresh`;
    this.#dpop = options.dpop === undefined ? undefined : new DpopProofs(options.dpop, options.storage.keyStore, options.now);
    this.#fetchContext = {
      tokens: () => this.#usableTokens(),
      refreshAfterRejection: (rejected) => this.#refreshAfterRejection(rejected),
      dpop: this.#dpop,
      fetch: () => options.fetch ?? globalThis.fetch.bind(globalThis),
    };
    // Before the channel opens: invalid settings throw here and must leave nothing open.
    this.#background =
      options.backgroundRefresh && options.refresh
        ? new BackgroundRefresh(options.backgroundRefresh, (windowMs) => this.#backgroundTick(windowMs), options.onBackgroundError, () => this.#keys.locked || this.#closed)
        : undefined;
    this.#changes = new ChangeFeed(`oauth-vault:${name}`, ['saved', 'refreshed', 'cleared'], (message) => {
      // Keys are gone in another tab: drop the cached ones (this locks a passphrase vault).
      if (message.kind === 'cleared') {
        this.#keys.forget();
        this.#dpop?.forget();
      }
    });
  }

  /**
   * Opens (or creates) the vault. In generate mode the keys are created on
   * first open; in passphrase mode the vault starts locked.
   */
  static async open(options: TokenVaultOptions): Promise<TokenVault> {
    requireObject('options', options);
    const storage = requireObject('options.storage', options.storage) as unknown as VaultStorage;
    requireObject('options.storage.adapter', storage.adapter);
    requireObject('options.storage.keyStore', storage.keyStore);
    const name = requireString('options.name', options.name ?? 'oauth-vault', { max: 128 });
    const mode = options.keys ?? 'generate';
    if (mode !== 'generate' && mode !== 'passphrase') throw new InvalidRequestError('options.keys', 'must be "generate" or "passphrase"');
    const iterations = optionalInteger('options.iterations', options.iterations, MIN_PBKDF2_ITERATIONS, 10_000_000);
    if (options.refresh !== undefined && typeof options.refresh !== 'function') throw new InvalidRequestError('options.refresh', 'must be a function');
    if (options.fetch !== undefined && typeof options.fetch !== 'function') throw new InvalidRequestError('options.fetch', 'must be a function');
    const resolved = {
      ...options,
      refreshSkewMs: optionalInteger('options.refreshSkewMs', options.refreshSkewMs, 0, MAX_MS) ?? 60_000,
      lockTimeoutMs: optionalInteger('options.lockTimeoutMs', options.lockTimeoutMs, 1, MAX_MS) ?? 10_000,
      now: options.now ?? Date.now,
    };
    const keys = new VaultKeys(storage.keyStore, storage.adapter, mode, iterations);
    if (mode === 'generate') await keys.keyring({ create: true });
    const vault = new TokenVault(resolved, keys, name);
    vault.#background?.start();
    return vault;
  }

  /** True in passphrase mode until `unlock` succeeds (and again after `lock`/`clear` anywhere). */
  get locked(): boolean {
    return this.#keys.locked;
  }

  /**
   * Unlocks a passphrase vault (the first unlock of a new vault sets the passphrase).
   * @throws InvalidRequestError with field `"passphrase"` when it is wrong; nothing changes.
   */
  async unlock(passphrase: string): Promise<void> {
    this.#assertOpen();
    await this.#keys.unlock(passphrase);
  }

  /** Forgets the passphrase-derived key in this tab. */
  lock(): void {
    if (this.#keys.mode === 'passphrase') this.#keys.forget();
  }

  /**
   * Validates and stores a token endpoint response (replacing what was there).
   * @throws InvalidRequestError naming the bad member (e.g. `"tokenResponse.expires_in"`); stored tokens are untouched.
   * @throws VaultLockedError in passphrase mode before `unlock`.
   */
  async save(tokenResponse: TokenResponse): Promise<TokenSet> {
    this.#assertOpen();
    const tokens = parseTokenResponse(tokenResponse, this.#options.now(), 'tokenResponse');
    // Fresh keys before a write: another tab may have cleared the vault and its keys.
    const keyring = (await this.#keys.keyring({ fresh: true, create: true }))!;
    const version = await this.#records(keyring).put(RECORD_ID, tokens);
    this.#changes.publish({ kind: 'saved', version });
    if (!this.#closed) this.#background?.start();
    return tokens;
  }

  /** The stored tokens, or `null`; never refreshes. */
  async get(): Promise<TokenSet | null> {
    this.#assertOpen();
    return (await this.#read())?.data ?? null;
  }

  /**
   * A usable access token: the stored one, or a refreshed one when it expires
   * within the skew. Of concurrent callers in all tabs, one refreshes and the
   * others wait for and use its result. `null` when there are no tokens, or
   * the access token has expired and cannot be refreshed. When the lock or the
   * refresh times out but the stored access token has not expired yet, that
   * token is returned (it still works; the next call tries again).
   * @throws TimeoutError when the lock or the refresh takes longer than `lockTimeoutMs` and no unexpired token is stored.
   */
  async getAccessToken(): Promise<string | null> {
    this.#assertOpen();
    return (await this.#usableTokens())?.accessToken ?? null;
  }

  /**
   * `fetch` with the access token attached: `Authorization: Bearer …`, or,
   * for a DPoP-bound token (`token_type` `DPoP`), `Authorization: DPoP …`
   * and a `DPoP` proof for this method and URL. The token is refreshed first
   * when it expires within the skew (once across tabs, as `getAccessToken`);
   * when the resource answers 401 with `error="invalid_token"`, the tokens
   * are refreshed once (across tabs: concurrent callers share one refresh)
   * and the request is sent again, once. A second 401 is returned as is:
   * never a loop. A DPoP `use_dpop_nonce` challenge is answered with one
   * more send carrying the server's nonce. Aborting `init.signal` rejects
   * with its reason at once, whatever the call waits for.
   * @throws InvalidGrantError when the vault holds no usable tokens (sign in).
   * @throws TimeoutError as `getAccessToken` and `refresh` do.
   */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    this.#assertOpen();
    return authorizedFetch(this.#fetchContext, input, init);
  }

  /**
   * `fetch` with a DPoP proof and no access token: for the token endpoint
   * (the code exchange; the refresh function gets it as `context.fetch`).
   * A `use_dpop_nonce` error is retried once with the server's nonce.
   * Without the `dpop` option it is plain `fetch`.
   */
  dpopFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    this.#assertOpen();
    return proofFetch(this.#fetchContext, input, init);
  }

  /**
   * The DPoP public key's JWK thumbprint (RFC 7638), for the authorization
   * request's `dpop_jkt` (RFC 9449 §10), which binds the code to this key;
   * `null` without the `dpop` option. Creates the key when there is none.
   */
  async dpopThumbprint(): Promise<string | null> {
    this.#assertOpen();
    return this.#dpop ? this.#dpop.thumbprint() : null;
  }

  /** Tokens whose access token is usable now, refreshed (once across tabs) when it expires within the skew. */
  async #usableTokens(): Promise<TokenSet | null> {
    this.#assertOpen();
    const now = this.#options.now();
    const current = (await this.#read())?.data;
    if (!current) return null;
    if (!expiresWithin(current, now, this.#options.refreshSkewMs)) return current;
    if (!current.refreshToken || !this.#options.refresh) return expiresWithin(current, now, 0) ? null : current;
    const skew = this.#options.refreshSkewMs;
    let refreshed: TokenSet | null;
    try {
      refreshed = await this.#refreshOnce((record) => expiresWithin(record.data, this.#options.now(), skew));
    } catch (error) {
      if (!(error instanceof TimeoutError)) throw error;
      // The holder is stuck; perhaps it still stored new tokens, or ours still work. Use them if so.
      const latest = (await this.#read())?.data;
      if (latest && !expiresWithin(latest, this.#options.now(), 0)) return latest;
      throw error;
    }
    if (refreshed && !expiresWithin(refreshed, this.#options.now(), 0)) return refreshed;
    return null;
  }

  /** A resource refused `rejected`: refresh unless the stored token is another one already (another caller or tab refreshed). */
  async #refreshAfterRejection(rejected: string): Promise<TokenSet | null> {
    this.#assertOpen();
    const seen = (await this.#read())?.data;
    if (!seen) return null;
    if (seen.accessToken !== rejected) return seen;
    if (!seen.refreshToken || !this.#options.refresh) return null;
    const isStale = (record: StoredRecord<TokenSet>): boolean => record.data.accessToken === rejected;
    try {
      return await this.#refreshOnce(isStale);
    } catch (error) {
      if (!(error instanceof TimeoutError)) throw error;
      const latest = await this.#read();
      if (latest && !isStale(latest)) return latest.data;
      throw error;
    }
  }

  /**
   * Refreshes now, whatever the expiry (e.g. after an API answered 401), once
   * across tabs: if another tab refreshed while this one waited, its tokens
   * are used instead of refreshing again. `null` when there are no tokens, or
   * no refresh token or `refresh` function.
   * @throws TimeoutError when the lock or the refresh takes longer than
   * `lockTimeoutMs` and no other tab stored new tokens meanwhile (the old
   * tokens are never returned as if refreshed).
   */
  async refresh(): Promise<TokenSet | null> {
    this.#assertOpen();
    const seen = await this.#read();
    if (!seen?.data.refreshToken || !this.#options.refresh) return null;
    // Stale means "still the record we saw": anything newer is another tab's refresh (or login).
    const isStale = (record: StoredRecord<TokenSet>): boolean => record.version === seen.version;
    try {
      return await this.#refreshOnce(isStale);
    } catch (error) {
      if (!(error instanceof TimeoutError)) throw error;
      const latest = await this.#read();
      if (latest && !isStale(latest)) return latest.data;
      throw error;
    }
  }

  /** Removes tokens and keys here and in every tab of this origin. Works while locked. */
  async clear(): Promise<void> {
    this.#assertOpen();
    this.#abort.abort(new VaultError('the vault was cleared'));
    this.#abort = new AbortController();
    this.#background?.stop();
    await this.#storage.adapter.delete(RECORD_KEY);
    await this.#keys.destroy(); // the DPoP key too: it lives in the same key store
    this.#dpop?.forget();
    this.#changes.publish({ kind: 'cleared', version: null });
  }

  /** Calls `listener` on every change, in this tab or another. Returns the unsubscribe function. */
  onChange(listener: (change: TokenVaultChange) => void): () => void {
    return this.#changes.subscribe(listener);
  }

  /** Stops background refresh, leaves the channel and closes the storage. The stored tokens stay. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#background?.stop();
    this.#abort.abort(new VaultError('the vault was closed'));
    this.#changes.close();
    await this.#storage.adapter.close?.();
  }

  #records(keyring: Keyring): RecordCollection<TokenSet> {
    // One collection per keyring: the read path should build nothing per call.
    if (this.#collection?.keyring !== keyring) {
      this.#collection = { keyring, records: new RecordStore({ adapter: this.#storage.adapter, keyring, now: this.#options.now }).collection<TokenSet>(RECORD_KIND) };
    }
    return this.#collection.records;
  }

  /**
   * One readonly storage read and one AES-GCM open. The read starts before the
   * keys are looked up (cached after the first call), so nothing waits on
   * anything the read does not need.
   */
  async #read(): Promise<StoredRecord<TokenSet> | null> {
    const entry = this.#storage.adapter.get(RECORD_KEY);
    entry.catch(() => undefined); // awaited below unless the keys fail first
    const keyring = await this.#keys.keyring();
    if (!keyring) return null;
    const stored = await entry;
    try {
      return await this.#records(keyring).open(RECORD_ID, stored);
    } catch (error) {
      // Written under keys another tab just created (after a clear): reload them once and open the same entry.
      if (!(error instanceof KeyNotFoundError) || this.#keys.mode !== 'generate') throw error;
      const reloaded = await this.#keys.keyring({ fresh: true });
      if (!reloaded) return null;
      return this.#records(reloaded).open(RECORD_ID, stored);
    }
  }

  /**
   * One refresh at a time in this tab; across tabs, one at a time through the
   * Web Lock. `isStale` decides, on the record re-read under the lock, whether
   * a refresh is still needed.
   */
  #refreshOnce(isStale: (record: StoredRecord<TokenSet>) => boolean): Promise<TokenSet | null> {
    this.#inflight ??= this.#underLock(() => this.#refreshUnderLock(isStale)).finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  /** Runs `task` under the cross-tab lock; a `TimeoutError` (lock or refresh) goes to the caller, who knows what may stand in. */
  #underLock(task: () => Promise<TokenSet | null>): Promise<TokenSet | null> {
    const locks = this.#options.locks === null ? undefined : (this.#options.locks ?? defaultLocks());
    if (!locks) return task();
    return withWebLock(locks, this.#lockName, this.#options.lockTimeoutMs, task);
  }

  async #refreshUnderLock(isStale: (record: StoredRecord<TokenSet>) => boolean): Promise<TokenSet | null> {
    // Re-read under the lock: the tab that held it before us may have refreshed already.
    const current = await this.#read();
    if (!current) return null;
    if (!isStale(current)) return current.data;
    const refreshToken = current.data.refreshToken;
    const refresh = this.#options.refresh;
    if (!refreshToken || !refresh) return current.data;
    const vaultSignal = this.#abort.signal;
    let response: TokenResponse;
    try {
      response = await callRefresh(refresh, refreshToken, {
        timeoutMs: this.#options.lockTimeoutMs,
        vaultSignal,
        fetch: (input, init) => proofFetch(this.#fetchContext, input, init),
        onLateResponse: (late) => {
          this.#storeRefreshed(late, current).catch((error: unknown) => this.#options.onBackgroundError?.(error));
        },
      });
    } catch (error) {
      // Cleared meanwhile: there is nothing to refresh any more; the answer is "no token".
      if (vaultSignal.aborted && error === vaultSignal.reason && !this.#closed) return null;
      throw error;
    }
    const stored = await this.#storeRefreshed(response, current);
    // Lost the compare-and-set: a clear or a new login won; report what is there now.
    return stored === undefined ? ((await this.#read())?.data ?? null) : stored;
  }

  /**
   * Stores a refresh response over the record it refreshed, by compare-and-set:
   * a clear or a new login meanwhile wins and is not overwritten. Returns the
   * stored tokens, `null` when the vault was cleared, `undefined` when the
   * record had changed.
   */
  async #storeRefreshed(response: TokenResponse, from: StoredRecord<TokenSet>): Promise<TokenSet | null | undefined> {
    if (this.#closed) return undefined;
    const fresh = parseTokenResponse(response, this.#options.now(), 'refresh response');
    // No refresh_token in the response: the server does not rotate; keep the one we have.
    const next: TokenSet = fresh.refreshToken ? fresh : { ...fresh, refreshToken: from.data.refreshToken };
    const keyring = await this.#keys.keyring();
    if (!keyring) return null; // cleared in another tab meanwhile
    const version = await this.#records(keyring).compareAndSet(RECORD_ID, next, { ifVersion: from.version });
    if (version === null) return undefined;
    this.#changes.publish({ kind: 'refreshed', version });
    return next;
  }

  async #backgroundTick(windowMs: number): Promise<void> {
    const current = (await this.#read())?.data;
    if (current?.refreshToken && expiresWithin(current, this.#options.now(), windowMs)) {
      await this.#refreshOnce((record) => expiresWithin(record.data, this.#options.now(), windowMs));
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new VaultError('the vault is closed');
  }
}
