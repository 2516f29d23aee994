import {
  DEFAULT_LIST_LIMIT,
  MAX_LIST_LIMIT,
  type AdapterCapabilities,
  type ListOptions,
  type WriteCondition,
  type WriteOptions,
} from './adapter.js';
import { InvalidRequestError } from './errors.js';
import { utf8 } from './util/bytes.js';
import { isWellFormed } from './util/validate.js';

/**
 * Boundary checks every adapter runs before touching its backend, so each one
 * refuses the same bad input with the same `InvalidRequestError` (naming the
 * field and the adapter) and nothing stored changes.
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

export function checkWriteOptions(adapter: string, options: WriteOptions | undefined): number | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) fail(adapter, 'options', 'must be an object');
  return checkExpiresAt(adapter, options.expiresAt, 'options.expiresAt');
}

export function checkExpiresAt(adapter: string, expiresAt: unknown, field: string): number | undefined {
  if (expiresAt === undefined) return undefined;
  if (typeof expiresAt !== 'number' || !Number.isSafeInteger(expiresAt) || expiresAt < 0) {
    fail(adapter, field, 'must be a non-negative integer (epoch milliseconds)');
  }
  return expiresAt;
}

export function checkCondition(adapter: string, condition: unknown, field = 'condition'): WriteCondition {
  if (typeof condition === 'object' && condition !== null) {
    const candidate = condition as Record<string, unknown>;
    if (candidate.ifAbsent === true && !('ifVersion' in candidate)) return { ifAbsent: true };
    if (typeof candidate.ifVersion === 'string' && candidate.ifVersion.length > 0 && !('ifAbsent' in candidate)) {
      return { ifVersion: candidate.ifVersion };
    }
  }
  fail(adapter, field, 'must be { ifVersion: string } or { ifAbsent: true }');
}

/** A batch operation after {@link checkBatch}: every member present and valid. */
export type CheckedBatchOperation =
  | { type: 'put'; key: string; value: Uint8Array<ArrayBuffer>; expiresAt: number | undefined; condition: WriteCondition | undefined }
  | { type: 'delete'; key: string; ifVersion: string | undefined };

// Members each operation type may carry. Anything else is refused: a delete
// given `condition` instead of `ifVersion` would otherwise run unconditionally.
const BATCH_MEMBERS = {
  put: ['type', 'key', 'value', 'expiresAt', 'condition'],
  delete: ['type', 'key', 'ifVersion'],
} as const;

/**
 * Checks every operation of a `batch()` before anything is written, so a bad
 * operation cannot leave half a batch: `operations` must be an array; each
 * one an object whose `type` is `"put"` or `"delete"` (anything else is
 * refused, never run as a delete), with a valid key, value, expiry and
 * condition, or a non-empty `ifVersion` string on a delete. Fields are named
 * `operations[i].<member>`.
 */
export function checkBatch(
  adapter: string,
  operations: unknown,
  limits: Pick<AdapterCapabilities, 'maxKeyBytes' | 'maxValueBytes'>,
): CheckedBatchOperation[] {
  if (!Array.isArray(operations)) fail(adapter, 'operations', 'must be an array');
  // Array.from, not map: map skips holes, and a hole must be refused like any bad operation.
  return Array.from(operations, (operation: unknown, index): CheckedBatchOperation => {
    const at = `operations[${index}]`;
    if (typeof operation !== 'object' || operation === null || Array.isArray(operation)) fail(adapter, at, 'must be an object');
    const candidate = operation as Record<string, unknown>;
    const type = candidate.type;
    if (type !== 'put' && type !== 'delete') fail(adapter, `${at}.type`, 'must be "put" or "delete"');
    const allowed: readonly string[] = BATCH_MEMBERS[type];
    for (const [member, value] of Object.entries(candidate)) {
      if (value !== undefined && !allowed.includes(member)) fail(adapter, `${at}.${member}`, `is not allowed on a ${type} operation`);
    }
    const key = checkKey(adapter, candidate.key, limits.maxKeyBytes, `${at}.key`);
    if (type === 'put') {
      return {
        type,
        key,
        value: checkValue(adapter, candidate.value, limits.maxValueBytes, `${at}.value`),
        expiresAt: checkExpiresAt(adapter, candidate.expiresAt, `${at}.expiresAt`),
        condition: candidate.condition === undefined ? undefined : checkCondition(adapter, candidate.condition, `${at}.condition`),
      };
    }
    const ifVersion = candidate.ifVersion;
    if (ifVersion !== undefined && (typeof ifVersion !== 'string' || ifVersion.length === 0)) {
      fail(adapter, `${at}.ifVersion`, 'must be a non-empty version string');
    }
    return { type, key, ifVersion };
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
