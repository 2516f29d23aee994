/**
 * `oauth-vault/storage`: the kit for adapter authors. The contract every
 * adapter implements, {@link defineAdapter} (which applies every boundary
 * check and error wrapping once, so an adapter file holds only what is
 * specific to its backend), the batch decision helpers for backends that read
 * before they write, the SQL shared by SQLite backends, and
 * {@link migrateStorage} to copy a store from one adapter to another.
 *
 * The conformance suite every adapter passes ships from
 * `oauth-vault/storage/conformance` (it imports vitest).
 *
 * @module
 */
export { defineAdapter, type AdapterDefinition } from './define-adapter.js';
export { partitionOf, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT } from './contract.js';
export type {
  AdapterCapabilities,
  BatchOperation,
  BatchResult,
  DeleteCondition,
  ListOptions,
  ListResult,
  StorageAdapter,
  StoredEntry,
  WriteCondition,
  WriteOptions,
} from './contract.js';
export { isExpired, type CheckedBatchOperation, type CheckedListOptions } from './checks.js';
export { conditionHolds, decideBatch, keysRead } from './batch-plan.js';
export {
  DEFAULT_TABLE,
  LIVE,
  compareKeys,
  entriesSchema,
  entryStatements,
  isValidTableName,
  listQuery,
  prefixUpperBound,
} from './sql.js';
export { migrateStorage, type MigrateStorageOptions, type MigrateStorageResult } from '../records/migrate.js';
