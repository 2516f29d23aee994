import { conditionHolds } from '../batch-plan.js';
import type { BatchOperation, BatchResult, StorageAdapter, StoredEntry, WriteCondition } from '../contract.js';

/** A clock the suite moves by hand to test logical expiry. */
export interface TestClock {
  now: () => number;
  advance: (ms: number) => void;
}

export function createTestClock(start = Date.now()): TestClock {
  let time = start;
  return { now: () => time, advance: (ms) => void (time += ms) };
}

const bytes = (text: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(text) as Uint8Array<ArrayBuffer>;

/**
 * Runs `contenders` concurrent compare-and-sets against one key that all read
 * the same version (or all expect it absent) and returns how many won.
 */
export async function raceCompareAndSet(
  adapter: StorageAdapter,
  key: string,
  contenders: number,
  mode: 'ifVersion' | 'ifAbsent',
): Promise<{ winners: number; finalValue: string | null; winnerValues: string[] }> {
  let condition: WriteCondition = { ifAbsent: true };
  if (mode === 'ifVersion') condition = { ifVersion: await adapter.put(key, bytes('start')) };
  const results = await Promise.all(
    Array.from({ length: contenders }, (_, index) =>
      adapter.compareAndSet(key, bytes(`contender-${index}`), condition).then((version) => ({ index, version })),
    ),
  );
  const winnerValues = results.filter((result) => result.version !== null).map((result) => `contender-${result.index}`);
  const final = await adapter.get(key);
  return { winners: winnerValues.length, finalValue: final ? new TextDecoder().decode(final.value) : null, winnerValues };
}

/**
 * Runs `contenders` concurrent batches that each create the same key only if
 * absent and write a marker of their own; returns how many were applied and
 * how many markers exist (exactly one each on an atomic adapter).
 */
export async function raceBatches(adapter: StorageAdapter, base: string, contenders: number): Promise<{ applied: number; markers: number }> {
  const results = await Promise.all(
    Array.from({ length: contenders }, (_, index) =>
      adapter.batch!([
        { type: 'put', key: `${base}claim`, value: bytes(`contender-${index}`), condition: { ifAbsent: true } },
        { type: 'put', key: `${base}marker-${index}`, value: bytes('mine') },
      ]),
    ),
  );
  const markers = await Promise.all(Array.from({ length: contenders }, (_, index) => adapter.get(`${base}marker-${index}`)));
  return { applied: results.filter((result) => result.ok).length, markers: markers.filter((entry) => entry !== null).length };
}

const pause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * NEGATIVE CONTROL ONLY: an adapter whose compare-and-set and batch read,
 * yield, then write (the classic check-then-act race), claiming no atomicity.
 * Proves the race tests can catch a non-atomic backend.
 */
export function nonAtomicWrapper(inner: StorageAdapter): StorageAdapter {
  return {
    name: `non-atomic(${inner.name})`,
    capabilities: { ...inner.capabilities, atomic: false },
    get: (key) => inner.get(key),
    put: (key, value, options) => inner.put(key, value, options),
    delete: (key, options) => inner.delete(key, options),
    list: (options) => inner.list(options),
    async compareAndSet(key, value, condition, options) {
      const current = await inner.get(key);
      await pause();
      return conditionHolds(condition, current) ? inner.put(key, value, options) : null;
    },
    ...(inner.batch && {
      async batch(operations: readonly BatchOperation[]): Promise<BatchResult> {
        const before = await Promise.all(operations.map((operation) => inner.get(operation.key)));
        await pause();
        const entries: (StoredEntry | null)[] = [];
        for (const [index, operation] of operations.entries()) {
          if (operation.type === 'get') entries.push(before[index]!);
          else if (operation.condition && !conditionHolds(operation.condition, before[index]!)) return { ok: false, failed: index, entries };
        }
        for (const operation of operations) {
          if (operation.type === 'put') await inner.put(operation.key, operation.value, operation.expiresAt === undefined ? undefined : { expiresAt: operation.expiresAt });
          if (operation.type === 'delete') await inner.delete(operation.key);
        }
        return { ok: true, entries };
      },
    }),
  };
}
