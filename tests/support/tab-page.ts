/**
 * The test page for the multi-tab tests: bundled with esbuild and loaded in
 * several Chromium pages of one context (one origin: shared IndexedDB, Web
 * Locks and BroadcastChannel). The Node side drives it through `window.tab`.
 */
import { indexedDbAdapter, indexedDbStorage } from '../../adapters/indexeddb/index.js';
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
      refresh: async (refreshToken, { signal }) => {
        refreshEntered++;
        if (options.refresh === 'hang') return new Promise<never>(() => undefined);
        const response = await fetch('/refresh', { method: 'POST', body: refreshToken, signal });
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
