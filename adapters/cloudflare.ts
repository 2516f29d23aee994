/**
 * `oauth-vault/cloudflare`: storage adapters for Cloudflare Workers.
 *
 * - {@link d1Adapter} on D1 (atomic, atomic batches) and {@link migrateD1};
 * - {@link durableObjectAdapter} on {@link VaultDurableObject} (atomic,
 *   sharded by partition), which your Worker must export;
 * - {@link kvAdapter} on Workers KV (not atomic: pair it with the Durable
 *   Object adapter as `OAuthStore`'s `singleUseAdapter`).
 *
 * @module
 */
export { d1Adapter, migrateD1, D1_MAX_VALUE_BYTES } from './cloudflare-d1/index.js';
export type { D1AdapterOptions, MigrateD1Options, D1DatabaseLike, D1StatementLike } from './cloudflare-d1/index.js';
export { durableObjectAdapter, DO_MAX_VALUE_BYTES } from './durable-object/index.js';
export type { DurableObjectAdapterOptions, VaultObjectNamespaceLike, VaultObjectRpc } from './durable-object/index.js';
export { VaultDurableObject } from './durable-object/object.js';
export { kvAdapter, KV_MAX_VALUE_BYTES } from './cloudflare-kv/index.js';
export type { KvAdapterOptions, KVNamespaceLike } from './cloudflare-kv/index.js';
