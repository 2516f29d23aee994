import type { BatchOperation, DeleteCondition, StoredEntry, WriteCondition } from '../storage/contract.js';
import type { RecordCollection, StoredRecord } from '../records/record-store.js';
import type { AuditInput } from './audit-log.js';
import type { StoreContext } from './context.js';

/**
 * One state change of a grant (or a session): every check, write, read and
 * audit event of it as one atomic batch on the single-use store, all in one
 * partition, so it costs one round trip to the place that owns that
 * partition and is decided there without anything else in between. Sealing
 * happens before the call, opening after it: no crypto inside.
 *
 * Usage: add operations (each returns its index), `commit()`, then read the
 * outcome: `ok`, or the index of the first condition that failed.
 */
export class Transition {
  readonly #ctx: StoreContext;
  readonly #partition: string;
  readonly #operations: (BatchOperation | Promise<BatchOperation>)[] = [];
  readonly #audit: Promise<BatchOperation[]>[] = [];
  readonly #gets: { collection: RecordCollection<unknown>; id: string }[] = [];

  constructor(ctx: StoreContext, partition: string) {
    this.#ctx = ctx;
    this.#partition = partition;
  }

  #add(operation: BatchOperation | Promise<BatchOperation>): number {
    return this.#operations.push(operation) - 1;
  }

  /** A condition on a record the transition does not write. Returns its operation index. */
  check(collection: RecordCollection<unknown>, id: string, condition: WriteCondition): number {
    return this.#add(collection.prepareCheck(id, condition));
  }

  /** Writes a record (sealed before the call). Returns its operation index. */
  put<T>(collection: RecordCollection<T>, id: string, data: T, options: { expiresAt?: number; condition?: WriteCondition } = {}): number {
    return this.#add(collection.preparePut(id, data, options));
  }

  delete(collection: RecordCollection<unknown>, id: string, condition?: DeleteCondition): number {
    return this.#add(collection.prepareDelete(id, condition));
  }

  /** Reads a record as it was before the transition. Returns the index to pass to `read`. */
  get(collection: RecordCollection<unknown>, id: string): number {
    this.#add(collection.prepareGet(id));
    return this.#gets.push({ collection, id }) - 1;
  }

  /** Records an audit event in the same batch (nothing when the audit trail is off). */
  audit(event: AuditInput): void {
    this.#audit.push(this.#ctx.audit.prepare(event, this.#partition));
  }

  /** Runs the batch: one call to the single-use store. */
  async commit(): Promise<TransitionOutcome> {
    const [operations, audit] = await Promise.all([Promise.all(this.#operations), Promise.all(this.#audit)]);
    const result = await this.#ctx.singleUseAdapter.batch!([...operations, ...audit.flat()]);
    return new TransitionOutcome(result.ok, result.failed, result.entries, this.#gets);
  }
}

/** What a committed (or refused) transition found. */
export class TransitionOutcome {
  readonly ok: boolean;
  /** When not `ok`: index of the first operation whose condition failed (undefined when the backend could not tell). */
  readonly failed: number | undefined;
  readonly #entries: readonly (StoredEntry | null)[];
  readonly #gets: readonly { collection: RecordCollection<unknown>; id: string }[];

  constructor(ok: boolean, failed: number | undefined, entries: readonly (StoredEntry | null)[], gets: readonly { collection: RecordCollection<unknown>; id: string }[]) {
    this.ok = ok;
    this.failed = failed;
    this.#entries = entries;
    this.#gets = gets;
  }

  /** Whether the failing condition was the one at `index`. */
  failedAt(index: number): boolean {
    return !this.ok && this.failed === index;
  }

  /** Whether the record read by get `index` was present before the transition. */
  present(index: number): boolean {
    return this.#entries[index] != null;
  }

  /** Opens the record read by get `index` (as it was before the transition). */
  async read<T>(index: number): Promise<StoredRecord<T> | null> {
    const get = this.#gets[index];
    if (!get) throw new RangeError(`no read ${index} in this transition`);
    return (await get.collection.open(get.id, this.#entries[index] ?? null)) as StoredRecord<T> | null;
  }
}
