import type {
  AdapterCapabilities,
  BatchOperation,
  ListOptions,
  ListResult,
  StorageAdapter,
  StoredEntry,
  WriteCondition,
  WriteOptions,
} from '../../src/adapter.js';
import { checkBatch, checkCondition, checkKey, checkListOptions, checkValue, checkWriteOptions } from '../../src/adapter-input.js';
import { randomId } from '../../src/crypto/random.js';
import { InvalidRequestError, StorageError } from '../../src/errors.js';
import { requireD1, type D1DatabaseLike, type D1StatementLike } from './binding.js';
import { prefixUpperBound } from './key-range.js';
import { BATCH_CONDITION_CONSTRAINT, DEFAULT_TABLE, isValidTableName } from './schema.js';

export { migrateD1, type MigrateD1Options } from './migrate.js';
export type { D1DatabaseLike, D1StatementLike } from './binding.js';

export interface D1AdapterOptions {
  /** The D1 binding, e.g. `env.DB`. Run {@link migrateD1} (or the SQL migrations) first. */
  database: D1DatabaseLike;
  /** Table name; default `vault_entries`. Must match the migration. */
  table?: string;
  /** Clock for logical expiry, epoch milliseconds (tests inject one). */
  now?: () => number;
}

const NAME = 'cloudflare-d1';

/**
 * D1 limits a row (and any string or BLOB) to 2,000,000 bytes; keep room for
 * the key, the version and SQLite's record header.
 */
export const D1_MAX_VALUE_BYTES = 2_000_000 - 4096;
const MAX_KEY_BYTES = 2048;

interface Row {
  value: unknown;
  version: string;
  expires_at: number | null;
}

/**
 * Storage on Cloudflare D1 (SQLite). Atomic: compare-and-set is one
 * conditional `INSERT ... ON CONFLICT DO UPDATE ... WHERE` or
 * `UPDATE ... WHERE version = ?` and its `meta.changes`; `batch()` is one D1
 * batch (a transaction) whose failed conditions roll it back. Expired rows
 * read as absent and are removed by {@link StorageAdapter.deleteExpired}
 * (call it from a Cron Trigger).
 *
 * Ships from `oauth-vault/cloudflare`.
 *
 * @example
 * ```ts
 * import { d1Adapter, migrateD1 } from 'oauth-vault/cloudflare';
 * await migrateD1(env.DB);
 * const adapter = d1Adapter({ database: env.DB });
 * ```
 */
