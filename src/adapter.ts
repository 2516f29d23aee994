/**
 * The StorageAdapter contract: a key/value store of bytes with a version per
 * key, prefix listing, logical expiry and the atomic operations the domain
 * needs. Every adapter in `adapters/` implements it and passes the one
 * conformance suite in `tests/conformance/`.
 *
 * Adapters store opaque bytes: sealing happens above them (`src/records/`),
 * so an adapter never sees a plaintext token.
 *
 * @module
 */

/** What an adapter can promise. Declared honestly; `OAuthStore` relies on it. */
export interface AdapterCapabilities {
  /**
   * `compareAndSet` is linearizable: of concurrent contenders for one
   * condition, exactly one wins, everywhere. KV is not; memory, IndexedDB,
   * D1 and the Durable Object are.
   */
  readonly atomic: boolean;
  /** Expired entries are removed by the backend itself (KV TTL, DO alarms). */
  readonly nativeTtl: boolean;
  /** `batch` exists and applies all of its operations or none. */
  readonly atomicBatch: boolean;
  /** Largest value accepted, in bytes; larger values get `InvalidRequestError`. */
  readonly maxValueBytes: number;
  /** Longest key accepted, in UTF-8 bytes. */
  readonly maxKeyBytes: number;
}

/** A stored value and its version. */
export interface StoredEntry {
  readonly value: Uint8Array<ArrayBuffer>;
  /** Opaque; changes on every write, never reused for a key. */
  readonly version: string;
  /** Epoch milliseconds after which the entry reads as absent, if any. */
  readonly expiresAt?: number;
}

export interface WriteOptions {
  /**
   * Epoch milliseconds after which the entry reads as absent. Expiry is
   * logical (checked on every read); physical removal is cleanup only.
   */
  expiresAt?: number;
}

/** The precondition of a compare-and-set. */
export type WriteCondition =
  /** Write only if the entry's current version is this one. */
  | { readonly ifVersion: string }
  /** Write only if the key is absent (or expired). */
  | { readonly ifAbsent: true };

export interface ListOptions {
  /** Only keys starting with this prefix (may be empty: every key). */
  prefix: string;
  /** Continue after the page that returned this cursor. */
  cursor?: string;
  /** Page size; adapters may return fewer. Default 100, at most 1000. */
  limit?: number;
}

export interface ListResult {
  /** Keys in ascending code-unit order, without values. */
  readonly keys: string[];
  /** Present when there may be more keys; pass it back to continue. */
  readonly cursor?: string;
}

/** One operation of an atomic batch. */
export type BatchOperation =
  | {
      readonly type: 'put';
      readonly key: string;
      readonly value: Uint8Array<ArrayBuffer>;
      readonly expiresAt?: number;
      readonly condition?: WriteCondition;
    }
  | { readonly type: 'delete'; readonly key: string; readonly ifVersion?: string };

/**
 * Storage of opaque bytes. Keys are strings of at most
 * `capabilities.maxKeyBytes` UTF-8 bytes; any characters are allowed.
 */
export interface StorageAdapter {
  /** Short name used in error messages, e.g. `"memory"`. */
  readonly name: string;
  readonly capabilities: AdapterCapabilities;

  /** Reads a key; `null` when absent or expired. */
  get(key: string): Promise<StoredEntry | null>;

  /** Writes unconditionally; returns the new version. */
  put(key: string, value: Uint8Array<ArrayBuffer>, options?: WriteOptions): Promise<string>;

  /**
   * Writes only if `condition` holds; returns the new version, or `null` when
   * the condition failed (another writer won). An expired entry counts as
   * absent.
   */
  compareAndSet(
    key: string,
    value: Uint8Array<ArrayBuffer>,
    condition: WriteCondition,
    options?: WriteOptions,
  ): Promise<string | null>;

  /**
   * Deletes a key; with `ifVersion`, only if it still has that version.
   * Returns whether an entry was deleted.
   */
  delete(key: string, options?: { ifVersion?: string }): Promise<boolean>;

  /** Lists keys under a prefix, one page at a time. Expired keys may be omitted. */
  list(options: ListOptions): Promise<ListResult>;

  /**
   * Applies every operation or none: if any condition fails, nothing is
   * written and the result is `false`. Present only when
   * `capabilities.atomicBatch` is true.
   */
  batch?(operations: readonly BatchOperation[]): Promise<boolean>;

  /** Physically removes expired entries; returns how many. */
  deleteExpired?(): Promise<number>;

  /** Releases connections or timers. */
  close?(): Promise<void>;
}

/** Default and largest page size of `list`. */
export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1000;

/**
 * Key convention: `<kind>/<partition>/<rest>`. Adapters that spread keys over
 * several backends (the Durable Object adapter) keep every key with the same
 * partition in one place, so one grant's code and refresh tokens serialize
 * together. A key without a second segment is its own partition.
 */
export function partitionOf(key: string): string {
  const first = key.indexOf('/');
  if (first < 0) return key;
  const second = key.indexOf('/', first + 1);
  return second < 0 ? key.slice(first + 1) : key.slice(first + 1, second);
}
