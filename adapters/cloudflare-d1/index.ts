/**
 * `oauth-vault/cloudflare-d1`: storage on Cloudflare D1.
 *
 * @module
 */
import { decideBatch, keysRead } from '../../src/storage/batch-plan.js';
import type { CheckedBatchOperation } from '../../src/storage/checks.js';
import type { BatchResult, StorageAdapter, StoredEntry, WriteCondition } from '../../src/storage/contract.js';
import { defineAdapter } from '../../src/storage/define-adapter.js';
import { entryStatements, LIVE, listQuery } from '../../src/storage/sql.js';
import { randomId } from '../../src/crypto/random.js';
import { InvalidRequestError, StorageError } from '../../src/errors.js';
import { requireD1, type D1DatabaseLike, type D1StatementLike } from './binding.js';
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
 * Ships from `oauth-vault/cloudflare-d1` (and `oauth-vault/cloudflare`).
 *
 * @example
 * ```ts
 * import { d1Adapter, migrateD1 } from 'oauth-vault/cloudflare-d1';
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
  const sql = entryStatements(table);
  const newVersion = (): string => randomId(12);

  const toEntry = (row: Row | null | undefined): StoredEntry | null =>
    row ? { value: toBytes(row.value), version: row.version, ...(row.expires_at !== null && { expiresAt: row.expires_at }) } : null;
  const upsert = (key: string, value: Uint8Array<ArrayBuffer>, expiresAt: number | undefined): D1StatementLike =>
    db.prepare(sql.upsert).bind(key, value, newVersion(), expiresAt ?? null);
  // Inserts ok = 0 into the guard table (violating its CHECK) unless the condition holds.
  const guardStatement = (key: string, condition: WriteCondition, at: number): D1StatementLike => {
    if ('ifAbsent' in condition) return db.prepare(`INSERT INTO ${guard} (ok) SELECT NOT EXISTS (SELECT 1 FROM ${table} WHERE key = ? AND ${LIVE})`).bind(key, at);
    if ('ifPresent' in condition) return db.prepare(`INSERT INTO ${guard} (ok) SELECT EXISTS (SELECT 1 FROM ${table} WHERE key = ? AND ${LIVE})`).bind(key, at);
    return db.prepare(`INSERT INTO ${guard} (ok) SELECT EXISTS (SELECT 1 FROM ${table} WHERE key = ? AND version = ? AND ${LIVE})`).bind(key, condition.ifVersion, at);
  };
  /** Live entries of `keys`, read in one query (the failure path of a batch). */
  const readMany = async (keys: string[], at: number): Promise<Map<string, StoredEntry>> => {
    const found = new Map<string, StoredEntry>();
    if (keys.length === 0) return found;
    const { results } = await db
      .prepare(`SELECT key, value, version, expires_at FROM ${table} WHERE key IN (${keys.map(() => '?').join(', ')}) AND ${LIVE}`)
      .bind(...keys, at)
      .all<Row & { key: string }>();
    for (const row of results) found.set(row.key, toEntry(row)!);
    return found;
  };

  return defineAdapter({
    name: NAME,
    capabilities: { atomic: true, nativeTtl: false, atomicBatch: true, maxValueBytes: D1_MAX_VALUE_BYTES, maxKeyBytes: 2048 },

    async get(key) {
      return toEntry(await db.prepare(sql.select).bind(key, now()).first<Row>());
    },

    async put(key, value, expiresAt) {
      const version = newVersion();
      await db.prepare(sql.upsert).bind(key, value, version, expiresAt ?? null).run();
      return version;
    },

    async compareAndSet(key, value, condition, expiresAt) {
      const version = newVersion();
      const at = now();
      const statement =
        'ifAbsent' in condition
          ? db.prepare(sql.insertIfAbsent).bind(key, value, version, expiresAt ?? null, at)
          : 'ifPresent' in condition
            ? db.prepare(sql.updateIfPresent).bind(value, version, expiresAt ?? null, key, at)
            : db.prepare(sql.updateIfVersion).bind(value, version, expiresAt ?? null, key, condition.ifVersion, at);
      const result = await statement.run();
      return result.meta.changes === 1 ? version : null;
    },

    async delete(key, ifVersion) {
      const result = await db.prepare(sql.deleteLive).bind(key, now(), ifVersion ?? null, ifVersion ?? null).run();
      return result.meta.changes === 1;
    },

    async list({ prefix, cursor, limit }) {
      const query = listQuery(table, prefix, cursor, limit, now());
      const { results } = await db.prepare(query.sql).bind(...query.params).all<{ key: string }>();
      const keys = results.slice(0, limit).map((row) => row.key);
      return results.length > limit ? { keys, cursor: keys[keys.length - 1]! } : { keys };
    },

    async batch(operations: CheckedBatchOperation[]): Promise<BatchResult> {
      const at = now();
      // Reads and guards first: they see the state before any write of this batch, like every other adapter.
      const reads: D1StatementLike[] = [];
      const guards: D1StatementLike[] = [];
      const writes: D1StatementLike[] = [];
      for (const operation of operations) {
        if (operation.type === 'get') reads.push(db.prepare(sql.select).bind(operation.key, at));
        else if (operation.condition !== undefined) guards.push(guardStatement(operation.key, operation.condition, at));
        if (operation.type === 'put') writes.push(upsert(operation.key, operation.value, operation.expiresAt));
        if (operation.type === 'delete') writes.push(db.prepare(sql.deleteAny).bind(operation.key));
      }
      try {
        const results = await db.batch([...reads, ...guards, ...writes, db.prepare(`DELETE FROM ${guard}`)]);
        return { ok: true, entries: reads.map((_, index) => toEntry((results[index] as { results?: Row[] }).results?.[0])) };
      } catch (cause) {
        if (!isConditionFailure(cause)) throw new StorageError(NAME, 'batch failed', { cause, retriable: true });
      }
      // D1 rolled the batch back without saying which condition failed: read the keys again and tell.
      const current = await readMany(keysRead(operations), at);
      const decision = decideBatch(operations, (key) => current.get(key) ?? null);
      return decision.ok ? { ok: false, entries: decision.entries } : decision;
    },

    async deleteExpired() {
      const result = await db.prepare(sql.deleteExpired).bind(now()).run();
      return result.meta.changes ?? 0;
    },
  });
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
