/**
 * The StorageAdapter contract: a key/value store of bytes with a version per
 * key, prefix listing, logical expiry and the atomic operations the domain
 * needs. Every adapter in `adapters/` implements it (through
 * {@link defineAdapter}) and passes the one conformance suite
 * (`oauth-vault/storage/conformance`).
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
  /**
   * What one batch may span: `"store"` (any keys) or `"partition"` (keys of
   * one partition only, see {@link partitionOf}; a batch across partitions is
   * refused with `InvalidRequestError`). Default `"store"`.
   */
  readonly batchScope?: 'store' | 'partition';
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

/** A precondition on one key. An expired entry counts as absent. */
export type WriteCondition =
  /** The entry's current version is this one. */
  | { readonly ifVersion: string }
  /** The key is absent. */
  | { readonly ifAbsent: true }
  /** The key is present (any version). */
  | { readonly ifPresent: true };

/** The conditions a delete may carry. */
export type DeleteCondition = { readonly ifVersion: string } | { readonly ifPresent: true };

export interface ListOptions {
  /** Only keys starting with this prefix (may be empty: every key). */
  prefix: string;
  /** Continue after the page that returned this cursor. */
  cursor?: string;
  /** Page size; adapters may return fewer. Default 100, at most 1000. */
  limit?: number;
}

export interface ListResult {
  /**
   * Keys in ascending order, without values: by code point on SQL backends,
   * by UTF-16 code unit in memory and IndexedDB (the two differ only between
   * U+E000..U+FFFF and characters beyond U+FFFF).
   */
  readonly keys: string[];
  /** Present when there may be more keys; pass it back to continue. */
  readonly cursor?: string;
}

/**
 * One operation of an atomic batch. Every condition and every `get` sees the
 * state before the batch; if any condition fails, nothing is written.
 */
export type BatchOperation =
  | {
      readonly type: 'put';
      readonly key: string;
      readonly value: Uint8Array<ArrayBuffer>;
      readonly expiresAt?: number;
      readonly condition?: WriteCondition;
    }
  | { readonly type: 'delete'; readonly key: string; readonly condition?: DeleteCondition }
  /** A condition on a key that the batch does not write (a guard). */
  | { readonly type: 'check'; readonly key: string; readonly condition: WriteCondition }
  /** Reads a key as it was before the batch; the entry comes back in `BatchResult.entries`. */
  | { readonly type: 'get'; readonly key: string };

export interface BatchResult {
  /** Every condition held and every write was applied. */
  readonly ok: boolean;
  /**
   * When not `ok`: the index in `operations` of the first operation whose
   * condition failed (adapters whose backend cannot tell may leave it out).
   */
  readonly failed?: number;
  /** One per `get` operation, in their order: the entry before the batch, or `null`. */
  readonly entries: readonly (StoredEntry | null)[];
}

/**
 * Storage of opaque bytes. Keys are strings of at most
 * `capabilities.maxKeyBytes` UTF-8 bytes, well-formed Unicode, without NUL.
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
   * Returns whether a live entry was deleted.
   */
  delete(key: string, options?: { ifVersion?: string }): Promise<boolean>;

  /** Lists keys under a prefix, one page at a time. Expired keys may be omitted. */
  list(options: ListOptions): Promise<ListResult>;

  /**
   * Applies every operation or none: checks every condition against the
   * state before the batch, and writes only if all hold. Present only when
   * `capabilities.atomicBatch` is true.
   */
  batch?(operations: readonly BatchOperation[]): Promise<BatchResult>;

  /** Physically removes expired entries; returns how many. */
  deleteExpired?(): Promise<number>;

  /** Releases connections or timers. */
  close?(): Promise<void>;
}

/** Default and largest page size of `list`. */
export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1000;

/**
 * The partition of a key: the records that must change together (one grant's
 * records) share one, and an adapter that spreads keys over several backends
 * (the Durable Object adapter) keeps a partition in one place, where a batch
 * over it is atomic.
 *
 * Convention: `<kind>/<partition>/<rest>`; a key without a second segment is
 * its own partition. An index entry that must live with the record it
 * indexes, yet sort by something else, names that partition in a last
 * segment starting with `~`: `user-grant/<user>/~<grantId>` lives in the
 * partition `<grantId>` and still lists under `user-grant/<user>/`.
 */
export function partitionOf(key: string): string {
  const last = key.lastIndexOf('/');
  if (last >= 0 && key.charCodeAt(last + 1) === 0x7e /* ~ */) return key.slice(last + 2);
  const first = key.indexOf('/');
  if (first < 0) return key;
  const second = key.indexOf('/', first + 1);
  return second < 0 ? key.slice(first + 1) : key.slice(first + 1, second);
}
