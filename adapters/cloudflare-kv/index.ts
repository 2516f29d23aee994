import type {
  AdapterCapabilities,
  ListOptions,
  ListResult,
  StorageAdapter,
  StoredEntry,
  WriteOptions,
} from '../../src/adapter.js';
import { checkCondition, checkKey, checkListOptions, checkValue, checkWriteOptions, isExpired } from '../../src/adapter-input.js';
import { randomId } from '../../src/crypto/random.js';
import { InvalidRequestError, StorageError } from '../../src/errors.js';
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

const NAME = 'cloudflare-kv';
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
 * Ships from `oauth-vault/cloudflare`.
 *
 * @example
 * ```ts
 * import { kvAdapter, durableObjectAdapter } from 'oauth-vault/cloudflare';
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
  const capabilities: AdapterCapabilities = {
    atomic: false,
    nativeTtl: true,
    atomicBatch: false,
    maxValueBytes: KV_MAX_VALUE_BYTES,
    maxKeyBytes: KV_MAX_KEY_BYTES - prefixBytes,
  };

  const run = async <T>(operation: string, body: () => Promise<T>): Promise<T> => {
    try {
      return await body();
    } catch (cause) {
      throw new StorageError(NAME, `${operation} failed`, { cause, retriable: true });
    }
  };
  const read = async (key: string): Promise<{ value: ArrayBuffer; metadata: EntryMetadata } | null> => {
    const { value, metadata } = await run('get', () => kv.getWithMetadata<EntryMetadata>(keyPrefix + key, 'arrayBuffer'));
    if (value === null || !isMetadata(metadata) || isExpired(metadata.x, now())) return null;
    return { value, metadata };
  };
  const write = async (key: string, value: Uint8Array<ArrayBuffer>, expiresAt: number | undefined): Promise<string> => {
    const metadata: EntryMetadata = { v: randomId(12), x: expiresAt ?? null };
    const ttl =
      expiresAt === undefined ? undefined : Math.max(KV_MIN_TTL_SECONDS, Math.ceil((expiresAt - now()) / 1000));
    // KV copies the bytes before put() resolves, so later mutation of `value` changes nothing.
    await run('put', () => kv.put(keyPrefix + key, value.slice(), { metadata, ...(ttl !== undefined && { expirationTtl: ttl }) }));
    return metadata.v;
  };

  return {
    name: NAME,
    capabilities,

    async get(key: string): Promise<StoredEntry | null> {
      checkKey(NAME, key, capabilities.maxKeyBytes);
      const entry = await read(key);
      if (!entry) return null;
      return {
        value: new Uint8Array(entry.value),
        version: entry.metadata.v,
        ...(entry.metadata.x !== null && { expiresAt: entry.metadata.x }),
      };
    },

    async put(key: string, value: Uint8Array<ArrayBuffer>, writeOptions?: WriteOptions): Promise<string> {
      checkKey(NAME, key, capabilities.maxKeyBytes);
      checkValue(NAME, value, capabilities.maxValueBytes);
      return write(key, value, checkWriteOptions(NAME, writeOptions));
    },

    /** Best effort only: read, compare, write. Two concurrent callers can both win. */
    async compareAndSet(key, value, condition, writeOptions) {
      checkKey(NAME, key, capabilities.maxKeyBytes);
      checkValue(NAME, value, capabilities.maxValueBytes);
      const checked = checkCondition(NAME, condition);
      const expiresAt = checkWriteOptions(NAME, writeOptions);
      const current = await read(key);
      const holds = 'ifAbsent' in checked ? current === null : current?.metadata.v === checked.ifVersion;
      return holds ? write(key, value, expiresAt) : null;
    },

    async delete(key: string, deleteOptions?: { ifVersion?: string }): Promise<boolean> {
      checkKey(NAME, key, capabilities.maxKeyBytes);
      const ifVersion = deleteOptions?.ifVersion;
      if (ifVersion !== undefined && typeof ifVersion !== 'string') {
        throw new InvalidRequestError('options.ifVersion', `must be a string (adapter "${NAME}")`);
      }
      const current = await read(key);
      if (current === null || (ifVersion !== undefined && current.metadata.v !== ifVersion)) return false;
      await run('delete', () => kv.delete(keyPrefix + key));
      return true;
    },

    async list(listOptions: ListOptions): Promise<ListResult> {
      const { prefix, cursor, limit } = checkListOptions(NAME, listOptions);
      const page = await run('list', () =>
        kv.list<EntryMetadata>({ prefix: keyPrefix + prefix, limit, ...(cursor !== undefined && { cursor }) }),
      );
      const at = now();
      // KV returns keys sorted by UTF-8 bytes; drop the logically expired ones (a page may shrink).
      const keys = page.keys
        .filter((key) => !isMetadata(key.metadata) || !isExpired(key.metadata.x, at))
        .map((key) => key.name.slice(keyPrefix.length));
      return page.list_complete ? { keys } : { keys, cursor: page.cursor };
    },
  };
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
