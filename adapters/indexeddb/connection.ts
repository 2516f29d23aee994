import { unwrap, wrap, type IDBPDatabase, type IDBPTransaction } from 'idb';
import { NotSupportedError, StorageError } from '../../src/errors.js';

/** The adapter name used in every error message. */
export const ADAPTER_NAME = 'indexeddb';

/** Name of the index on the entries store that orders rows by expiry. */
export const EXPIRY_INDEX = 'by-expiry';

export interface ConnectionOptions {
  name: string;
  entriesStore: string;
  keysStore: string;
  /** Looked up on every open, never at module load (SSR, Node, private modes). */
  factory: () => IDBFactory | undefined;
  /** How long to wait for other tabs to let an upgrade through. */
  blockedTimeoutMs: number;
}

/**
 * One lazily opened IndexedDB connection that survives what browsers do to
 * connections:
 * - `versionchange` (we are *blocking* another tab's upgrade): close at once,
 *   reopen on the next call;
 * - `close` (the browser *terminated* the connection: storage cleared, Safari
 *   dropping it in the background): forget it, reopen on the next call;
 * - `InvalidStateError` from `transaction()` on a connection that closed
 *   without an event: reopen once and retry;
 * - *blocked* (another tab keeps an old version open): wait, then fail with a
 *   retriable `StorageError` instead of hanging forever.
 */
export class IdbConnection {
  readonly #options: ConnectionOptions;
  #pending: Promise<IDBPDatabase> | undefined;
  #current: IDBPDatabase | undefined;

  constructor(options: ConnectionOptions) {
    this.#options = options;
  }

