/**
 * `oauth-vault/redis`: storage on Redis (standalone or cluster), atomic
 * through server-side Lua scripts. The only entry point that loads a Redis
 * client (`@redis/client`, node-redis).
 *
 * @module
 */
import type { CheckedBatchOperation } from '../../src/storage/checks.js';
import type { BatchResult, ListResult, StorageAdapter, StoredEntry, WriteCondition } from '../../src/storage/contract.js';
import { defineAdapter } from '../../src/storage/define-adapter.js';
import { compareKeys } from '../../src/storage/sql.js';
import { randomId } from '../../src/crypto/random.js';
import { InvalidRequestError } from '../../src/errors.js';
import { commandRunner, sendCommandOf, toArgument, type RedisClientLike, type RedisClusterLike } from './client.js';
import { createLayout, decodeEntry, encodeEntry, type ShardKeys } from './layout.js';
import { LIST_SCRIPT, PURGE_SCRIPT, WRITE_SCRIPT } from './scripts.js';

export { connectRedis, type ConnectRedisOptions, type RedisClientLike, type RedisClusterLike, type RedisCommandOptions } from './client.js';

export interface RedisAdapterOptions {
  /** A connected client: node-redis's `createClient()`, or {@link connectRedis} (which fails fast while disconnected). */
  client?: RedisClientLike;
  /** Instead of `client`: a connected Redis Cluster client, node-redis's `createCluster()`. */
  cluster?: RedisClusterLike;
  /**
   * Prepended to every Redis key, so several stores (or other data) share one
   * database. Default `oauth-vault:`. No `{` or `}`: those would become the
   * cluster hash tag.
   */
  keyPrefix?: string;
  /**
   * How many hash tags (cluster slots) partitions are spread over (default
   * 16). Fixed per store: changing it moves keys to other slots (their data
   * stays behind).
   */
  shards?: number;
  /** Milliseconds before a command is abandoned with a retriable `StorageError` (default 5,000). */
  commandTimeoutMs?: number;
  /**
   * Redis removes an expiring entry this long after its logical expiry
   * (default 60,000 ms): room for callers whose clocks run behind Redis's.
   * Until then it already reads as absent.
   */
  expiryGraceMs?: number;
  /** Clock for logical expiry, epoch milliseconds (tests inject one); passed to every script. */
  now?: () => number;
}

const NAME = 'redis';
const MAX_SHARDS = 1024;
/** Members a listing script may examine per shard and page, beyond `limit`, before it hands back a cursor. */
const LIST_EXTRA_BUDGET = 1000;
/** Expired entries removed per script call by `deleteExpired` (keeps each call short: Redis runs nothing else meanwhile). */
const PURGE_CHUNK = 500;

/**
 * Storage on Redis. Every write is one Lua script that checks its conditions
 * and writes in one step, so compare-and-set is linearizable and a batch is
 * all or nothing; a batch spans one partition, whose keys share one hash tag
 * (one cluster slot). Entries expire logically at the caller's clock and
 * physically through Redis's own expiry (`PXAT`) a grace period later.
 * Listing walks a sorted-set index per shard (`ZRANGE ... BYLEX`), never
 * `KEYS` or `SCAN`.
 *
 * Ships from `oauth-vault/redis`.
 *
 * @example
 * ```ts
 * import { connectRedis, redisAdapter } from 'oauth-vault/redis';
 * const client = await connectRedis({ url: 'redis://127.0.0.1:6379' });
 * const adapter = redisAdapter({ client, keyPrefix: 'auth:' });
 * ```
 */
