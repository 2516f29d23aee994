import type { CheckedBatchOperation } from './checks.js';
import type { BatchResult, StoredEntry, WriteCondition } from './contract.js';

/**
 * Deciding a batch, for backends that can read every key it names before
 * writing any (memory, IndexedDB inside one transaction, a Durable Object
 * synchronously): every condition and `get` against the state before the
 * batch, in operation order. The backend applies the writes only when `ok`.
 */

/** Whether `condition` holds for the live entry `current` (`null`: absent or expired). */
export function conditionHolds(condition: WriteCondition, current: { readonly version: string } | null): boolean {
  if ('ifAbsent' in condition) return current === null;
  if ('ifPresent' in condition) return current !== null;
  return current !== null && current.version === condition.ifVersion;
}

/** Every key a batch reads (conditions and gets), each once: for backends that fetch before deciding. */
export function keysRead(operations: readonly CheckedBatchOperation[]): string[] {
  const keys = new Set<string>();
  for (const operation of operations) {
    if (operation.type === 'get' || operation.condition !== undefined) keys.add(operation.key);
  }
  return [...keys];
}

/**
 * Decides a batch: `read(key)` returns the live entry before the batch (or
 * `null`). `failed` is the first operation whose condition does not hold.
 */
export function decideBatch(operations: readonly CheckedBatchOperation[], readKey: (key: string) => StoredEntry | null): BatchResult {
  let failed: number | undefined;
  const entries: (StoredEntry | null)[] = [];
  // Each key is read once, however many operations name it.
  const seen = new Map<string, StoredEntry | null>();
  const read = (key: string): StoredEntry | null => {
    if (!seen.has(key)) seen.set(key, readKey(key));
    return seen.get(key)!;
  };
  operations.forEach((operation, index) => {
    if (operation.type === 'get') entries.push(read(operation.key));
    else if (failed === undefined && operation.condition !== undefined && !conditionHolds(operation.condition, read(operation.key))) failed = index;
  });
  return failed === undefined ? { ok: true, entries } : { ok: false, failed, entries };
}
