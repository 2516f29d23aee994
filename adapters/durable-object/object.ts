import { DurableObject } from 'cloudflare:workers';
import { prefixUpperBound } from '../cloudflare-d1/key-range.js';
import type { ConditionInput, EntryResult, ListPageResult } from './protocol.js';

/** Retry delay for the expiry alarm when no caller clock is known yet. */
const ALARM_RETRY_MS = 60_000;

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS vault_entries (
    key TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL,
    version TEXT NOT NULL,
    expires_at INTEGER
  ) WITHOUT ROWID`,
  `CREATE INDEX IF NOT EXISTS vault_entries_expires_at ON vault_entries (expires_at) WHERE expires_at IS NOT NULL`,
];

interface Row extends Record<string, SqlStorageValue> {
  value: ArrayBuffer;
  version: string;
  expires_at: number | null;
}

function toArrayBuffer(value: Uint8Array): ArrayBuffer {
  return value.byteOffset === 0 && value.byteLength === value.buffer.byteLength
    ? (value.buffer as ArrayBuffer)
    : (value.slice().buffer as ArrayBuffer);
}

function newVersion(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/**
 * The Durable Object behind `durableObjectAdapter`: one SQLite-backed object
 * per shard, holding the entries of every partition routed to it. Export it
 * from your Worker and bind it with a `new_sqlite_classes` migration.
 *
 * Every RPC method runs synchronously against `ctx.storage.sql` from its
 * first read to its last write: there is no `await` at all between a check
 * and its set, so no other request interleaves (the object is
 * single-threaded), and the implicit transaction commits them together.
 * Expired rows read as absent at the caller's `now` and are deleted by an
 * alarm set for the earliest expiry.
 *
 * Ships from `oauth-vault/cloudflare`.
 *
 * @example
 * ```ts
 * // worker.ts
 * export { VaultDurableObject } from 'oauth-vault/cloudflare';
 * ```
 */
export class VaultDurableObject<Env = unknown> extends DurableObject<Env> {
  /** Largest caller `now` seen: the alarm deletes only what callers consider expired. */
  #callerNow = 0;
  /** The armed alarm time (`null`: none), read once at start. */
  #alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    for (const statement of SCHEMA) ctx.storage.sql.exec(statement);
    void ctx.blockConcurrencyWhile(async () => {
      this.#alarmAt = await ctx.storage.getAlarm();
    });
  }

  #see(now: number): number {
    if (typeof now !== 'number' || !Number.isFinite(now)) throw new TypeError('now must be a number');
    if (now > this.#callerNow) this.#callerNow = now;
    return now;
  }

  #live(key: string, now: number): Row | null {
    const rows = this.ctx.storage.sql
      .exec<Row>('SELECT value, version, expires_at FROM vault_entries WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)', key, now)
      .toArray();
    return rows[0] ?? null;
  }

  #write(key: string, value: Uint8Array<ArrayBuffer>, expiresAt: number | null): string {
    const version = newVersion();
    this.ctx.storage.sql.exec(
      `INSERT INTO vault_entries (key, value, version, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version, expires_at = excluded.expires_at`,
      key,
      toArrayBuffer(value),
      version,
      expiresAt,
    );
    if (expiresAt !== null) this.#scheduleAlarm(expiresAt);
    return version;
  }

  #scheduleAlarm(at: number): void {
    if (this.#alarmAt !== null && this.#alarmAt <= at) return;
    this.#alarmAt = at;
    // Not awaited: setAlarm is storage, ordered by the output gate, and an
    // await here would split the caller's check from its set.
    this.ctx.storage.setAlarm(at).catch(() => {
      // Cleanup only: a failed arm just delays physical deletion.
      this.#alarmAt = null;
    });
  }

  /** Reads a live entry. */
  get(key: string, now: number): EntryResult | null {
    const row = this.#live(key, this.#see(now));
    return row && { value: new Uint8Array(row.value), version: row.version, expiresAt: row.expires_at };
  }

  /** Writes unconditionally; returns the new version. */
  put(key: string, value: Uint8Array<ArrayBuffer>, expiresAt: number | null, now: number): string {
    this.#see(now);
    return this.#write(key, value, expiresAt);
  }

  /** Check and set in one synchronous step; `null` when the condition failed. */
  compareAndSet(key: string, value: Uint8Array<ArrayBuffer>, condition: ConditionInput, expiresAt: number | null, now: number): string | null {
    const current = this.#live(key, this.#see(now));
    const holds = 'ifAbsent' in condition ? current === null : current !== null && current.version === condition.ifVersion;
    return holds ? this.#write(key, value, expiresAt) : null;
  }

  /** Deletes a live entry (with `ifVersion`, only that version). */
  delete(key: string, ifVersion: string | null, now: number): boolean {
    const current = this.#live(key, this.#see(now));
    if (current === null || (ifVersion !== null && current.version !== ifVersion)) return false;
    this.ctx.storage.sql.exec('DELETE FROM vault_entries WHERE key = ?', key);
    return true;
  }

  /** Live keys under `prefix` after `after`, ascending, at most `limit`. */
  list(prefix: string, after: string | null, limit: number, now: number): ListPageResult {
    this.#see(now);
    const useAfter = after !== null && after >= prefix;
    const clauses = [useAfter ? 'key > ?' : 'key >= ?'];
    const params: SqlStorageValue[] = [useAfter ? after : prefix];
    const upper = prefixUpperBound(prefix);
    if (upper !== undefined) {
      clauses.push('key < ?');
      params.push(upper);
    }
    params.push(now, limit + 1);
    const rows = this.ctx.storage.sql
      .exec<{ key: string }>(
        `SELECT key FROM vault_entries WHERE ${clauses.join(' AND ')} AND (expires_at IS NULL OR expires_at > ?) ORDER BY key LIMIT ?`,
        ...params,
      )
      .toArray();
    return { keys: rows.slice(0, limit).map((row) => row.key), more: rows.length > limit };
  }

  /** Deletes entries expired at `now`; returns how many. */
  deleteExpired(now: number): number {
    return this.ctx.storage.sql.exec('DELETE FROM vault_entries WHERE expires_at IS NOT NULL AND expires_at <= ?', this.#see(now))
      .rowsWritten;
  }

  /** Deletes what callers' clocks consider expired, then re-arms for the next expiry. */
  override async alarm(): Promise<void> {
    if (this.#callerNow > 0) {
      this.ctx.storage.sql.exec('DELETE FROM vault_entries WHERE expires_at IS NOT NULL AND expires_at <= ?', this.#callerNow);
    }
    const next = this.ctx.storage.sql
      .exec<{ next: number | null }>('SELECT min(expires_at) AS next FROM vault_entries WHERE expires_at IS NOT NULL')
      .one().next;
    if (next === null) {
      this.#alarmAt = null;
      return;
    }
    // A row past wall-clock time but live by the callers' clock: look again later.
    this.#alarmAt = next > Date.now() ? next : Date.now() + ALARM_RETRY_MS;
    await this.ctx.storage.setAlarm(this.#alarmAt);
  }
}
