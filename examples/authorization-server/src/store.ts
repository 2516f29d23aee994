import { Keyring, OAuthStore, type StorageAdapter } from '../../../src/index.js';
import { d1Adapter, durableObjectAdapter, kvAdapter, migrateD1 } from '../../../adapters/cloudflare.js';
import type { DemoEnv } from './env.js';

export function storageOf(env: DemoEnv): 'kv' | 'd1' {
  return env.STORAGE === 'd1' ? 'd1' : 'kv';
}

/** The keyring of this deployment; deriving it is the expensive part, so it is done once per secret. */
const keyrings = new Map<string, Promise<Keyring>>();
export function keyringOf(env: DemoEnv): Promise<Keyring> {
  let keyring = keyrings.get(env.VAULT_SECRET);
  if (!keyring) {
    keyring = Keyring.fromSecret(env.VAULT_SECRET);
    keyring.catch(() => keyrings.delete(env.VAULT_SECRET));
    keyrings.set(env.VAULT_SECRET, keyring);
  }
  return keyring;
}

/**
 * The demo's OAuthStore: clients, indexes and audit trail in KV (or D1);
 * every single-use record (codes, refresh-token families, grant state) in
 * the Durable Object, which serializes each grant's transitions.
 * oauth-vault/server builds it once per env and isolate.
 */
export async function buildStore(env: DemoEnv): Promise<OAuthStore> {
  const storage = storageOf(env);
  const graceSeconds = Math.min(60, Math.max(0, Number.parseInt(env.REFRESH_GRACE_SECONDS ?? '0', 10) || 0));
  const singleUseAdapter = durableObjectAdapter({ namespace: env.VAULT_DO as never, name: `demo-${storage}` });
  let adapter: StorageAdapter;
  if (storage === 'd1') {
    await migrateD1(env.DB);
    adapter = d1Adapter({ database: env.DB });
  } else {
    adapter = kvAdapter({ namespace: env.KV });
  }
  return new OAuthStore({
    keyring: await keyringOf(env),
    adapter,
    singleUseAdapter,
    // A client that lost the answer to a refresh (a closed tab, a timeout) may
    // retry with the rotated token: answer it with the same successor for a
    // short, non-sliding window instead of revoking the grant as reuse.
    ...(graceSeconds > 0 && { refreshGrace: { windowSeconds: graceSeconds, maxUses: 3 } }),
  });
}
