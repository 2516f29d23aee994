/**
 * `oauth-vault/cloudflare-durable-object`: storage on SQLite-backed Durable
 * Objects, sharded by partition.
 *
 * @module
 */
import { partitionOf, type StorageAdapter } from '../../src/storage/contract.js';
import { defineAdapter } from '../../src/storage/define-adapter.js';
import { compareKeys } from '../../src/storage/sql.js';
import { InvalidRequestError } from '../../src/errors.js';
import type { VaultObjectRpc } from './protocol.js';
import { shardOf } from './shard.js';

export type { VaultObjectRpc } from './protocol.js';
export { VaultDurableObject } from './object.js';

/** The few Durable Object namespace methods the adapter calls (a real binding fits). */
export interface VaultObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: never): VaultObjectRpc;
}

export interface DurableObjectAdapterOptions {
  /** The binding of `VaultDurableObject`, e.g. `env.VAULT_DO`. */
  namespace: VaultObjectNamespaceLike;
  /**
   * How many objects partitions are hashed over (default 32). Changing it
   * moves partitions to other objects: choose it once per deployment.
   */
  shards?: number;
  /** Prefix of the object names (default `oauth-vault`); one per independent store. */
  name?: string;
  /** Clock for logical expiry, epoch milliseconds; passed to the object on every call. */
  now?: () => number;
}

/** SQLite-backed Durable Objects limit a row, string or BLOB to 2 MB (2,000,000 bytes); keep room for key and version. */
export const DO_MAX_VALUE_BYTES = 2_000_000 - 4096;
const MAX_KEY_BYTES = 2048;
const MAX_SHARDS = 1024;

/**
 * Storage on `VaultDurableObject` instances over RPC. Each key goes to the
 * object chosen by hashing its partition (`partitionOf(key)`, the second key
 * segment) over `shards` objects: one grant's records serialize in one object,
 * different grants spread over many, no single object sits in every request.
 *
 * Atomic: compare-and-set runs inside one object without yielding between its
 * check and its set. Batches are atomic within one partition
 * (`batchScope: "partition"`): one partition lives in one object, and there
 * is no transaction across objects. Listing fans out to every shard and
 * merges.
 *
 * Ships from `oauth-vault/cloudflare-durable-object` (and `oauth-vault/cloudflare`).
 *
 * @example
 * ```ts
 * import { durableObjectAdapter } from 'oauth-vault/cloudflare-durable-object';
 * const adapter = durableObjectAdapter({ namespace: env.VAULT_DO });
 * ```
 */
export function durableObjectAdapter(options: DurableObjectAdapterOptions): StorageAdapter {
  if (typeof options !== 'object' || options === null) throw new InvalidRequestError('options', 'must be an object');
  const namespace = requireNamespace(options.namespace);
  const shards = options.shards ?? 32;
  if (!Number.isSafeInteger(shards) || shards < 1 || shards > MAX_SHARDS) {
    throw new InvalidRequestError('shards', `must be an integer between 1 and ${MAX_SHARDS}`);
  }
  const prefix = options.name ?? 'oauth-vault';
  if (typeof prefix !== 'string' || prefix.length === 0 || prefix.length > 200) {
    throw new InvalidRequestError('name', 'must be a non-empty string of at most 200 characters');
  }
  if (options.now !== undefined && typeof options.now !== 'function') throw new InvalidRequestError('now', 'must be a function');
  const now = options.now ?? Date.now;
  // A fresh stub per call: a stub that saw its object reset stays broken, and
  // creating one is a local operation (no round trip).
  const stubOf = (shard: number): VaultObjectRpc => namespace.get(namespace.idFromName(`${prefix}/${shard}`) as never);
  const objectFor = (key: string): VaultObjectRpc => stubOf(shardOf(partitionOf(key), shards));
  const everyShard = <T>(call: (stub: VaultObjectRpc) => Promise<T>): Promise<T[]> =>
    Promise.all(Array.from({ length: shards }, (_, shard) => call(stubOf(shard))));

  return defineAdapter({
    name: 'durable-object',
    capabilities: {
      atomic: true,
      nativeTtl: true,
      atomicBatch: true,
      batchScope: 'partition',
      maxValueBytes: DO_MAX_VALUE_BYTES,
      maxKeyBytes: MAX_KEY_BYTES,
    },

    async get(key) {
      const entry = await objectFor(key).get(key, now());
      if (!entry) return null;
      return { value: entry.value, version: entry.version, ...(entry.expiresAt !== null && { expiresAt: entry.expiresAt }) };
    },
    put: (key, value, expiresAt) => objectFor(key).put(key, value, expiresAt ?? null, now()),
    compareAndSet: (key, value, condition, expiresAt) => objectFor(key).compareAndSet(key, value, condition, expiresAt ?? null, now()),
    delete: (key, ifVersion) => objectFor(key).delete(key, ifVersion ?? null, now()),

    async list({ prefix: keyPrefix, cursor, limit }) {
      const at = now();
      // Every shard may hold keys under the prefix: ask each for a page and merge.
      const pages = await everyShard((stub) => stub.list(keyPrefix, cursor ?? null, limit, at));
      const merged = pages.flatMap((page) => page.keys).sort(compareKeys);
      const keys = merged.slice(0, limit);
      const more = merged.length > limit || pages.some((page) => page.more);
      return more && keys.length > 0 ? { keys, cursor: keys[keys.length - 1]! } : { keys };
    },

    // Every key of a batch is in one partition (the kit checks it), so one object decides it.
    batch: (operations) => objectFor(operations[0]!.key).batch(operations, now()),

    async deleteExpired() {
      const at = now();
      const counts = await everyShard((stub) => stub.deleteExpired(at));
      return counts.reduce((sum, count) => sum + count, 0);
    },
  });
}

/** Refuses anything that is not a Durable Object namespace binding. */
function requireNamespace(value: unknown): VaultObjectNamespaceLike {
  const candidate = value as Partial<VaultObjectNamespaceLike> | null | undefined;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.idFromName !== 'function' ||
    typeof candidate.get !== 'function'
  ) {
    throw new InvalidRequestError(
      'namespace',
      'must be a DurableObjectNamespace binding of VaultDurableObject (with idFromName() and get()); check durable_objects.bindings in wrangler.toml',
    );
  }
  return candidate as VaultObjectNamespaceLike;
}
