/**
 * The test page for the multi-tab tests: bundled with esbuild and loaded in
 * several Chromium pages of one context (one origin: shared IndexedDB, Web
 * Locks and BroadcastChannel). The Node side drives it through `window.tab`.
 */
import { indexedDbAdapter, indexedDbStorage } from '../../adapters/indexeddb/index.js';
import { dpop } from '../../src/client/dpop/index.js';
import { TokenVault, type TokenVaultChange } from '../../src/index.js';

export interface TabOpenOptions {
  name: string;
  /** `server`: refresh at the test server's rotating token endpoint; `hang`: never settle. */
  refresh: 'server' | 'hang';
  lockTimeoutMs: number;
  /** Test-only: turn the cross-tab lock off (negative control). */
  noCrossTabLock?: boolean;
  /** Passphrase mode with this many PBKDF2 iterations. */
  passphraseIterations?: number;
  /** Open with `dpop: dpop()` (proofs at the token endpoint and the resource). */
  dpop?: boolean;
  /** Where `refresh: 'server'` posts the refresh token: `/refresh` (tab-server.ts, default) or `/token` (tab-resource-server.ts). */
  tokenPath?: string;
}

/** The outcome of one `vault.fetch`, as plain data. */
export interface FetchOutcome {
  status?: number;
  body?: unknown;
  error?: string;
  at: number;
}

let vault: TokenVault | undefined;
const changes: (TokenVaultChange & { at: number })[] = [];
let refreshEntered = 0;
/** Every raw message on the vault's channel, as another party on the origin would see it. */
const rawMessages: unknown[] = [];

const tab = {
  async open(options: TabOpenOptions): Promise<void> {
    vault = await TokenVault.open({
      storage: indexedDbStorage({ name: options.name }),
      name: options.name,
      lockTimeoutMs: options.lockTimeoutMs,
      ...(options.noCrossTabLock && { locks: null }),
      ...(options.passphraseIterations !== undefined && { keys: 'passphrase', iterations: options.passphraseIterations }),
      ...(options.dpop && { dpop: dpop() }),
      refresh: async (refreshToken, { signal, fetch }) => {
        refreshEntered++;
        if (options.refresh === 'hang') return new Promise<never>(() => undefined);
        const response = await fetch(options.tokenPath ?? '/refresh', { method: 'POST', body: refreshToken, signal });
        if (!response.ok) throw new Error(`refresh failed with ${response.status}`);
        return response.json();
      },
    });
    vault.onChange((change) => changes.push({ ...change, at: Date.now() }));
    new BroadcastChannel(`oauth-vault:${options.name}`).onmessage = (event) => rawMessages.push(event.data);
  },
  async save(response: Record<string, unknown>): Promise<void> {
    await vault!.save(response as never);
  },
  get: () => vault!.get(),
  unlock: (passphrase: string) => vault!.unlock(passphrase),
  /** Control for the at-rest scans: writes `text` unsealed into the database `name`. */
  async putPlain(name: string, text: string): Promise<void> {
    const adapter = indexedDbAdapter({ name });
    await adapter.put('control/plain', new TextEncoder().encode(text) as Uint8Array<ArrayBuffer>);
    await adapter.close!();
  },
  /** Runs `count` getAccessToken() calls at once; returns their results (or error codes). */
  async getAccessTokens(count: number): Promise<(string | null | { error: string })[]> {
    return Promise.all(
      Array.from({ length: count }, () =>
        vault!.getAccessToken().catch((error: unknown) => ({ error: (error as { code?: string }).code ?? String(error) })),
      ),
    );
  },
  /** Starts getAccessToken() without waiting for it. */
  startGetAccessToken(): void {
    void vault!.getAccessToken().catch(() => undefined);
  },
  refreshEntered: () => refreshEntered,
  /** Signs in at tab-resource-server.ts's /token (with a DPoP proof when the vault has dpop); returns the token type issued. */
  async login(): Promise<string> {
    const response = await vault!.dpopFetch('/token', { method: 'POST', body: 'login' });
    if (!response.ok) throw new Error(`login failed with ${response.status}: ${await response.text()}`);
    return (await vault!.save(await response.json())).tokenType;
  },
  /** Runs `count` vault.fetch(path) calls at once; at epoch ms `startAt` when given (so several tabs start together). */
  async fetchMany(count: number, path = '/resource', startAt?: number): Promise<FetchOutcome[]> {
    if (startAt !== undefined) await new Promise((resolve) => setTimeout(resolve, startAt - Date.now()));
    return Promise.all(Array.from({ length: count }, () => tab.fetchOnce(path)));
  },
  /** One vault.fetch(path); with `abortAfterMs`, aborted that long after it starts. */
  async fetchOnce(path = '/resource', abortAfterMs?: number): Promise<FetchOutcome> {
    const controller = new AbortController();
    if (abortAfterMs !== undefined) setTimeout(() => controller.abort(), abortAfterMs);
    try {
      const response = await vault!.fetch(path, { signal: controller.signal });
      return { status: response.status, body: await response.json().catch(() => null), at: Date.now() };
    } catch (error) {
      // Our errors by their code, platform ones (AbortError, TypeError) by name.
      const code = (error as { code?: unknown }).code;
      return { error: typeof code === 'string' ? code : `${(error as Error).name}: ${(error as Error).message}`, at: Date.now() };
    }
  },
  /** A plain fetch with the given headers (to present a token the wrong way). */
  async rawFetch(path: string, headers: Record<string, string>): Promise<{ status: number; challenge: string | null }> {
    const response = await fetch(path, { headers });
    return { status: response.status, challenge: response.headers.get('WWW-Authenticate') };
  },
  dpopThumbprint: () => vault!.dpopThumbprint(),
  /** What the key store holds for DPoP, described without the key itself. */
  async dpopKeyRecord(name: string): Promise<{ privateExtractable: boolean; publicExtractable: boolean; algorithm: string; exportRefused: boolean } | null> {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open(name);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    try {
      const pair = await new Promise<CryptoKeyPair | undefined>((resolve, reject) => {
        const request = db.transaction('entries-keys', 'readonly').objectStore('entries-keys').get('dpop');
        request.onsuccess = () => resolve(request.result as CryptoKeyPair | undefined);
        request.onerror = () => reject(request.error);
      });
      if (!pair) return null;
      const exportRefused = await crypto.subtle.exportKey('jwk', pair.privateKey).then(
        () => false,
        () => true,
      );
      const algorithm = pair.privateKey.algorithm as EcKeyAlgorithm;
      return { privateExtractable: pair.privateKey.extractable, publicExtractable: pair.publicKey.extractable, algorithm: `${algorithm.name} ${algorithm.namedCurve}`, exportRefused };
    } finally {
      db.close();
    }
  },
  async clear(): Promise<number> {
    const started = Date.now();
    await vault!.clear();
    return started;
  },
  /** Polls get() until it returns null; resolves with the time it did (epoch ms). */
  async waitForEmpty(timeoutMs: number): Promise<number | null> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await vault!.get()) === null) return Date.now();
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    return null;
  },
  changes: () => changes,
  rawMessages: () => rawMessages,
};

(globalThis as unknown as { tab: typeof tab }).tab = tab;
export type Tab = typeof tab;
