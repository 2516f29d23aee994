// The storage kit from the point of view of an adapter author outside this repository: an adapter
// defined with `defineAdapter` in this file (a plain Map, nothing else), run through the published
// conformance suite with one call, and the kit's own promises (checks applied once, failures wrapped).
import { describe, expect, test } from 'vitest';
import { InvalidRequestError, StorageError, VaultError } from '../../src/errors.js';
import { decideBatch, defineAdapter, isExpired, type StoredEntry } from '../../src/storage/index.js';
import { describeAdapterConformance } from '../../src/storage/conformance/index.js';

/** A third-party adapter: only what is specific to its backend (here a Map). */
function mapAdapter(options: { now?: () => number } = {}) {
  const now = options.now ?? Date.now;
  const rows = new Map<string, { value: Uint8Array<ArrayBuffer>; version: string; expiresAt?: number }>();
  let counter = 0;
  const live = (key: string): StoredEntry | null => {
    const row = rows.get(key);
    return row && !isExpired(row.expiresAt, now()) ? { value: row.value.slice(), version: row.version, ...(row.expiresAt !== undefined && { expiresAt: row.expiresAt }) } : null;
  };
  const write = (key: string, value: Uint8Array<ArrayBuffer>, expiresAt: number | undefined): string => {
    const version = `v${++counter}`;
    rows.set(key, { value: value.slice(), version, ...(expiresAt !== undefined && { expiresAt }) });
    return version;
  };
  return defineAdapter({
    name: 'map',
    capabilities: { atomic: true, nativeTtl: false, atomicBatch: true, batchScope: 'partition', maxValueBytes: 4 * 1024 * 1024, maxKeyBytes: 1024 },
    get: async (key) => live(key),
    put: async (key, value, expiresAt) => write(key, value, expiresAt),
    async compareAndSet(key, value, condition, expiresAt) {
      const current = live(key);
      const holds = 'ifAbsent' in condition ? current === null : 'ifPresent' in condition ? current !== null : current?.version === condition.ifVersion;
      return holds ? write(key, value, expiresAt) : null;
    },
    async delete(key, ifVersion) {
      const current = live(key);
      if (!current || (ifVersion !== undefined && current.version !== ifVersion)) return false;
      return rows.delete(key);
    },
    async list({ prefix, cursor, limit }) {
      const keys = [...rows.keys()].filter((key) => key.startsWith(prefix) && (cursor === undefined || key > cursor) && live(key)).sort();
      return keys.length > limit ? { keys: keys.slice(0, limit), cursor: keys[limit - 1]! } : { keys };
    },
    async batch(operations) {
      const decision = decideBatch(operations, live);
      if (decision.ok) {
        for (const operation of operations) {
          if (operation.type === 'put') write(operation.key, operation.value, operation.expiresAt);
          if (operation.type === 'delete') rows.delete(operation.key);
        }
      }
      return decision;
    },
  });
}

describeAdapterConformance('map (defined with the kit in a test file)', { create: (clock) => mapAdapter({ now: clock.now }) });

describe('defineAdapter', () => {
  const valid = {
    name: 'broken',
    capabilities: { atomic: true, nativeTtl: false, atomicBatch: false, maxValueBytes: 100, maxKeyBytes: 100 },
    get: async () => {
      throw new Error('connection reset by peer');
    },
    put: async () => 'v',
    compareAndSet: async () => null,
    delete: async () => false,
    list: async () => ({ keys: [] }),
  };

  test('a backend failure becomes a retriable StorageError naming the adapter and the operation, with the cause kept', async () => {
    const error = await defineAdapter(valid).get('k').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ adapter: 'broken', retriable: true, code: 'ERR_STORAGE' });
    expect((error as Error).message).toBe('broken: get failed');
    expect(((error as Error).cause as Error).message).toBe('connection reset by peer');
  });

  test('a VaultError from the backend passes through unchanged', async () => {
    const own = new StorageError('broken', 'quota exhausted', { retriable: false });
    const adapter = defineAdapter({ ...valid, get: async () => Promise.reject(own) });
    expect(await adapter.get('k').catch((caught: unknown) => caught)).toBe(own);
  });

  test('every argument is checked before the backend is called', async () => {
    let called = 0;
    const adapter = defineAdapter({ ...valid, get: async () => (called++, null), put: async () => (called++, 'v') });
    await expect(adapter.get('')).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(adapter.put('k', new Uint8Array(101))).rejects.toMatchObject({ field: 'value' });
    await expect(adapter.put('k'.repeat(101), new Uint8Array(1))).rejects.toMatchObject({ field: 'key' });
    expect(called).toBe(0);
  });

  test('a definition that breaks the contract is refused up front, naming what', () => {
    const refused = (definition: unknown, field: string) => {
      let caught: unknown;
      try {
        defineAdapter(definition as never);
      } catch (error) {
        caught = error;
      }
      expect(caught, field).toBeInstanceOf(VaultError);
      expect((caught as InvalidRequestError).field).toBe(field);
    };
    refused({ ...valid, name: '' }, 'definition.name');
    refused({ ...valid, list: undefined }, 'definition.list');
    refused({ ...valid, capabilities: { ...valid.capabilities, atomic: 'yes' } }, 'definition.capabilities.atomic');
    refused({ ...valid, capabilities: { ...valid.capabilities, atomicBatch: true } }, 'definition.batch'); // claims batches, has none
    refused({ ...valid, capabilities: { ...valid.capabilities, batchScope: 'shard' } }, 'definition.capabilities.batchScope');
    refused({ ...valid, capabilities: { ...valid.capabilities, maxKeyBytes: 0 } }, 'definition.capabilities.maxKeyBytes');
  });
});