export function redisAdapter(options: RedisAdapterOptions): StorageAdapter {
  if (typeof options !== 'object' || options === null) throw new InvalidRequestError('options', 'must be an object');
  const { client, cluster, keyPrefix = 'oauth-vault:', shards = 16, commandTimeoutMs = 5_000, expiryGraceMs = 60_000 } = options;
  const isClient = (value: unknown) => typeof value === 'object' && value !== null && typeof (value as { sendCommand?: unknown }).sendCommand === 'function';
  if (cluster === undefined && !isClient(client)) {
    throw new InvalidRequestError('client', 'must be a Redis client with sendCommand (node-redis createClient(), or connectRedis())');
  }
  if (cluster !== undefined && (!isClient(cluster) || client !== undefined)) {
    throw new InvalidRequestError('cluster', 'must be a Redis Cluster client with sendCommand (node-redis createCluster()), given instead of client');
  }
  if (typeof keyPrefix !== 'string' || /[{}]/.test(keyPrefix)) throw new InvalidRequestError('keyPrefix', 'must be a string without "{" or "}"');
  if (!Number.isSafeInteger(shards) || shards < 1 || shards > MAX_SHARDS) throw new InvalidRequestError('shards', `must be an integer from 1 to ${MAX_SHARDS}`);
  if (!Number.isSafeInteger(commandTimeoutMs) || commandTimeoutMs < 1) throw new InvalidRequestError('commandTimeoutMs', 'must be a positive integer');
  if (!Number.isSafeInteger(expiryGraceMs) || expiryGraceMs < 0) throw new InvalidRequestError('expiryGraceMs', 'must be a non-negative integer');
  if (options.now !== undefined && typeof options.now !== 'function') throw new InvalidRequestError('now', 'must be a function');
  const now = options.now ?? Date.now;
  const layout = createLayout(keyPrefix, shards);
  const redis = commandRunner(sendCommandOf(client, cluster), commandTimeoutMs);

  /** Runs operations of one shard as one write script (see WRITE_SCRIPT for the argument layout). */
  const write = async (operations: readonly WriteOperation[]): Promise<BatchResult> => {
    const { index, expiry } = layout.shardKeys(layout.shardOfKey(operations[0]!.key));
    const args: (string | Uint8Array)[] = [String(now())];
    for (const operation of operations) {
      const condition = 'condition' in operation && operation.condition !== undefined ? conditionArguments(operation.condition) : ['', ''];
      const expiresAt = operation.type === 'put' && operation.expiresAt !== undefined ? operation.expiresAt : undefined;
      args.push(
        operation.type,
        operation.key,
        ...condition,
        expiresAt === undefined ? '' : String(expiresAt),
        expiresAt === undefined ? '' : String(expiresAt + expiryGraceMs),
        operation.type === 'put' ? toArgument(operation.entry) : '',
      );
    }
    const keys = [index, expiry, ...operations.map((operation) => layout.entryKey(operation.key))];
    const [ok, failed, entries] = (await redis.script(WRITE_SCRIPT, keys, args, 'bytes')) as [number, number, (Uint8Array | null)[]];
    const read = entries.map((raw) => (raw === null ? null : toStored(raw)));
    return ok === 1 ? { ok: true, entries: read } : { ok: false, failed, entries: read };
  };
  const put = (key: string, value: Uint8Array, expiresAt: number | undefined, condition?: WriteCondition): Promise<[BatchResult, string]> => {
    const version = newVersion();
    const operation: WriteOperation = { type: 'put', key, entry: encodeEntry(version, expiresAt, value), expiresAt, condition };
    return write([operation]).then((result) => [result, version]);
  };

  const listShard = async (shard: ShardKeys, min: string, prefix: string, limit: number): Promise<ShardPage> => {
    const args = [String(now()), min, prefix, String(limit), String(limit + LIST_EXTRA_BUDGET)];
    const [keys, last, done] = (await redis.script(LIST_SCRIPT, [shard.index, shard.expiry], args, 'text')) as [string[], string | null, number];
    return { keys, last, done: done === 1 };
  };

  const purgeShard = async (shard: ShardKeys, at: number): Promise<number> => {
    let removed = 0;
    for (;;) {
      const members = (await redis.text(shard.expiry, ['ZRANGE', shard.expiry, '-inf', String(at), 'BYSCORE', 'LIMIT', '0', String(PURGE_CHUNK)])) as string[];
      if (members.length === 0) return removed;
      const keys = [shard.index, shard.expiry, ...members.map((member) => layout.entryKey(member))];
      removed += (await redis.script(PURGE_SCRIPT, keys, [String(at), ...members], 'text')) as number;
      if (members.length < PURGE_CHUNK) return removed;
    }
  };

  const allShards = (): ShardKeys[] => Array.from({ length: shards }, (_, shard) => layout.shardKeys(shard));

  return defineAdapter({
    name: NAME,
    capabilities: { atomic: true, nativeTtl: true, atomicBatch: true, batchScope: 'partition', maxValueBytes: 16 * 1024 * 1024, maxKeyBytes: 2048 },

    async get(key) {
      const entryKey = layout.entryKey(key);
      const raw = (await redis.bytes(entryKey, ['GET', entryKey])) as Uint8Array | null;
      if (raw === null) return null;
      const entry = toStored(raw);
      return entry.expiresAt !== undefined && entry.expiresAt <= now() ? null : entry;
    },

    async put(key, value, expiresAt) {
      const [, version] = await put(key, value, expiresAt);
      return version;
    },

    async compareAndSet(key, value, condition, expiresAt) {
      const [result, version] = await put(key, value, expiresAt, condition);
      return result.ok ? version : null;
    },

    async delete(key, ifVersion) {
      const condition: WriteCondition = ifVersion === undefined ? { ifPresent: true } : { ifVersion };
      return (await write([{ type: 'delete', key, condition }])).ok;
    },

    async list({ prefix, cursor, limit }): Promise<ListResult> {
      const min = cursor !== undefined && compareKeys(cursor, prefix) >= 0 ? `(${cursor}` : prefix === '' ? '-' : `[${prefix}`;
      const pages = await Promise.all(allShards().map((shard) => listShard(shard, min, prefix, limit)));
      return mergePages(pages, limit);
    },

    async batch(operations: CheckedBatchOperation[]): Promise<BatchResult> {
      return write(
        operations.map((operation): WriteOperation => {
          if (operation.type !== 'put') return operation;
          const { key, value, expiresAt, condition } = operation;
          return { type: 'put', key, entry: encodeEntry(newVersion(), expiresAt, value), expiresAt, condition };
        }),
      );
    },

    async deleteExpired() {
      const at = now();
      const removed = await Promise.all(allShards().map((shard) => purgeShard(shard, at)));
      return removed.reduce((sum, count) => sum + count, 0);
    },
  });
}

