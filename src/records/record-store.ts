import type { BatchOperation, DeleteCondition, StorageAdapter, StoredEntry, WriteCondition } from '../storage/contract.js';
import type { Keyring } from '../crypto/keyring.js';
import { IntegrityError, InvalidRequestError } from '../errors.js';
import { fromUtf8, utf8 } from '../util/bytes.js';
import { optionalInteger, requireString } from '../util/validate.js';

/**
 * Typed sealed records over any adapter.
 *
 * A record lives at key `<kind>/<id>`, where `id` is a lookup id (HMAC of a
 * secret) or a random id, never a secret or a user id. Its body is JSON sealed
 * with AES-256-GCM; the AAD binds kind, id and format version, so a body copied
 * to another key, kind or version fails with `IntegrityError`. The expiry is
 * sealed inside the body and checked on every read: a backend that keeps an
 * expired entry (KV, a late sweep) never makes it readable.
 */

/** Bumped when the sealed body layout changes; part of every record's AAD. */
export const RECORD_FORMAT_VERSION = 1;

const KIND_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;
const MAX_ID_LENGTH = 1024;

/** A record as read back. */
export interface StoredRecord<T> {
  readonly id: string;
  readonly data: T;
  /** Adapter version, for compare-and-set. */
  readonly version: string;
  readonly expiresAt?: number;
}

export interface RecordWriteOptions {
  /** Epoch milliseconds after which the record reads as absent. */
  expiresAt?: number;
}

interface SealedBody<T> {
  /** format version */
  f: number;
  /** expiry, epoch ms, or null */
  x: number | null;
  /** the data */
  d: T;
}

export interface RecordStoreOptions {
  adapter: StorageAdapter;
  keyring: Keyring;
  /** Clock for logical expiry, epoch milliseconds. */
  now?: () => number;
}

/** Seals, stores and opens typed records. One per adapter and keyring. */
export class RecordStore {
  readonly adapter: StorageAdapter;
  readonly keyring: Keyring;
  readonly now: () => number;

  constructor(options: RecordStoreOptions) {
    this.adapter = options.adapter;
    this.keyring = options.keyring;
    this.now = options.now ?? Date.now;
  }

  /** A typed view of one kind of record. */
  collection<T>(kind: string): RecordCollection<T> {
    if (!KIND_PATTERN.test(kind)) throw new InvalidRequestError('kind', 'must be lowercase letters, digits and dashes');
    return new RecordCollection<T>(this, kind);
  }
}

export class RecordCollection<T> {
  readonly #store: RecordStore;
  readonly kind: string;

  constructor(store: RecordStore, kind: string) {
    this.#store = store;
    this.kind = kind;
  }

  /** The adapter key of a record id. */
  keyOf(id: string): string {
    requireString('id', id, { max: MAX_ID_LENGTH });
    return `${this.kind}/${id}`;
  }

