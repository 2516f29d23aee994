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

const NAME = 'memory';

/**
 * An in-process adapter: atomic (every operation runs to completion without
 * yielding), with atomic batches. For tests, tools and single-process servers;
 * contents are lost with the process.
 *
 * @example
 * ```ts
 * import { memoryAdapter } from 'oauth-vault';
 * const adapter = memoryAdapter();
 * ```
 */
export function memoryAdapter(options: MemoryAdapterOptions = {}): StorageAdapter {
  const now = options.now ?? Date.now;
  const entries = new Map<string, MemoryEntry>();
  // Versions: a per-instance random prefix and a counter, so none is ever reused.
  const instance = randomId(6);
  let counter = 0;
  const capabilities: AdapterCapabilities = {
    atomic: true,
    nativeTtl: false,
    atomicBatch: true,
    maxValueBytes: options.maxValueBytes ?? 16 * 1024 * 1024,
    maxKeyBytes: 2048,
  };

  const live = (key: string): MemoryEntry | undefined => {
    const entry = entries.get(key);
    return entry && !isExpired(entry.expiresAt, now()) ? entry : undefined;
  };
  const write = (key: string, value: Uint8Array<ArrayBuffer>, expiresAt: number | undefined): string => {
    const version = `${instance}.${++counter}`;
    entries.set(key, { value: value.slice(), version, expiresAt });
    return version;
  };
  const holds = (key: string, condition: WriteCondition): boolean => {
    const current = live(key);
    return 'ifAbsent' in condition ? current === undefined : current?.version === condition.ifVersion;
  };

  return {
    name: NAME,
    capabilities,

    async get(key: string): Promise<StoredEntry | null> {
      checkKey(NAME, key, capabilities.maxKeyBytes);
      const entry = live(key);
      if (!entry) return null;
      return { value: entry.value.slice(), version: entry.version, ...(entry.expiresAt !== undefined && { expiresAt: entry.expiresAt }) };
    },

    async put(key: string, value: Uint8Array<ArrayBuffer>, writeOptions?: WriteOptions): Promise<string> {
      checkKey(NAME, key, capabilities.maxKeyBytes);
      checkValue(NAME, value, capabilities.maxValueBytes);
      return write(key, value, checkWriteOptions(NAME, writeOptions));
    },

    async compareAndSet(key, value, condition, writeOptions) {
      checkKey(NAME, key, capabilities.maxKeyBytes);
      checkValue(NAME, value, capabilities.maxValueBytes);
      const checked = checkCondition(NAME, condition);
      const expiresAt = checkWriteOptions(NAME, writeOptions);
      return holds(key, checked) ? write(key, value, expiresAt) : null;
    },

    async delete(key: string, deleteOptions?: { ifVersion?: string }): Promise<boolean> {
      checkKey(NAME, key, capabilities.maxKeyBytes);
      const entry = live(key);
      if (!entry) {
        entries.delete(key);
        return false;
      }
      if (deleteOptions?.ifVersion !== undefined && entry.version !== deleteOptions.ifVersion) return false;
      return entries.delete(key);
    },

    async list(listOptions: ListOptions): Promise<ListResult> {
      const { prefix, cursor, limit } = checkListOptions(NAME, listOptions);
      const at = now();
      const keys: string[] = [];
      for (const [key, entry] of entries) {
        if (key.startsWith(prefix) && (cursor === undefined || key > cursor) && !isExpired(entry.expiresAt, at)) keys.push(key);
      }
      keys.sort();
      const page = keys.slice(0, limit);
      return keys.length > limit ? { keys: page, cursor: page[page.length - 1]! } : { keys: page };
    },

    async batch(operations: readonly BatchOperation[]): Promise<boolean> {
      // Validate everything first: a bad operation must not leave half a batch.
      const checked = checkBatch(NAME, operations, capabilities);
      for (const operation of checked) {
        if (operation.type === 'put' && operation.condition && !holds(operation.key, operation.condition)) return false;
        if (operation.type === 'delete' && operation.ifVersion !== undefined && live(operation.key)?.version !== operation.ifVersion) {
          return false;
        }
      }
      for (const operation of checked) {
        if (operation.type === 'put') write(operation.key, operation.value, operation.expiresAt);
        else entries.delete(operation.key);
      }
      return true;
    },

    async deleteExpired(): Promise<number> {
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
  };
}
