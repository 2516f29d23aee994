import { env } from 'cloudflare:workers';
import type { StorageAdapter } from '../../src/storage/contract.js';
import { d1Adapter, migrateD1 } from '../../adapters/cloudflare-d1/index.js';
import { durableObjectAdapter } from '../../adapters/cloudflare-durable-object/index.js';
import { kvAdapter } from '../../adapters/cloudflare-kv/index.js';

/**
 * Fresh, isolated OAuthStore storage per call on the real bindings: a new D1
 * table, a new set of Durable Object names, a new KV key prefix. The
 * OAuthStore suite lists every key of its adapters, so nothing may be shared.
 */

export interface CloudflareStorage {
  adapter: StorageAdapter;
  singleUseAdapter?: StorageAdapter;
  /** Where the raw rows live, for backend-level dumps. */
  where: { d1Table?: string; doName?: string; doShards?: number; kvPrefix?: string };
}

export type Configuration = 'd1' | 'durable-object' | 'kv+durable-object';

const unique = () => crypto.randomUUID().replace(/-/g, '').slice(0, 16);

export async function createStorage(configuration: Configuration, now: () => number, shards = 32): Promise<CloudflareStorage> {
  if (configuration === 'd1') {
    const table = `vault_${unique()}`;
    await migrateD1(env.DB, { table });
    return { adapter: d1Adapter({ database: env.DB, table, now }), where: { d1Table: table } };
  }
  const doName = `oauth-${unique()}`;
  const durable = durableObjectAdapter({ namespace: env.VAULT_DO, shards, name: doName, now });
  if (configuration === 'durable-object') return { adapter: durable, where: { doName, doShards: shards } };
  const kvPrefix = `oauth-${unique()}:`;
  return {
    adapter: kvAdapter({ namespace: env.KV, keyPrefix: kvPrefix, now }),
    singleUseAdapter: durable,
    where: { doName, doShards: shards, kvPrefix },
  };
}
