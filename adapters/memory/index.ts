/**
 * `oauth-vault/memory`: an in-process adapter, for tests, tools and
 * single-process servers.
 *
 * @module
 */
import { isExpired, type CheckedBatchOperation } from '../../src/storage/checks.js';
import { decideBatch, conditionHolds } from '../../src/storage/batch-plan.js';
import type { StorageAdapter, StoredEntry } from '../../src/storage/contract.js';
import { defineAdapter } from '../../src/storage/define-adapter.js';
import { randomId } from '../../src/crypto/random.js';

export interface MemoryAdapterOptions {
  /** Clock for logical expiry, epoch milliseconds (tests inject one). */
  now?: () => number;
  /** Largest value accepted; default 16 MiB. */
  maxValueBytes?: number;
}

interface MemoryEntry {
  value: Uint8Array<ArrayBuffer>;
  version: string;
  expiresAt: number | undefined;
}

/**
 * An in-process adapter: atomic (every operation runs to completion without
 * yielding), with atomic batches over any keys. Contents are lost with the
 * process.
 *
 * Ships from `oauth-vault/memory`.
 *
 * @example
 * ```ts
 * import { memoryAdapter } from 'oauth-vault/memory';
 * const adapter = memoryAdapter();
 * ```
 */
export function memoryAdapter(options: MemoryAdapterOptions = {}): StorageAdapter {
  const now = options.now ?? Date.now;
  const entries = new Map<string, MemoryEntry>();
  // Versions: a per-instance random prefix and a counter, so none is ever reused.
  const instance = randomId(6);
  let counter = 0;

  const live = (key: string): MemoryEntry | undefined => {
    const entry = entries.get(key);
    return entry && !isExpired(entry.expiresAt, now()) ? entry : undefined;
  };
  const toStored = (entry: MemoryEntry | undefined): StoredEntry | null =>
    entry ? { value: entry.value.slice(), version: entry.version, ...(entry.expiresAt !== undefined && { expiresAt: entry.expiresAt }) } : null;
  const write = (key: string, value: Uint8Array<ArrayBuffer>, expiresAt: number | undefined): string => {
    const version = `${instance}.${++counter}`;
    entries.set(key, { value: value.slice(), version, expiresAt });
    return version;
  };
  const apply = (operation: CheckedBatchOperation): void => {
    if (operation.type === 'put') write(operation.key, operation.value, operation.expiresAt);
    else if (operation.type === 'delete') entries.delete(operation.key);
  };

  return defineAdapter({
    name: 'memory',
    capabilities: { atomic: true, nativeTtl: false, atomicBatch: true, maxValueBytes: options.maxValueBytes ?? 16 * 1024 * 1024, maxKeyBytes: 2048 },
    get: async (key) => toStored(live(key)),
    put: async (key, value, expiresAt) => write(key, value, expiresAt),
    compareAndSet: async (key, value, condition, expiresAt) => (conditionHolds(condition, live(key) ?? null) ? write(key, value, expiresAt) : null),
    async delete(key, ifVersion) {
      const entry = live(key);
      if (!entry) {
        entries.delete(key); // an expired leftover: remove it, report nothing deleted
        return false;
      }
      if (ifVersion !== undefined && entry.version !== ifVersion) return false;
      return entries.delete(key);
    },
    async list({ prefix, cursor, limit }) {
      const at = now();
      const keys: string[] = [];
      for (const [key, entry] of entries) {
        if (key.startsWith(prefix) && (cursor === undefined || key > cursor) && !isExpired(entry.expiresAt, at)) keys.push(key);
      }
      keys.sort();
      const page = keys.slice(0, limit);
      return keys.length > limit ? { keys: page, cursor: page[page.length - 1]! } : { keys: page };
    },
    async batch(operations) {
      const decision = decideBatch(operations, (key) => toStored(live(key)));
      if (decision.ok) operations.forEach(apply);
      return decision;
    },
    async deleteExpired() {
      const at = now();
      let removed = 0;
      for (const [key, entry] of entries) {
        if (isExpired(entry.expiresAt, at)) {
          entries.delete(key);
          removed++;
        }
      }
      return removed;
    },
  });
}
