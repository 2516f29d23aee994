import { InvalidRequestError, StorageError, VaultError } from '../errors.js';
import {
  checkBatch,
  checkCondition,
  checkDeleteOptions,
  checkKey,
  checkListOptions,
  checkValue,
  checkWriteOptions,
  type CheckedBatchOperation,
  type CheckedListOptions,
} from './checks.js';
import type { AdapterCapabilities, BatchResult, ListResult, StorageAdapter, StoredEntry, WriteCondition } from './contract.js';

/**
 * What an adapter author writes: only what is specific to the backend. Every
 * argument has been checked by {@link defineAdapter} before a method runs.
 */
export interface AdapterDefinition {
  /** Short name used in error messages, e.g. `"redis"`. */
  readonly name: string;
  readonly capabilities: AdapterCapabilities;
  get(key: string): Promise<StoredEntry | null>;
  put(key: string, value: Uint8Array<ArrayBuffer>, expiresAt: number | undefined): Promise<string>;
  compareAndSet(key: string, value: Uint8Array<ArrayBuffer>, condition: WriteCondition, expiresAt: number | undefined): Promise<string | null>;
  /** Deletes a live entry (with `ifVersion`, only that version); whether one was deleted. */
  delete(key: string, ifVersion: string | undefined): Promise<boolean>;
  list(options: CheckedListOptions): Promise<ListResult>;
  /** Required when `capabilities.atomicBatch`. Gets and conditions see the state before the batch. */
  batch?(operations: CheckedBatchOperation[]): Promise<BatchResult>;
  deleteExpired?(): Promise<number>;
  close?(): Promise<void>;
}

/**
 * Builds a {@link StorageAdapter} from a definition, applying every boundary
 * check once (keys, values, expiries, conditions, list options, batches: an
 * `InvalidRequestError` naming the field and the adapter, before the backend
 * is touched) and wrapping backend failures: anything thrown that is not a
 * `VaultError` becomes a retriable `StorageError` naming the adapter and the
 * operation, with the original as `cause`.
 *
 * Ships from `oauth-vault/storage`.
 *
 * @example
 * ```ts
 * import { defineAdapter } from 'oauth-vault/storage';
 * export function myAdapter(client: MyClient) {
 *   return defineAdapter({
 *     name: 'my-backend',
 *     capabilities: { atomic: true, nativeTtl: true, atomicBatch: false, maxValueBytes: 1 << 20, maxKeyBytes: 512 },
 *     get: (key) => client.read(key),
 *     // put, compareAndSet, delete, list ...
 *   });
 * }
 * ```
 */
export function defineAdapter(definition: AdapterDefinition): StorageAdapter {
  const { name, capabilities } = checkDefinition(definition);
  const run = async <T>(operation: string, body: () => Promise<T>): Promise<T> => {
    try {
      return await body();
    } catch (cause) {
      if (cause instanceof VaultError) throw cause;
      throw new StorageError(name, `${operation} failed`, { cause, retriable: true });
    }
  };
  const key = (value: unknown) => checkKey(name, value, capabilities.maxKeyBytes);
  const value = (bytes: unknown) => checkValue(name, bytes, capabilities.maxValueBytes);

  const adapter: StorageAdapter = {
    name,
    capabilities,
    get: async (k) => {
      const checked = key(k);
      return run('get', () => definition.get(checked));
    },
    put: async (k, v, options) => {
      const [checkedKey, checkedValue, expiresAt] = [key(k), value(v), checkWriteOptions(name, options)];
      return run('put', () => definition.put(checkedKey, checkedValue, expiresAt));
    },
    compareAndSet: async (k, v, condition, options) => {
      const [checkedKey, checkedValue] = [key(k), value(v)];
      const checkedCondition = checkCondition(name, condition);
      const expiresAt = checkWriteOptions(name, options);
      return run('compareAndSet', () => definition.compareAndSet(checkedKey, checkedValue, checkedCondition, expiresAt));
    },
    delete: async (k, options) => {
      const checkedKey = key(k);
      const condition = checkDeleteOptions(name, options);
      return run('delete', () => definition.delete(checkedKey, condition && 'ifVersion' in condition ? condition.ifVersion : undefined));
    },
    list: async (options) => {
      const checked = checkListOptions(name, options);
      return run('list', () => definition.list(checked));
    },
  };
  if (definition.batch) {
    const batch = definition.batch.bind(definition);
    adapter.batch = async (operations) => {
      const checked = checkBatch(name, operations, capabilities);
      if (checked.length === 0) return { ok: true, entries: [] };
      return run('batch', () => batch(checked));
    };
  }
  if (definition.deleteExpired) {
    const deleteExpired = definition.deleteExpired.bind(definition);
    adapter.deleteExpired = () => run('deleteExpired', deleteExpired);
  }
  if (definition.close) {
    const close = definition.close.bind(definition);
    adapter.close = () => run('close', close);
  }
  return adapter;
}

function checkDefinition(definition: AdapterDefinition): { name: string; capabilities: AdapterCapabilities } {
  if (typeof definition !== 'object' || definition === null) throw new InvalidRequestError('definition', 'must be an object');
  const { name, capabilities } = definition;
  if (typeof name !== 'string' || name.length === 0 || name.length > 64) {
    throw new InvalidRequestError('definition.name', 'must be a non-empty string of at most 64 characters');
  }
  for (const method of ['get', 'put', 'compareAndSet', 'delete', 'list'] as const) {
    if (typeof definition[method] !== 'function') throw new InvalidRequestError(`definition.${method}`, 'must be a function');
  }
  if (typeof capabilities !== 'object' || capabilities === null) throw new InvalidRequestError('definition.capabilities', 'must be an object');
  for (const flag of ['atomic', 'nativeTtl', 'atomicBatch'] as const) {
    if (typeof capabilities[flag] !== 'boolean') throw new InvalidRequestError(`definition.capabilities.${flag}`, 'must be a boolean');
  }
  for (const limit of ['maxValueBytes', 'maxKeyBytes'] as const) {
    if (!Number.isSafeInteger(capabilities[limit]) || capabilities[limit] < 1) {
      throw new InvalidRequestError(`definition.capabilities.${limit}`, 'must be a positive integer');
    }
  }
  if (capabilities.batchScope !== undefined && capabilities.batchScope !== 'store' && capabilities.batchScope !== 'partition') {
    throw new InvalidRequestError('definition.capabilities.batchScope', 'must be "store" or "partition"');
  }
  if (capabilities.atomicBatch !== (typeof definition.batch === 'function')) {
    throw new InvalidRequestError('definition.batch', 'must be given exactly when capabilities.atomicBatch is true');
  }
  return { name, capabilities: Object.freeze({ ...capabilities }) };
}
