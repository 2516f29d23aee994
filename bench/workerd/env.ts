import { Keyring, OAuthStore, type StorageAdapter } from '../../src/index.js';
import { d1Adapter, durableObjectAdapter, kvAdapter, migrateD1 } from '../../adapters/cloudflare.js';

/** Bindings of the bench Worker (see bench/src/miniflare.ts). Typed loosely: each adapter checks its binding. */
export interface Env {
  VAULT_SECRET: string;
  KV: never;
  OAUTH_KV: never;
  DB: never;
  VAULT_DO: never;
}

export interface Ctx {
  waitUntil(promise: Promise<unknown>): void;
  passThroughOnException(): void;
}

let keyring: Promise<Keyring> | undefined;
const stores = new Map<string, Promise<OAuthStore>>();

/** One keyring per isolate, derived once. */
export function getKeyring(env: Env): Promise<Keyring> {
  keyring ??= Keyring.fromSecret(env.VAULT_SECRET);
  return keyring;
}

/** Our store on `kv` (KV + DO) or `d1` (D1 + DO); `wrap` lets a caller count its storage calls. */
export async function buildStore(env: Env, storage: 'kv' | 'd1', wrap: (adapter: StorageAdapter) => StorageAdapter = (adapter) => adapter): Promise<OAuthStore> {
  const singleUseAdapter = durableObjectAdapter({ namespace: env.VAULT_DO, name: `bench-${storage}` });
  let adapter: StorageAdapter;
  if (storage === 'd1') {
    await migrateD1(env.DB);
    adapter = d1Adapter({ database: env.DB });
  } else {
    adapter = kvAdapter({ namespace: env.KV });
  }
  return new OAuthStore({ keyring: await getKeyring(env), adapter: wrap(adapter), singleUseAdapter: wrap(singleUseAdapter) });
}

/** One store per isolate and storage. */
export function ourStore(env: Env, storage: 'kv' | 'd1'): Promise<OAuthStore> {
  let store = stores.get(storage);
  if (!store) {
    store = buildStore(env, storage);
    stores.set(storage, store);
  }
  return store;
}
