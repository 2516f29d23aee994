import { conditionHolds, decideBatch, keysRead } from '../../src/storage/batch-plan.js';
import { isExpired, type CheckedBatchOperation } from '../../src/storage/checks.js';
import type { AdapterCapabilities, StorageAdapter, StoredEntry, WriteCondition } from '../../src/storage/contract.js';
import { defineAdapter } from '../../src/storage/define-adapter.js';
import { randomId } from '../../src/crypto/random.js';
import { ADAPTER_NAME, EXPIRY_INDEX, type IdbConnection } from './connection.js';

/** One row of the entries store (the key is the adapter key, out of line). */
interface Row {
  /** the opaque bytes (already sealed by the record layer) */
  v: Uint8Array<ArrayBuffer>;
  /** version */
  r: string;
  /** expiry, epoch ms; absent rows are not in the expiry index */
  x?: number;
}

export const INDEXEDDB_CAPABILITIES: AdapterCapabilities = {
  atomic: true,
  nativeTtl: false,
  atomicBatch: true,
  maxValueBytes: 8 * 1024 * 1024,
  maxKeyBytes: 2048,
};

/**
 * The StorageAdapter over one IndexedDB object store. Every compare-and-set
 * and batch is one readwrite transaction: IndexedDB serializes overlapping
 * readwrite transactions (across tabs too), so check and set cannot
 * interleave. Nothing but IndexedDB requests is awaited inside a transaction
 * (an unrelated await would let it auto-commit): callers seal first.
 */
export function idbEntriesAdapter(connection: IdbConnection, store: string, now: () => number): StorageAdapter {
  // Versions: a random per-instance prefix and a counter, unique across tabs and reloads.
  const instance = randomId(12);
  let counter = 0;
  const nextVersion = (): string => `${instance}.${(++counter).toString(36)}`;
  const liveRow = (row: Row | undefined, at: number): Row | undefined => (row && !isExpired(row.x, at) ? row : undefined);
  const toStored = (row: Row | undefined): StoredEntry | null =>
    row ? { value: new Uint8Array(row.v), version: row.r, ...(row.x !== undefined && { expiresAt: row.x }) } : null;
  const holds = (row: Row | undefined, condition: WriteCondition): boolean => conditionHolds(condition, row ? { version: row.r } : null);
  const makeRow = (value: Uint8Array<ArrayBuffer>, expiresAt: number | undefined): Row => ({
    // slice(): a view's whole underlying buffer would be cloned otherwise, and the caller may reuse it.
    v: value.slice(),
    r: nextVersion(),
    ...(expiresAt !== undefined && { x: expiresAt }),
  });

  const run = <T>(mode: IDBTransactionMode, body: (os: ObjectStoreLike) => Promise<T>): Promise<T> => connection.run(store, mode, body);

  return defineAdapter({
    name: ADAPTER_NAME,
    capabilities: INDEXEDDB_CAPABILITIES,

    async get(key) {
      return toStored(liveRow(await connection.read<Row>(store, key), now()));
    },

    async put(key, value, expiresAt) {
      const row = makeRow(value, expiresAt);
      await run('readwrite', (os) => os.put(row, key));
      return row.r;
    },

    async compareAndSet(key, value, condition, expiresAt) {
      const row = makeRow(value, expiresAt);
      return run('readwrite', async (os) => {
        if (!holds(liveRow(await os.get(key), now()), condition)) return null;
        await os.put(row, key);
        return row.r;
      });
    },

    async delete(key, ifVersion) {
      return run('readwrite', async (os) => {
        const raw = await os.get(key);
        const row = liveRow(raw, now());
        if (!row) {
          if (raw) await os.delete(key); // an expired leftover: remove it, report nothing deleted
          return false;
        }
        if (ifVersion !== undefined && row.r !== ifVersion) return false;
        await os.delete(key);
        return true;
      });
    },

    async list({ prefix, cursor: after, limit }) {
      const at = now();
      return run('readonly', async (os) => {
        const keys: string[] = [];
        let more = false;
        // Positioning with continue(key) needs no IDBKeyRange, so any IDBFactory (fake or real) works.
        const start = after !== undefined && after >= prefix ? after : prefix;
        let cursor = await os.openCursor();
        if (cursor && (cursor.key as string) < start) cursor = await cursor.continue(start);
        while (cursor) {
          const key = cursor.key as string;
          if (!key.startsWith(prefix)) break;
          if (!(after !== undefined && key === after) && !isExpired((cursor.value as Row).x, at)) {
            if (keys.length === limit) {
              more = true;
              break;
            }
            keys.push(key);
          }
          cursor = await cursor.continue();
        }
        return more ? { keys, cursor: keys[keys.length - 1]! } : { keys };
      });
    },

    async batch(operations: CheckedBatchOperation[]) {
      // Rows are made (and the caller has sealed) before the transaction: inside it only IDB requests are awaited.
      const rows = operations.map((operation) => (operation.type === 'put' ? makeRow(operation.value, operation.expiresAt) : undefined));
      return run('readwrite', async (os) => {
        const at = now();
        const before = new Map<string, StoredEntry | null>();
        for (const key of keysRead(operations)) before.set(key, toStored(liveRow(await os.get(key), at)));
        const decision = decideBatch(operations, (key) => before.get(key) ?? null);
        if (!decision.ok) return decision;
        for (const [index, operation] of operations.entries()) {
          if (operation.type === 'put') await os.put(rows[index]!, operation.key);
          else if (operation.type === 'delete') await os.delete(operation.key);
        }
        return decision;
      });
    },

    async deleteExpired() {
      const at = now();
      return run('readwrite', async (os) => {
        let removed = 0;
        // The index is ordered by expiry: stop at the first entry still alive.
        let cursor = await os.index(EXPIRY_INDEX).openCursor();
        while (cursor && isExpired(cursor.key as number, at)) {
          await cursor.delete();
          removed++;
          cursor = await cursor.continue();
        }
        return removed;
      });
    },

    async close() {
      connection.close();
    },
  });
}

/** The few idb store methods used here, typed loosely over an untyped schema. */
interface CursorLike {
  readonly key: IDBValidKey;
  readonly value: unknown;
  continue(key?: IDBValidKey): Promise<CursorLike | null>;
  delete(): Promise<void>;
}
interface ObjectStoreLike {
  get(key: string): Promise<Row | undefined>;
  put(value: Row, key: string): Promise<IDBValidKey>;
  delete(key: string): Promise<void>;
  openCursor(): Promise<CursorLike | null>;
  index(name: string): { openCursor(): Promise<CursorLike | null> };
}