export function d1Adapter(options: D1AdapterOptions): StorageAdapter {
  if (typeof options !== 'object' || options === null) throw new InvalidRequestError('options', 'must be an object');
  const db = requireD1('database', options.database);
  const table = options.table ?? DEFAULT_TABLE;
  if (typeof table !== 'string' || !isValidTableName(table)) {
    throw new InvalidRequestError('table', 'must be a SQL identifier (letters, digits, underscore; at most 63 characters)');
  }
  if (options.now !== undefined && typeof options.now !== 'function') throw new InvalidRequestError('now', 'must be a function');
  const now = options.now ?? Date.now;
  const guard = `${table}_guard`;
  const capabilities: AdapterCapabilities = {
    atomic: true,
    nativeTtl: false,
    atomicBatch: true,
    maxValueBytes: D1_MAX_VALUE_BYTES,
    maxKeyBytes: MAX_KEY_BYTES,
  };
  const LIVE = '(expires_at IS NULL OR expires_at > ?)';
  const newVersion = (): string => randomId(12);

  const run = async <T>(operation: string, body: () => Promise<T>): Promise<T> => {
    try {
      return await body();
    } catch (cause) {
      throw new StorageError(NAME, `${operation} failed`, { cause, retriable: true });
    }
  };
  const upsert = (key: string, value: Uint8Array<ArrayBuffer>, version: string, expiresAt: number | undefined): D1StatementLike =>
    db
      .prepare(
        `INSERT INTO ${table} (key, value, version, expires_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version, expires_at = excluded.expires_at`,
      )
      .bind(key, value, version, expiresAt ?? null);
  // Inserts ok = 0 into the guard table (violating its CHECK) unless the condition holds.
  const guardStatement = (key: string, condition: WriteCondition | { ifVersion: string }, at: number): D1StatementLike =>
    'ifAbsent' in condition
      ? db.prepare(`INSERT INTO ${guard} (ok) SELECT NOT EXISTS (SELECT 1 FROM ${table} WHERE key = ? AND ${LIVE})`).bind(key, at)
      : db
          .prepare(`INSERT INTO ${guard} (ok) SELECT EXISTS (SELECT 1 FROM ${table} WHERE key = ? AND version = ? AND ${LIVE})`)
          .bind(key, condition.ifVersion, at);

  return {
    name: NAME,
    capabilities,

    async get(key: string): Promise<StoredEntry | null> {
      checkKey(NAME, key, MAX_KEY_BYTES);
      const at = now();
      const row = await run('get', () =>
        db.prepare(`SELECT value, version, expires_at FROM ${table} WHERE key = ? AND ${LIVE}`).bind(key, at).first<Row>(),
      );
      if (!row) return null;
      return {
        value: toBytes(row.value),
        version: row.version,
        ...(row.expires_at !== null && { expiresAt: row.expires_at }),
      };
    },

    async put(key: string, value: Uint8Array<ArrayBuffer>, writeOptions?: WriteOptions): Promise<string> {
      checkKey(NAME, key, MAX_KEY_BYTES);
      checkValue(NAME, value, capabilities.maxValueBytes);
      const expiresAt = checkWriteOptions(NAME, writeOptions);
      const version = newVersion();
      await run('put', () => upsert(key, value, version, expiresAt).run());
      return version;
    },

    async compareAndSet(key, value, condition, writeOptions) {
      checkKey(NAME, key, MAX_KEY_BYTES);
      checkValue(NAME, value, capabilities.maxValueBytes);
      const checked = checkCondition(NAME, condition);
      const expiresAt = checkWriteOptions(NAME, writeOptions);
      const version = newVersion();
      const at = now();
      const statement =
        'ifAbsent' in checked
          ? // Insert, or take over an expired row; a live row makes this a no-op.
            db
              .prepare(
                `INSERT INTO ${table} (key, value, version, expires_at) VALUES (?, ?, ?, ?)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version, expires_at = excluded.expires_at
                 WHERE ${table}.expires_at IS NOT NULL AND ${table}.expires_at <= ?`,
              )
              .bind(key, value, version, expiresAt ?? null, at)
          : db
              .prepare(`UPDATE ${table} SET value = ?, version = ?, expires_at = ? WHERE key = ? AND version = ? AND ${LIVE}`)
              .bind(value, version, expiresAt ?? null, key, checked.ifVersion, at);
      const result = await run('compareAndSet', () => statement.run());
      return result.meta.changes === 1 ? version : null;
    },

    async delete(key: string, deleteOptions?: { ifVersion?: string }): Promise<boolean> {
      checkKey(NAME, key, MAX_KEY_BYTES);
      const ifVersion = deleteOptions?.ifVersion;
      if (ifVersion !== undefined && typeof ifVersion !== 'string') {
        throw new InvalidRequestError('options.ifVersion', `must be a string (adapter "${NAME}")`);
      }
      const at = now();
      const result = await run('delete', () =>
        db
          .prepare(`DELETE FROM ${table} WHERE key = ? AND ${LIVE} AND (? IS NULL OR version = ?)`)
          .bind(key, at, ifVersion ?? null, ifVersion ?? null)
          .run(),
      );
      return result.meta.changes === 1;
    },

    async list(listOptions: ListOptions): Promise<ListResult> {
      const { prefix, cursor, limit } = checkListOptions(NAME, listOptions);
      const lower = cursor !== undefined && cursor >= prefix ? cursor : prefix;
      const upper = prefixUpperBound(prefix);
      const clauses = [cursor !== undefined && cursor >= prefix ? 'key > ?' : 'key >= ?'];
      const params: unknown[] = [lower];
      if (upper !== undefined) {
        clauses.push('key < ?');
        params.push(upper);
      }
      params.push(now(), limit + 1);
      const { results } = await run('list', () =>
        db
          .prepare(`SELECT key FROM ${table} WHERE ${clauses.join(' AND ')} AND ${LIVE} ORDER BY key LIMIT ?`)
          .bind(...params)
          .all<{ key: string }>(),
      );
      const keys = results.slice(0, limit).map((row) => row.key);
      return results.length > limit ? { keys, cursor: keys[keys.length - 1]! } : { keys };
    },

    async batch(operations: readonly BatchOperation[]): Promise<boolean> {
      // Validate everything first: a bad operation must not leave half a batch.
      const checked = checkBatch(NAME, operations, capabilities);
      const at = now();
      const guards: D1StatementLike[] = [];
      const writes: D1StatementLike[] = [];
      for (const operation of checked) {
        const { key } = operation;
        if (operation.type === 'put') {
          if (operation.condition !== undefined) guards.push(guardStatement(key, operation.condition, at));
          writes.push(upsert(key, operation.value, newVersion(), operation.expiresAt));
        } else {
          if (operation.ifVersion !== undefined) guards.push(guardStatement(key, { ifVersion: operation.ifVersion }, at));
          writes.push(db.prepare(`DELETE FROM ${table} WHERE key = ?`).bind(key));
        }
      }
      if (writes.length === 0) return true;
      // Guards see the state before any write of this batch, like every other adapter.
      const statements = [...guards, ...writes, db.prepare(`DELETE FROM ${guard}`)];
      try {
        await db.batch(statements);
        return true;
      } catch (cause) {
        if (isConditionFailure(cause)) return false;
        throw new StorageError(NAME, 'batch failed', { cause, retriable: true });
      }
    },

    async deleteExpired(): Promise<number> {
      const at = now();
      const result = await run('deleteExpired', () =>
        db.prepare(`DELETE FROM ${table} WHERE expires_at IS NOT NULL AND expires_at <= ?`).bind(at).run(),
      );
      return result.meta.changes ?? 0;
    },
  };
}

/** A batch guard's CHECK fired: a condition did not hold, D1 rolled back. */
function isConditionFailure(error: unknown): boolean {
  for (let current = error; current instanceof Error; current = current.cause) {
    if (current.message.includes(BATCH_CONDITION_CONSTRAINT)) return true;
  }
  return false;
}

/** D1 hands BLOBs back as ArrayBuffer (or as an array of numbers in older runtimes). */
function toBytes(value: unknown): Uint8Array<ArrayBuffer> {
  if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength)) as Uint8Array<ArrayBuffer>;
  if (Array.isArray(value)) return Uint8Array.from(value as number[]);
  throw new StorageError(NAME, 'a stored value is not a BLOB');
}
