import { DurableObject } from 'cloudflare:workers';
import { conditionHolds, decideBatch } from '../../src/storage/batch-plan.js';
import type { CheckedBatchOperation } from '../../src/storage/checks.js';
import type { BatchResult, StoredEntry, WriteCondition } from '../../src/storage/contract.js';
import { entriesSchema, entryStatements, listQuery } from '../../src/storage/sql.js';
import type { EntryResult, ListPageResult } from './protocol.js';

/** Retry delay for the expiry alarm when no caller clock is known yet. */
const ALARM_RETRY_MS = 60_000;
const TABLE = 'vault_entries';
const SQL = entryStatements(TABLE);

interface Row extends Record<string, SqlStorageValue> {
  value: ArrayBuffer;
  version: string;
  expires_at: number | null;
}

/** A batch waiting for the next group commit. */
interface QueuedBatch {
  operations: CheckedBatchOperation[];
  now: number;
  resolve: (result: BatchResult) => void;
  reject: (error: unknown) => void;
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
 * Every check-and-set runs synchronously against `ctx.storage.sql` from its
 * first read to its last write: there is no `await` between a check and its
 * set, so no other request interleaves (the object is single-threaded).
 * Batches are group-committed: the batches that arrive while one is waiting
 * are decided one after another, in arrival order, in one synchronous pass
 * and one storage transaction, so each keeps its all-or-nothing and its
 * conditions see every batch decided before it. Expired rows read as absent
 * at the caller's `now` and are deleted by an alarm set for the earliest
 * expiry.
 *
 * Ships from `oauth-vault/cloudflare-durable-object` (and `oauth-vault/cloudflare`).
 *
 * @example
 * ```ts
 * // worker.ts
 * export { VaultDurableObject } from 'oauth-vault/cloudflare-durable-object';
 * ```
 */
export class VaultDurableObject<Env = unknown> extends DurableObject<Env> {
  /** Largest caller `now` seen: the alarm deletes only what callers consider expired. */
  #callerNow = 0;
  /** The armed alarm time (`null`: none), read once at start. */
  #alarmAt: number | null = null;
  /** Batches waiting for the group commit; a flush is scheduled while non-empty. */
  #queue: QueuedBatch[] = [];

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    for (const statement of entriesSchema(TABLE)) ctx.storage.sql.exec(statement);
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
    return this.ctx.storage.sql.exec<Row>(SQL.select, key, now).toArray()[0] ?? null;
  }

  #write(key: string, value: Uint8Array<ArrayBuffer>, expiresAt: number | null): string {
    const version = newVersion();
    this.ctx.storage.sql.exec(SQL.upsert, key, toArrayBuffer(value), version, expiresAt);
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
  compareAndSet(key: string, value: Uint8Array<ArrayBuffer>, condition: WriteCondition, expiresAt: number | null, now: number): string | null {
    const current = this.#live(key, this.#see(now));
    return conditionHolds(condition, current) ? this.#write(key, value, expiresAt) : null;
  }

  /** Deletes a live entry (with `ifVersion`, only that version). */
  delete(key: string, ifVersion: string | null, now: number): boolean {
    const current = this.#live(key, this.#see(now));
    if (current === null || (ifVersion !== null && current.version !== ifVersion)) return false;
    this.ctx.storage.sql.exec(SQL.deleteAny, key);
    return true;
  }

  /** Live keys under `prefix` after `after`, ascending, at most `limit`. */
  list(prefix: string, after: string | null, limit: number, now: number): ListPageResult {
    const query = listQuery(TABLE, prefix, after ?? undefined, limit, this.#see(now));
    const rows = this.ctx.storage.sql.exec<{ key: string }>(query.sql, ...query.params).toArray();
    return { keys: rows.slice(0, limit).map((row) => row.key), more: rows.length > limit };
  }

  /**
   * Applies a batch atomically, in the next group commit. Resolves once the
   * transaction that holds it has committed.
   */
  batch(operations: CheckedBatchOperation[], now: number): Promise<BatchResult> {
    this.#see(now);
    return new Promise<BatchResult>((resolve, reject) => {
      this.#queue.push({ operations, now, resolve, reject });
      // The first batch of a group schedules the flush; the ones that arrive meanwhile join it.
      if (this.#queue.length === 1) setTimeout(() => this.#flush(), 0);
    });
  }

  /**
   * The group commit: decides every queued batch in order, synchronously, in
   * one transaction. A failure inside rolls the whole transaction back and
   * fails every batch of the group (retriable): none is half-applied.
   */
  #flush(): void {
    const group = this.#queue;
    this.#queue = [];
    let results: BatchResult[];
    try {
      results = this.ctx.storage.transactionSync(() => group.map((item) => this.#applyBatch(item.operations, item.now)));
    } catch (error) {
      for (const item of group) item.reject(error);
      return;
    }
    group.forEach((item, index) => item.resolve(results[index]!));
  }

  /** Decides one batch against the current state and writes it if every condition holds. Synchronous. */
  #applyBatch(operations: CheckedBatchOperation[], now: number): BatchResult {
    const read = (key: string): StoredEntry | null => {
      const row = this.#live(key, now);
      return row && { value: new Uint8Array(row.value), version: row.version, ...(row.expires_at !== null && { expiresAt: row.expires_at }) };
    };
    const decision = decideBatch(operations, read);
    if (!decision.ok) return decision;
    for (const operation of operations) {
      if (operation.type === 'put') this.#write(operation.key, operation.value, operation.expiresAt ?? null);
      else if (operation.type === 'delete') this.ctx.storage.sql.exec(SQL.deleteAny, operation.key);
    }
    return decision;
  }

  /** Deletes entries expired at `now`; returns how many. */
  deleteExpired(now: number): number {
    return this.ctx.storage.sql.exec(SQL.deleteExpired, this.#see(now)).rowsWritten;
  }

  /** Deletes what callers' clocks consider expired, then re-arms for the next expiry. */
  override async alarm(): Promise<void> {
    if (this.#callerNow > 0) this.ctx.storage.sql.exec(SQL.deleteExpired, this.#callerNow);
    const next = this.ctx.storage.sql
      .exec<{ next: number | null }>(`SELECT min(expires_at) AS next FROM ${TABLE} WHERE expires_at IS NOT NULL`)
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
