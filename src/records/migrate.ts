import type { Keyring } from '../crypto/keyring.js';
import { IntegrityError, InvalidRequestError } from '../errors.js';
import type { StorageAdapter } from '../storage/contract.js';
import { optionalInteger, optionalString, requireObject } from '../util/validate.js';
import { RecordStore } from './record-store.js';

export interface MigrateStorageOptions {
  /** Where the records are now. */
  from: StorageAdapter;
  /** Where they go. Entries already there are left alone (counted as skipped), so a run can be repeated. */
  to: StorageAdapter;
  /** The keyring that sealed them: each record is opened (proved intact) before it is copied. */
  keyring: Keyring;
  /** Only keys under this prefix; default all. */
  prefix?: string;
  /** Continue where a previous call stopped (its `cursor`). */
  cursor?: string;
  /** At most this many entries per call (1..100,000); default: all. The result's `cursor` continues. */
  limit?: number;
  /** Count what would be copied without writing anything. */
  dryRun?: boolean;
  /** Re-seal every record under the keyring's current key on the way. */
  reseal?: boolean;
  /** Called after each page with the cursor to resume from, e.g. to save progress. */
  onProgress?: (progress: MigrateStorageResult) => void | Promise<void>;
  /** Clock for logical expiry, epoch ms. */
  now?: () => number;
}

/** Records copied at once within a page. */
const CONCURRENCY = 16;

export interface MigrateStorageResult {
  /** Records written to the target (or that would be, in a dry run). */
  copied: number;
  /** Records not copied: expired, or already present on the target. */
  skipped: number;
  /** Records that could not be opened under the keyring (tampered, or sealed by a key not in it): not copied. */
  unreadable: number;
  /** Present when there is more to copy: pass it back as `cursor`. */
  cursor?: string;
}

/**
 * Copies every record from one adapter to another (KV to D1, D1 to a
 * Durable Object, memory to anything), resumable with a cursor. Each record
 * is opened under the keyring before it is copied, so the target receives
 * only records that are intact and readable; each keeps its key and its
 * expiry. Writes are create-if-absent: running again, or resuming after an
 * interruption, copies only what is missing. Stop writing to the source
 * first: a record changed there after it was copied is not copied again.
 *
 * For a split deployment (KV beside a Durable Object) migrate each adapter:
 * both into one D1 is fine (their keys never collide).
 *
 * Ships from `oauth-vault/storage` (and `oauth-vault`).
 *
 * @example
 * ```ts
 * import { migrateStorage } from 'oauth-vault/storage';
 * let cursor: string | undefined;
 * do {
 *   const page = await migrateStorage({ from: kv, to: d1, keyring, cursor, limit: 1000 });
 *   cursor = page.cursor;
 * } while (cursor !== undefined);
 * ```
 */
export async function migrateStorage(options: MigrateStorageOptions): Promise<MigrateStorageResult> {
  requireObject('options', options);
  const { from, to, keyring } = options;
  for (const [field, adapter] of [['options.from', from], ['options.to', to]] as const) {
    if (typeof adapter?.list !== 'function' || typeof adapter.compareAndSet !== 'function') throw new InvalidRequestError(field, 'must be a StorageAdapter');
  }
  const prefix = optionalString('options.prefix', options.prefix, { min: 0, max: 1024 }) ?? '';
  const limit = optionalInteger('options.limit', options.limit, 1, 100_000);
  let cursor = optionalString('options.cursor', options.cursor, { max: 4096 });
  const now = options.now ?? Date.now;
  const source = new RecordStore({ adapter: from, keyring, now });
  const target = new RecordStore({ adapter: to, keyring, now });
  const result: MigrateStorageResult = { copied: 0, skipped: 0, unreadable: 0 };
  const copyOne = async (key: string): Promise<'copied' | 'skipped' | 'unreadable'> => {
    const slash = key.indexOf('/');
    const [kind, id] = slash > 0 ? [key.slice(0, slash), key.slice(slash + 1)] : [key, ''];
    const entry = await from.get(key);
    let record;
    try {
      record = entry && id !== '' ? await source.collection<unknown>(kind).open(id, entry) : null;
    } catch (error) {
      if (!(error instanceof IntegrityError || error instanceof InvalidRequestError)) throw error;
      return 'unreadable';
    }
    if (!entry || !record) return 'skipped';
    if (options.dryRun) return 'copied';
    const expiry = record.expiresAt === undefined ? {} : { expiresAt: record.expiresAt };
    const written = options.reseal
      ? await target.collection<unknown>(kind).create(id, record.data, expiry)
      : await to.compareAndSet(key, entry.value, { ifAbsent: true }, expiry);
    return written === null ? 'skipped' : 'copied';
  };
  let handled = 0;
  for (;;) {
    const room = limit === undefined ? 1000 : Math.min(1000, limit - handled);
    const page = await from.list({ prefix, limit: room, ...(cursor !== undefined && { cursor }) });
    // A page's records are independent: copy them a few at a time, not one round trip after another.
    for (let start = 0; start < page.keys.length; start += CONCURRENCY) {
      const outcomes = await Promise.all(page.keys.slice(start, start + CONCURRENCY).map((key) => copyOne(key)));
      for (const outcome of outcomes) result[outcome]++;
    }
    handled += page.keys.length;
    cursor = page.cursor;
    const progress = { ...result, ...(cursor !== undefined && { cursor }) };
    await options.onProgress?.(progress);
    if (cursor === undefined || (limit !== undefined && handled >= limit)) return progress;
  }
}
