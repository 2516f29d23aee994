import { InvalidRequestError } from '../errors.js';
import { utf8 } from '../util/bytes.js';
import { isWellFormed } from '../util/validate.js';
import {
  DEFAULT_LIST_LIMIT,
  MAX_LIST_LIMIT,
  partitionOf,
  type AdapterCapabilities,
  type DeleteCondition,
  type ListOptions,
  type WriteCondition,
} from './contract.js';

/**
 * Boundary checks `defineAdapter` runs before an adapter touches its
 * backend, so every adapter refuses the same bad input with the same
 * `InvalidRequestError` (naming the field and the adapter) and nothing stored
 * changes.
 */

function fail(adapter: string, field: string, problem: string): never {
  throw new InvalidRequestError(field, `${problem} (adapter "${adapter}")`);
}

export function checkKey(adapter: string, key: unknown, maxKeyBytes: number, field = 'key'): string {
  if (typeof key !== 'string') fail(adapter, field, `must be a string, got ${key === null ? 'null' : typeof key}`);
  if (key.length === 0) fail(adapter, field, 'must not be empty');
  // Fast path: a string of n code units is at most 3n UTF-8 bytes.
  if (key.length * 3 > maxKeyBytes && utf8(key).byteLength > maxKeyBytes) {
    fail(adapter, field, `must be at most ${maxKeyBytes} UTF-8 bytes`);
  }
  if (key.includes('\u0000')) fail(adapter, field, 'must not contain NUL');
  // A lone surrogate encodes to U+FFFD: two such keys would share one row in a UTF-8 backend.
  if (!isWellFormed(key)) fail(adapter, field, 'must be well-formed Unicode (it has a lone surrogate)');
  return key;
}

export function checkValue(adapter: string, value: unknown, maxValueBytes: number, field = 'value'): Uint8Array<ArrayBuffer> {
  if (!(value instanceof Uint8Array)) fail(adapter, field, 'must be a Uint8Array');
  if (value.byteLength > maxValueBytes) {
    fail(adapter, field, `must be at most ${maxValueBytes} bytes, got ${value.byteLength}`);
  }
  return value as Uint8Array<ArrayBuffer>;
}

export function checkWriteOptions(adapter: string, options: unknown): number | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) fail(adapter, 'options', 'must be an object');
  return checkExpiresAt(adapter, (options as { expiresAt?: unknown }).expiresAt, 'options.expiresAt');
}

export function checkExpiresAt(adapter: string, expiresAt: unknown, field: string): number | undefined {
  if (expiresAt === undefined) return undefined;
  if (typeof expiresAt !== 'number' || !Number.isSafeInteger(expiresAt) || expiresAt < 0) {
    fail(adapter, field, 'must be a non-negative integer (epoch milliseconds)');
  }
  return expiresAt;
}

function isVersion(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

/** Exactly one of `{ ifVersion: string }`, `{ ifAbsent: true }`, `{ ifPresent: true }`. */
export function checkCondition(adapter: string, condition: unknown, field = 'condition'): WriteCondition {
  if (typeof condition === 'object' && condition !== null && !Array.isArray(condition)) {
    const members = Object.entries(condition).filter(([, value]) => value !== undefined);
    if (members.length === 1) {
      const [name, value] = members[0]!;
      if (name === 'ifVersion' && isVersion(value)) return { ifVersion: value };
      if (name === 'ifAbsent' && value === true) return { ifAbsent: true };
      if (name === 'ifPresent' && value === true) return { ifPresent: true };
    }
  }
  fail(adapter, field, 'must be one of { ifVersion: string }, { ifAbsent: true }, { ifPresent: true }');
}

/** The options of `delete(key, options)`: nothing, or `{ ifVersion: string }`. */
export function checkDeleteOptions(adapter: string, options: unknown): DeleteCondition | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) fail(adapter, 'options', 'must be an object');
  for (const [name, value] of Object.entries(options)) {
    if (value !== undefined && name !== 'ifVersion') fail(adapter, `options.${name}`, 'is not a delete option');
  }
  const ifVersion = (options as { ifVersion?: unknown }).ifVersion;
  if (ifVersion === undefined) return undefined;
  if (!isVersion(ifVersion)) fail(adapter, 'options.ifVersion', 'must be a non-empty version string');
  return { ifVersion };
}

/** A batch operation after {@link checkBatch}: every member present and valid. */
export type CheckedBatchOperation =
  | { type: 'put'; key: string; value: Uint8Array<ArrayBuffer>; expiresAt: number | undefined; condition: WriteCondition | undefined }
  | { type: 'delete'; key: string; condition: DeleteCondition | undefined }
  | { type: 'check'; key: string; condition: WriteCondition }
  | { type: 'get'; key: string };