/** A batch operation as the write script takes it: a put carries its encoded entry string. */
type WriteOperation =
  | { type: 'put'; key: string; entry: Uint8Array; expiresAt: number | undefined; condition: WriteCondition | undefined }
  | Exclude<CheckedBatchOperation, { type: 'put' }>;

interface ShardPage {
  keys: string[];
  /** The last member the shard examined (live or not), or null when it found none. */
  last: string | null;
  /** Nothing more in this shard's range. */
  done: boolean;
}

/** Versions are random (96 bits), so none is reused even after Redis lost its data. */
const newVersion = (): string => randomId(12);

function conditionArguments(condition: WriteCondition): [string, string] {
  if ('ifAbsent' in condition) return ['absent', ''];
  if ('ifPresent' in condition) return ['present', ''];
  return ['version', condition.ifVersion];
}

function toStored(raw: Uint8Array): StoredEntry {
  const { value, version, expiresAt } = decodeEntry(raw);
  return expiresAt === undefined ? { value, version } : { value, version, expiresAt };
}

/**
 * One page from every shard's page. A shard that stopped early (it found
 * `limit` keys, or examined its budget) has seen only keys up to its `last`:
 * the merged page stops at the smallest such bound, so the cursor never
 * skips a key that a shard has not looked at yet.
 */
function mergePages(pages: readonly ShardPage[], limit: number): ListResult {
  let bound: string | undefined;
  for (const page of pages) {
    if (!page.done && page.last !== null && (bound === undefined || compareKeys(page.last, bound) < 0)) bound = page.last;
  }
  const keys = pages
    .flatMap((page) => page.keys)
    .filter((key) => bound === undefined || compareKeys(key, bound) <= 0)
    .sort(compareKeys);
  const page = keys.slice(0, limit);
  if (keys.length > limit) return { keys: page, cursor: page[page.length - 1]! };
  return bound === undefined ? { keys: page } : { keys: page, cursor: bound };
}
