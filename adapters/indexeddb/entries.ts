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
import {
  checkBatch,
  checkCondition,
  checkKey,
  checkListOptions,
  checkValue,
  checkWriteOptions,
  isExpired,
} from '../../src/adapter-input.js';
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
  const caps = INDEXEDDB_CAPABILITIES;
  // Versions: a random per-instance prefix and a counter, unique across tabs and reloads.
  const instance = randomId(12);
  let counter = 0;
  const nextVersion = (): string => `${instance}.${(++counter).toString(36)}`;
  const liveRow = (row: Row | undefined, at: number): Row | undefined => (row && !isExpired(row.x, at) ? row : undefined);
  const holds = (row: Row | undefined, condition: WriteCondition): boolean =>
    'ifAbsent' in condition ? row === undefined : row?.r === condition.ifVersion;
  const makeRow = (value: Uint8Array<ArrayBuffer>, expiresAt: number | undefined): Row => ({
    // slice(): a view's whole underlying buffer would be cloned otherwise, and the caller may reuse it.
    v: value.slice(),
    r: nextVersion(),
    ...(expiresAt !== undefined && { x: expiresAt }),
  });

  const run = <T>(mode: IDBTransactionMode, body: (os: ObjectStoreLike) => Promise<T>): Promise<T> => connection.run(store, mode, body);

  return {
    name: ADAPTER_NAME,
    capabilities: caps,

    async get(key: string): Promise<StoredEntry | null> {
      checkKey(ADAPTER_NAME, key, caps.maxKeyBytes);
      const row = liveRow(await run('readonly', (os) => os.get(key)), now());
      if (!row) return null;
      return { value: new Uint8Array(row.v), version: row.r, ...(row.x !== undefined && { expiresAt: row.x }) };
    },

    async put(key: string, value: Uint8Array<ArrayBuffer>, options?: WriteOptions): Promise<string> {
      checkKey(ADAPTER_NAME, key, caps.maxKeyBytes);
      checkValue(ADAPTER_NAME, value, caps.maxValueBytes);
      const row = makeRow(value, checkWriteOptions(ADAPTER_NAME, options));
      await run('readwrite', (os) => os.put(row, key));
      return row.r;
    },

    async compareAndSet(key, value, condition, options): Promise<string | null> {
      checkKey(ADAPTER_NAME, key, caps.maxKeyBytes);
      checkValue(ADAPTER_NAME, value, caps.maxValueBytes);
      const checked = checkCondition(ADAPTER_NAME, condition);
      const row = makeRow(value, checkWriteOptions(ADAPTER_NAME, options));
      return run('readwrite', async (os) => {
        if (!holds(liveRow(await os.get(key), now()), checked)) return null;
        await os.put(row, key);
        return row.r;
      });
    },

    async delete(key: string, options?: { ifVersion?: string }): Promise<boolean> {
      checkKey(ADAPTER_NAME, key, caps.maxKeyBytes);
      return run('readwrite', async (os) => {
        const raw = await os.get(key);
        const row = liveRow(raw, now());
        if (!row) {
          if (raw) await os.delete(key); // an expired leftover: remove it, report nothing deleted
          return false;
        }
        if (options?.ifVersion !== undefined && row.r !== options.ifVersion) return false;
        await os.delete(key);
        return true;
      });
    },

    async list(options: ListOptions): Promise<ListResult> {
      const { prefix, cursor: after, limit } = checkListOptions(ADAPTER_NAME, options);
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

    async batch(operations: readonly BatchOperation[]): Promise<boolean> {
      // Validate everything before the transaction: a bad operation must not leave half a batch.
      const checked = checkBatch(ADAPTER_NAME, operations, caps);
      return run('readwrite', async (os) => {
        const at = now();
        for (const operation of checked) {
          const row = liveRow(await os.get(operation.key), at);
          if (operation.type === 'put' && operation.condition && !holds(row, operation.condition)) return false;
          if (operation.type === 'delete' && operation.ifVersion !== undefined && row?.r !== operation.ifVersion) return false;
        }
        for (const operation of checked) {
          if (operation.type === 'put') await os.put(makeRow(operation.value, operation.expiresAt), operation.key);
          else await os.delete(operation.key);
        }
        return true;
      });
    },

    async deleteExpired(): Promise<number> {
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

    async close(): Promise<void> {
      connection.close();
    },
  };
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