// Members each operation type may carry. Anything else is refused: a delete
// given `ifVersion` where `condition` belongs would otherwise run unconditionally.
const BATCH_MEMBERS = {
  put: ['type', 'key', 'value', 'expiresAt', 'condition'],
  delete: ['type', 'key', 'condition'],
  check: ['type', 'key', 'condition'],
  get: ['type', 'key'],
} as const;

type BatchType = keyof typeof BATCH_MEMBERS;
const isBatchType = (value: unknown): value is BatchType => typeof value === 'string' && Object.hasOwn(BATCH_MEMBERS, value);

/**
 * Checks every operation of a `batch()` before anything is written, so a bad
 * operation cannot leave half a batch: `operations` must be an array without
 * holes; each one an object whose `type` is `"put"`, `"delete"`, `"check"` or
 * `"get"` (anything else is refused, never run as a delete), with a valid
 * key, value, expiry and condition. A key may be written at most once per
 * batch, and on an adapter whose batches are per partition every key must
 * share one. Fields are named `operations[i].<member>`.
 */
export function checkBatch(
  adapter: string,
  operations: unknown,
  capabilities: Pick<AdapterCapabilities, 'maxKeyBytes' | 'maxValueBytes' | 'batchScope'>,
): CheckedBatchOperation[] {
  if (!Array.isArray(operations)) fail(adapter, 'operations', 'must be an array');
  const written = new Set<string>();
  let partition: string | undefined;
  // Array.from, not map: map skips holes, and a hole must be refused like any bad operation.
  return Array.from(operations, (operation: unknown, index): CheckedBatchOperation => {
    const at = `operations[${index}]`;
    if (typeof operation !== 'object' || operation === null || Array.isArray(operation)) fail(adapter, at, 'must be an object');
    const candidate = operation as Record<string, unknown>;
    const type = candidate.type;
    if (!isBatchType(type)) fail(adapter, `${at}.type`, 'must be "put", "delete", "check" or "get"');
    const allowed: readonly string[] = BATCH_MEMBERS[type];
    for (const [member, value] of Object.entries(candidate)) {
      if (value !== undefined && !allowed.includes(member)) fail(adapter, `${at}.${member}`, `is not allowed on a ${type} operation`);
    }
    const key = checkKey(adapter, candidate.key, capabilities.maxKeyBytes, `${at}.key`);
    if (capabilities.batchScope === 'partition') {
      const own = partitionOf(key);
      if (partition !== undefined && own !== partition) fail(adapter, `${at}.key`, 'must be in the same partition as the other keys of the batch');
      partition = own;
    }
    if (type === 'put' || type === 'delete') {
      if (written.has(key)) fail(adapter, `${at}.key`, 'is written twice in one batch');
      written.add(key);
    }
    switch (type) {
      case 'put':
        return {
          type,
          key,
          value: checkValue(adapter, candidate.value, capabilities.maxValueBytes, `${at}.value`),
          expiresAt: checkExpiresAt(adapter, candidate.expiresAt, `${at}.expiresAt`),
          condition: candidate.condition === undefined ? undefined : checkCondition(adapter, candidate.condition, `${at}.condition`),
        };
      case 'delete': {
        if (candidate.condition === undefined) return { type, key, condition: undefined };
        const condition = checkCondition(adapter, candidate.condition, `${at}.condition`);
        if ('ifAbsent' in condition) fail(adapter, `${at}.condition`, 'of a delete must be { ifVersion } or { ifPresent: true }');
        return { type, key, condition };
      }
      case 'check':
        return { type, key, condition: checkCondition(adapter, candidate.condition, `${at}.condition`) };
      case 'get':
        return { type, key };
    }
  });
}

export interface CheckedListOptions {
  prefix: string;
  cursor: string | undefined;
  limit: number;
}

export function checkListOptions(adapter: string, options: ListOptions): CheckedListOptions {
  if (typeof options !== 'object' || options === null) fail(adapter, 'options', 'must be an object');
  const { prefix, cursor, limit = DEFAULT_LIST_LIMIT } = options;
  if (typeof prefix !== 'string') fail(adapter, 'options.prefix', 'must be a string');
  if (!isWellFormed(prefix)) fail(adapter, 'options.prefix', 'must be well-formed Unicode (it has a lone surrogate)');
  if (cursor !== undefined && (typeof cursor !== 'string' || cursor.length === 0)) {
    fail(adapter, 'options.cursor', 'must be a cursor returned by list');
  }
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    fail(adapter, 'options.limit', `must be an integer between 1 and ${MAX_LIST_LIMIT}`);
  }
  return { prefix, cursor, limit };
}

/** True when an entry with this expiry reads as absent at `now`. */
export function isExpired(expiresAt: number | undefined | null, now: number): boolean {
  return expiresAt !== undefined && expiresAt !== null && expiresAt <= now;
}
