import { Keyring, OAuthStore, type StorageAdapter } from '../../../src/index.js';
import { d1Adapter, durableObjectAdapter, kvAdapter, migrateD1 } from '../../../adapters/cloudflare.js';
import type { DemoEnv } from './env.js';

/**
 * One OAuthStore per isolate and configuration: deriving the keyring is the
 * expensive part, so it is done once and reused across requests.
 */
const stores = new Map<string, Promise<OAuthStore>>();

async function build(env: DemoEnv, storage: 'kv' | 'd1'): Promise<OAuthStore> {
  const graceSeconds = Math.min(60, Math.max(0, Number.parseInt(env.REFRESH_GRACE_SECONDS ?? '0', 10) || 0));
  const keyring = await Keyring.fromSecret(env.VAULT_SECRET);
  // Single-use records (codes, refresh families, grant state) always live in the
  // Durable Object, which serializes each grant's transitions in one object.
  const singleUseAdapter = durableObjectAdapter({ namespace: env.VAULT_DO as never, name: `demo-${storage}` });
  let adapter: StorageAdapter;
  if (storage === 'd1') {
    await migrateD1(env.DB);
    adapter = d1Adapter({ database: env.DB });
  } else {
    adapter = kvAdapter({ namespace: env.KV });
  }
  return new OAuthStore({
    keyring,
    adapter,
    singleUseAdapter,
    // A client that lost the answer to a refresh (a closed tab, a timeout) may
    // retry with the rotated token: answer it with the same successor for a
    // short, non-sliding window instead of revoking the grant as reuse.
    ...(graceSeconds > 0 && { refreshGrace: { windowSeconds: graceSeconds, maxUses: 3 } }),
  });
}

export function storageOf(env: DemoEnv): 'kv' | 'd1' {
  return env.STORAGE === 'd1' ? 'd1' : 'kv';
}

export function getStore(env: DemoEnv): Promise<OAuthStore> {
  const storage = storageOf(env);
  const cacheKey = `${storage}:${env.REFRESH_GRACE_SECONDS ?? ''}:${env.VAULT_SECRET}`;
  let store = stores.get(cacheKey);
  if (!store) {
    store = build(env, storage);
    // A failed build (bad secret, migration error) must not be cached forever.
    store.catch(() => stores.delete(cacheKey));
    stores.set(cacheKey, store);
  }
  return store;
}