  /** The open database, opening (or reopening) it when needed. */
  database(): Promise<IDBPDatabase> {
    this.#pending ??= this.#open().catch((error: unknown) => {
      this.#pending = undefined;
      throw error;
    });
    return this.#pending;
  }

  /**
   * Starts a transaction. A connection the browser closed behind our back is
   * replaced once; nothing has run yet, so the retry is safe.
   */
  async transaction(stores: string[], mode: IDBTransactionMode): Promise<IDBPTransaction<unknown, string[], IDBTransactionMode>> {
    for (let attempt = 0; ; attempt++) {
      const db = await this.database();
      try {
        return db.transaction(stores, mode);
      } catch (error) {
        if (attempt === 0 && isDomError(error, 'InvalidStateError')) {
          this.#forget(db);
          continue;
        }
        throw toStorageError(error);
      }
    }
  }

  /**
   * Reads one value in its own readonly transaction, resolving as soon as the
   * request succeeds: a read's result is final then, and waiting for the
   * transaction's `complete` event (or going through idb's proxies) would
   * only add tasks to the hottest path of an SPA (`TokenVault.get()`).
   */
  async read<T>(store: string, key: string): Promise<T | undefined> {
    for (let attempt = 0; ; attempt++) {
      const db = await this.database();
      let request: IDBRequest;
      try {
        request = unwrap(db).transaction(store, 'readonly').objectStore(store).get(key);
      } catch (error) {
        if (attempt === 0 && isDomError(error, 'InvalidStateError')) {
          this.#forget(db);
          continue;
        }
        throw toStorageError(error);
      }
      return new Promise<T | undefined>((resolve, reject) => {
        request.onsuccess = () => resolve(request.result as T | undefined);
        request.onerror = () => {
          this.discard(request.error);
          reject(toStorageError(request.error));
        };
      });
    }
  }

  /**
   * Runs `body` against one object store in one transaction and resolves once
   * the transaction has committed. On any failure the transaction is aborted
   * (so a half-done readwrite body writes nothing), a dead connection is
   * dropped, and the error becomes a `StorageError`. `body` may await only
   * requests of this transaction: any other await lets it auto-commit.
   *
   * `S` is the caller's own narrow view of the idb store (the schema is untyped).
   */
  async run<S, T>(store: string, mode: IDBTransactionMode, body: (objectStore: S) => Promise<T>): Promise<T> {
    const tx = await this.transaction([store], mode);
    try {
      const result = await body(tx.objectStore(store) as unknown as S);
      await tx.done;
      return result;
    } catch (error) {
      try {
        tx.abort();
      } catch {
        // already committed or aborted
      }
      tx.done.catch(() => undefined); // its rejection is this same failure
      this.discard(error);
      throw toStorageError(error);
    }
  }

  /**
   * Drops the connection after a failure that means it is dead (Safari's
   * "connection to Indexed Database server lost" is an UnknownError): the
   * next call reopens. The failed operation itself is not retried.
   */
  discard(error: unknown): void {
    if ((isDomError(error, 'UnknownError') || isDomError(error, 'InvalidStateError')) && this.#current) this.close();
  }

  /** Closes the connection; a later call opens a new one. */
  close(): void {
    const db = this.#current;
    if (db) {
      this.#forget(db);
      db.close();
    }
  }

  #forget(db: IDBPDatabase): void {
    if (this.#current === db) {
      this.#current = undefined;
      this.#pending = undefined;
    }
  }

  async #open(): Promise<IDBPDatabase> {
    const factory = this.#options.factory();
    if (!factory || typeof factory.open !== 'function') {
      throw new NotSupportedError('IndexedDB is not available in this environment (private mode, server, worker without IDB)');
    }
    let db = await this.#request(factory, undefined);
    const { entriesStore, keysStore } = this.#options;
    if (!db.objectStoreNames.contains(entriesStore) || !db.objectStoreNames.contains(keysStore)) {
      // The database exists without our stores (another store name, an older layout): upgrade it.
      const version = db.version;
      db.close();
      db = await this.#request(factory, version + 1);
    }
    this.#current = db;
    db.addEventListener('versionchange', () => {
      // Blocking another tab's upgrade: step aside; the next call reopens at the new version.
      this.#forget(db);
      db.close();
    });
    db.addEventListener('close', () => this.#forget(db)); // terminated by the browser
    return db;
  }

  #request(factory: IDBFactory, version: number | undefined): Promise<IDBPDatabase> {
    let request: IDBOpenDBRequest;
    try {
      request = factory.open(this.#options.name, version);
    } catch (error) {
      // Some private modes throw synchronously (SecurityError, InvalidStateError).
      throw new NotSupportedError('IndexedDB cannot be opened here', { cause: error });
    }
    request.addEventListener('upgradeneeded', () => {
      const raw = request.result;
      if (!raw.objectStoreNames.contains(this.#options.entriesStore)) {
        raw.createObjectStore(this.#options.entriesStore).createIndex(EXPIRY_INDEX, 'x');
      }
      if (!raw.objectStoreNames.contains(this.#options.keysStore)) raw.createObjectStore(this.#options.keysStore);
    });
    return new Promise<IDBPDatabase>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      let gaveUp = false;
      request.addEventListener('blocked', () => {
        timer ??= setTimeout(() => {
          gaveUp = true;
          reject(new StorageError(ADAPTER_NAME, 'opening the database is blocked by another tab that keeps an older version open', { retriable: true }));
        }, this.#options.blockedTimeoutMs);
      });
      (wrap(request) as Promise<IDBPDatabase>).then(
        (db) => {
          clearTimeout(timer);
          if (gaveUp) db.close(); // opened after we stopped waiting: do not leak it
          else resolve(db);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(
            isDomError(error, 'VersionError') || isDomError(error, 'AbortError') || isDomError(error, 'UnknownError')
              ? new StorageError(ADAPTER_NAME, 'opening the database failed', { cause: error, retriable: true })
              : new NotSupportedError('IndexedDB refused to open the database (private mode or storage disabled?)', { cause: error }),
          );
        },
      );
    });
  }
}

export function isDomError(error: unknown, name: string): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === name;
}

/** Maps a raw IndexedDB failure to a `StorageError` naming the adapter (never the data). */
export function toStorageError(error: unknown): StorageError {
  if (error instanceof StorageError) return error;
  const name = typeof error === 'object' && error !== null ? String((error as { name?: unknown }).name) : 'Error';
  if (name === 'QuotaExceededError') return new StorageError(ADAPTER_NAME, 'storage quota exceeded', { cause: error });
  const retriable = ['AbortError', 'InvalidStateError', 'TransactionInactiveError', 'UnknownError', 'TimeoutError'].includes(name);
  return new StorageError(ADAPTER_NAME, `operation failed (${name})`, { cause: error, retriable });
}