  #aad(id: string): Uint8Array<ArrayBuffer> {
    return utf8(`oauth-vault/record\u0000${RECORD_FORMAT_VERSION}\u0000${this.kind}\u0000${id}`);
  }

  async #seal(id: string, data: T, expiresAt: number | undefined): Promise<Uint8Array<ArrayBuffer>> {
    this.keyOf(id);
    optionalInteger('expiresAt', expiresAt, 0, Number.MAX_SAFE_INTEGER);
    const body: SealedBody<T> = { f: RECORD_FORMAT_VERSION, x: expiresAt ?? null, d: data };
    return this.#store.keyring.seal(utf8(JSON.stringify(body)), this.#aad(id));
  }

  async #open(id: string, sealed: Uint8Array<ArrayBuffer>): Promise<SealedBody<T>> {
    const plaintext = await this.#store.keyring.open(sealed, this.#aad(id));
    try {
      const body = JSON.parse(fromUtf8(plaintext)) as SealedBody<T>;
      if (body.f !== RECORD_FORMAT_VERSION) throw new Error('format version');
      return body;
    } catch (cause) {
      // Authentic but unreadable: written by an incompatible version.
      throw new IntegrityError({ cause });
    }
  }

  /** Reads and opens a record; `null` when absent or logically expired. */
  async get(id: string): Promise<StoredRecord<T> | null> {
    return this.open(id, await this.#store.adapter.get(this.keyOf(id)));
  }

  /** Opens an entry of this kind read elsewhere (a batch `get`); `null` when absent or logically expired. */
  async open(id: string, entry: StoredEntry | null): Promise<StoredRecord<T> | null> {
    if (!entry) return null;
    const body = await this.#open(id, entry.value);
    if (body.x !== null && body.x <= this.#store.now()) return null;
    return { id, data: body.d, version: entry.version, ...(body.x !== null && { expiresAt: body.x }) };
  }

  /** Writes unconditionally; returns the new version. */
  async put(id: string, data: T, options: RecordWriteOptions = {}): Promise<string> {
    const sealed = await this.#seal(id, data, options.expiresAt);
    return this.#store.adapter.put(this.keyOf(id), sealed, physicalExpiry(options.expiresAt));
  }

  /** Creates the record only if absent; `null` if it already exists. */
  async create(id: string, data: T, options: RecordWriteOptions = {}): Promise<string | null> {
    return this.compareAndSet(id, data, { ifAbsent: true }, options);
  }

  /** Writes only if the record still has `version` (or is absent, for `ifAbsent`). */
  async compareAndSet(id: string, data: T, condition: WriteCondition, options: RecordWriteOptions = {}): Promise<string | null> {
    // Seal before touching storage: no crypto between an adapter's check and set.
    const sealed = await this.#seal(id, data, options.expiresAt);
    return this.#store.adapter.compareAndSet(this.keyOf(id), sealed, condition, physicalExpiry(options.expiresAt));
  }

  async delete(id: string, ifVersion?: string): Promise<boolean> {
    return this.#store.adapter.delete(this.keyOf(id), ifVersion === undefined ? undefined : { ifVersion });
  }

  /** A sealed `put` for an atomic batch. */
  async preparePut(id: string, data: T, options: RecordWriteOptions & { condition?: WriteCondition } = {}): Promise<BatchOperation> {
    const value = await this.#seal(id, data, options.expiresAt);
    return {
      type: 'put',
      key: this.keyOf(id),
      value,
      ...(options.expiresAt !== undefined && { expiresAt: options.expiresAt }),
      ...(options.condition && { condition: options.condition }),
    };
  }

  /** A `check` for an atomic batch: `condition` must hold for this record. */
  prepareCheck(id: string, condition: WriteCondition): BatchOperation {
    return { type: 'check', key: this.keyOf(id), condition };
  }

  /** A `get` for an atomic batch; open the entry it returns with {@link open}. */
  prepareGet(id: string): BatchOperation {
    return { type: 'get', key: this.keyOf(id) };
  }

  /** A `delete` for an atomic batch. */
  prepareDelete(id: string, condition?: DeleteCondition): BatchOperation {
    return { type: 'delete', key: this.keyOf(id), ...(condition && { condition }) };
  }

  /** Lists record ids of this kind under an id prefix, one page at a time. */
  async listIds(options: { prefix?: string; cursor?: string; limit?: number } = {}): Promise<{ ids: string[]; cursor?: string }> {
    const base = `${this.kind}/`;
    const page = await this.#store.adapter.list({
      prefix: base + (options.prefix ?? ''),
      ...(options.cursor !== undefined && { cursor: options.cursor }),
      ...(options.limit !== undefined && { limit: options.limit }),
    });
    return { ids: page.keys.map((key) => key.slice(base.length)), ...(page.cursor !== undefined && { cursor: page.cursor }) };
  }

  /** Every record id under an id prefix, page after page (the one list-every-page loop). */
  async *ids(prefix = ''): AsyncGenerator<string> {
    let cursor: string | undefined;
    do {
      const page = await this.listIds({ prefix, limit: 1000, ...(cursor !== undefined && { cursor }) });
      yield* page.ids;
      cursor = page.cursor;
    } while (cursor !== undefined);
  }

  /** Every record under an id prefix (opened; expired and absent skipped). */
  async *scan(prefix = ''): AsyncGenerator<StoredRecord<T>> {
    for await (const id of this.ids(prefix)) {
      const record = await this.get(id);
      if (record) yield record;
    }
  }

  /**
   * Re-seals a record under the keyring's current key if another key sealed
   * it, with compare-and-set on the version read (a concurrent writer wins
   * and its write is already under the current key). Expired records are
   * left to cleanup.
   * @throws IntegrityError / KeyNotFoundError if the record cannot be opened.
   */
  async reseal(id: string): Promise<'resealed' | 'current' | 'absent' | 'conflict'> {
    const entry = await this.#store.adapter.get(this.keyOf(id));
    if (!entry) return 'absent';
    if (this.#store.keyring.envelopeKeyId(entry.value) === this.#store.keyring.currentKeyId) return 'current';
    const body = await this.#open(id, entry.value);
    if (body.x !== null && body.x <= this.#store.now()) return 'absent';
    const expiresAt = body.x ?? undefined;
    const written = await this.compareAndSet(id, body.d, { ifVersion: entry.version }, expiresAt === undefined ? {} : { expiresAt });
    return written === null ? 'conflict' : 'resealed';
  }
}

/** The physical expiry handed to the adapter (cleanup only). */
function physicalExpiry(expiresAt: number | undefined): { expiresAt?: number } | undefined {
  return expiresAt === undefined ? undefined : { expiresAt };
}
