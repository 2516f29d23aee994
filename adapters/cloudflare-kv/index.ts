/**
 * `oauth-vault/cloudflare-kv`: storage on Workers KV (not atomic).
 *
 * @module
 */
import { isExpired } from '../../src/storage/checks.js';
import { conditionHolds } from '../../src/storage/batch-plan.js';
import type { StorageAdapter } from '../../src/storage/contract.js';
import { defineAdapter } from '../../src/storage/define-adapter.js';
import { randomId } from '../../src/crypto/random.js';
import { InvalidRequestError } from '../../src/errors.js';
import { utf8 } from '../../src/util/bytes.js';

/** What the adapter keeps in each KV key's metadata. */
interface EntryMetadata {
  /** version */
  v: string;
  /** logical expiry, epoch ms, or null */
  x: number | null;
}

/** The few KV namespace methods the adapter calls (a real `KVNamespace` fits). */
export interface KVNamespaceLike {
  getWithMetadata<M>(key: string, type: 'arrayBuffer'): Promise<{ value: ArrayBuffer | null; metadata: M | null }>;
  put(
    key: string,
    value: ArrayBuffer | ArrayBufferView,
    options?: { expirationTtl?: number; metadata?: unknown },
  ): Promise<void>;
  delete(key: string): Promise<void>;
  list<M>(options?: { prefix?: string | null; limit?: number; cursor?: string | null }): Promise<
    { keys: { name: string; metadata?: M }[] } & ({ list_complete: false; cursor: string } | { list_complete: true })
  >;
}

export interface KvAdapterOptions {
  /** The KV binding, e.g. `env.KV`. */
  namespace: KVNamespaceLike;
  /** Clock for logical expiry, epoch milliseconds (tests inject one). */
  now?: () => number;
  /** Prepended to every key, to share a namespace; counts against the 512-byte key limit. */
  keyPrefix?: string;
}

/** KV values are at most 25 MiB. */
export const KV_MAX_VALUE_BYTES = 25 * 1024 * 1024;
/** KV keys are at most 512 bytes. */
const KV_MAX_KEY_BYTES = 512;
/** KV refuses an `expirationTtl` below 60 seconds. */
const KV_MIN_TTL_SECONDS = 60;

/**
 * Storage on Cloudflare Workers KV. NOT atomic: KV is eventually consistent
 * (a write may take 60 s or more to be seen at other locations) and has no
 * compare-and-set, so `compareAndSet` here is a best-effort read-then-write
 * that concurrent writers can both win. `capabilities.atomic` is `false` and
 * `OAuthStore` refuses it for single-use records: route those to
 * `durableObjectAdapter` (`singleUseAdapter`).
 *
 * Versions and the logical expiry live in each key's metadata; expiry is
 * checked on every read. The physical TTL (`expirationTtl`) is cleanup only,
 * clamped to KV's 60-second minimum.
 *
 * Ships from `oauth-vault/cloudflare-kv` (and `oauth-vault/cloudflare`).
 *
 * @example
 * ```ts
 * import { kvAdapter } from 'oauth-vault/cloudflare-kv';
 * import { durableObjectAdapter } from 'oauth-vault/cloudflare-durable-object';
 * const store = new OAuthStore({
 *   adapter: kvAdapter({ namespace: env.KV }),
 *   singleUseAdapter: durableObjectAdapter({ namespace: env.VAULT_DO }),
 *   keyring,
 * });
 * ```
 */
export function kvAdapter(options: KvAdapterOptions): StorageAdapter {
  if (typeof options !== 'object' || options === null) throw new InvalidRequestError('options', 'must be an object');
  const kv = requireKv(options.namespace);
  const keyPrefix = options.keyPrefix ?? '';
  if (typeof keyPrefix !== 'string') throw new InvalidRequestError('keyPrefix', 'must be a string');
  const prefixBytes = utf8(keyPrefix).byteLength;
  if (prefixBytes > 256) throw new InvalidRequestError('keyPrefix', 'must be at most 256 UTF-8 bytes');
  if (options.now !== undefined && typeof options.now !== 'function') throw new InvalidRequestError('now', 'must be a function');
  const now = options.now ?? Date.now;
  const read = async (key: string): Promise<{ value: ArrayBuffer; metadata: EntryMetadata } | null> => {
    const { value, metadata } = await kv.getWithMetadata<EntryMetadata>(keyPrefix + key, 'arrayBuffer');
    if (value === null || !isMetadata(metadata) || isExpired(metadata.x, now())) return null;
    return { value, metadata };
  };
  const write = async (key: string, value: Uint8Array<ArrayBuffer>, expiresAt: number | undefined): Promise<string> => {
    const metadata: EntryMetadata = { v: randomId(12), x: expiresAt ?? null };
    const ttl = expiresAt === undefined ? undefined : Math.max(KV_MIN_TTL_SECONDS, Math.ceil((expiresAt - now()) / 1000));
    // KV copies the bytes before put() resolves, so later mutation of `value` changes nothing.
    await kv.put(keyPrefix + key, value.slice(), { metadata, ...(ttl !== undefined && { expirationTtl: ttl }) });
    return metadata.v;
  };

  return defineAdapter({
    name: 'cloudflare-kv',
    capabilities: { atomic: false, nativeTtl: true, atomicBatch: false, maxValueBytes: KV_MAX_VALUE_BYTES, maxKeyBytes: KV_MAX_KEY_BYTES - prefixBytes },

    async get(key) {
      const entry = await read(key);
      if (!entry) return null;
      return { value: new Uint8Array(entry.value), version: entry.metadata.v, ...(entry.metadata.x !== null && { expiresAt: entry.metadata.x }) };
    },

    put: write,

    /** Best effort only: read, compare, write. Two concurrent callers can both win. */
    async compareAndSet(key, value, condition, expiresAt) {
      const current = await read(key);
      return conditionHolds(condition, current && { version: current.metadata.v }) ? write(key, value, expiresAt) : null;
    },

    async delete(key, ifVersion) {
      const current = await read(key);
      if (current === null || (ifVersion !== undefined && current.metadata.v !== ifVersion)) return false;
      await kv.delete(keyPrefix + key);
      return true;
    },

    async list({ prefix, cursor, limit }) {
      const page = await kv.list<EntryMetadata>({ prefix: keyPrefix + prefix, limit, ...(cursor !== undefined && { cursor }) });
      const at = now();
      // KV returns keys sorted by UTF-8 bytes; drop the logically expired ones (a page may shrink).
      const keys = page.keys
        .filter((key) => !isMetadata(key.metadata) || !isExpired(key.metadata.x, at))
        .map((key) => key.name.slice(keyPrefix.length));
      return page.list_complete ? { keys } : { keys, cursor: page.cursor };
    },
  });
}

function isMetadata(value: unknown): value is EntryMetadata {
  const candidate = value as Partial<EntryMetadata> | null;
  return typeof candidate === 'object' && candidate !== null && typeof candidate.v === 'string';
}

/** Refuses anything that is not a KV namespace binding. */
function requireKv(value: unknown): KVNamespaceLike {
  const candidate = value as Partial<KVNamespaceLike> | null | undefined;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.getWithMetadata !== 'function' ||
    typeof candidate.put !== 'function' ||
    typeof candidate.list !== 'function' ||
    typeof candidate.delete !== 'function'
  ) {
    throw new InvalidRequestError('namespace', 'must be a KVNamespace binding (with getWithMetadata(), put(), list() and delete()); check kv_namespaces in wrangler.toml');
  }
  return candidate as KVNamespaceLike;
}
