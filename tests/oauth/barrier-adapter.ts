import { conditionHolds, decideBatch, keysRead } from '../../src/storage/batch-plan.js';
import type { CheckedBatchOperation } from '../../src/storage/checks.js';
import type { BatchOperation, StorageAdapter } from '../../src/storage/contract.js';
import { interceptAdapter } from './oauth-store-helpers.js';

/**
 * Race sharpeners for OAuth-level tests. Web APIs only.
 *
 * Each contender does its own crypto before its compare-and-set, so without
 * help the contenders reach the store spread out in time and a store whose
 * check and set are a few microtasks apart still looks atomic. The barrier
 * holds every contended call (a compare-and-set, or a batch with a
 * conditional write) until `contenders` of them are waiting, then lets them
 * all go in the same turn: the store decides them back to back.
 */

export interface BarrierAdapter extends StorageAdapter {
  /** How many calls the barrier released together (`contenders` when it was sharp). */
  readonly released: number;
}

function contended(operations: readonly BatchOperation[]): boolean {
  return operations.some((operation) => (operation.type === 'put' || operation.type === 'delete') && operation.condition !== undefined);
}

/**
 * Holds the first `contenders` contended calls and releases them together
 * (or after `timeoutMs`, so a test that miscounts fails instead of hanging);
 * every later call passes straight through. Use one per race.
 */
export function barrierAdapter(inner: StorageAdapter, contenders: number, timeoutMs = 5000): BarrierAdapter {
  let waiting: (() => void)[] = [];
  let released = 0;
  let open = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const release = (): void => {
    clearTimeout(timer);
    open = true;
    released = waiting.length;
    for (const go of waiting.splice(0)) go();
  };
  const gate = (): Promise<void> | undefined => {
    if (open) return undefined;
    return new Promise<void>((resolve) => {
      waiting.push(resolve);
      if (waiting.length === 1) timer = setTimeout(release, timeoutMs);
      if (waiting.length >= contenders) release();
    });
  };
  const adapter = interceptAdapter(inner, {
    compareAndSet: async (key, value, condition, options) => {
      await gate();
      return inner.compareAndSet(key, value, condition, options);
    },
    batch: async (operations) => {
      if (contended(operations)) await gate();
      return inner.batch!(operations);
    },
  });
  return Object.defineProperty(adapter, 'released', { get: () => released }) as BarrierAdapter;
}

/**
 * NEGATIVE CONTROL ONLY: an adapter whose compare-and-set and batches are
 * check-then-act with nothing but microtasks between the check and the set
 * (the reads' promises), the bug a careless adapter would have. It keeps
 * claiming to be atomic.
 */
export function checkThenActAdapter(inner: StorageAdapter): StorageAdapter {
  return interceptAdapter(inner, {
    name: `check-then-act(${inner.name})`,
    compareAndSet: async (key, value, condition, options) => {
      const current = await inner.get(key);
      return conditionHolds(condition, current) ? inner.put(key, value, options) : null;
    },
    batch: async (operations) => {
      const checked = operations as readonly CheckedBatchOperation[];
      const keys = keysRead(checked);
      const before = new Map(await Promise.all(keys.map(async (key) => [key, await inner.get(key)] as const)));
      const decision = decideBatch(checked, (key) => before.get(key) ?? null);
      if (!decision.ok) return decision;
      await Promise.all(
        checked.map((operation) => {
          if (operation.type === 'put') return inner.put(operation.key, operation.value, operation.expiresAt === undefined ? undefined : { expiresAt: operation.expiresAt });
          if (operation.type === 'delete') return inner.delete(operation.key);
          return undefined;
        }),
      );
      return decision;
    },
  });
}
