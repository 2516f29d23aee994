/**
 * `oauth-vault/cloudflare`: the three Cloudflare adapters from one import
 * (each also ships from its own subpath).
 *
 * - {@link d1Adapter} on D1 (atomic, atomic batches) and {@link migrateD1};
 * - {@link durableObjectAdapter} on {@link VaultDurableObject} (atomic,
 *   sharded by partition, atomic batches within a partition), which your
 *   Worker must export;
 * - {@link kvAdapter} on Workers KV (not atomic: pair it with the Durable
 *   Object adapter as `OAuthStore`'s `singleUseAdapter`).
 *
 * @module
 */
export { d1Adapter, migrateD1, D1_MAX_VALUE_BYTES } from './cloudflare-d1/index.js';
export type { D1AdapterOptions, MigrateD1Options, D1DatabaseLike, D1StatementLike } from './cloudflare-d1/index.js';
export { durableObjectAdapter, VaultDurableObject, DO_MAX_VALUE_BYTES } from './cloudflare-durable-object/index.js';
export type { DurableObjectAdapterOptions, VaultObjectNamespaceLike, VaultObjectRpc } from './cloudflare-durable-object/index.js';
export { kvAdapter, KV_MAX_VALUE_BYTES } from './cloudflare-kv/index.js';
export type { KvAdapterOptions, KVNamespaceLike } from './cloudflare-kv/index.js';
