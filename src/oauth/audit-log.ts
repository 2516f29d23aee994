import type { BatchOperation } from '../storage/contract.js';
import type { Keyring } from '../crypto/keyring.js';
import { randomId } from '../crypto/random.js';
import { IntegrityError, InvalidRequestError } from '../errors.js';
import type { RecordCollection } from '../records/record-store.js';
import { fromBase64Url, fromUtf8, toBase64Url, utf8 } from '../util/bytes.js';
import { LOOKUP } from './tokens.js';
import type { AuditEvent, AuditEventType, AuditMode, QueryAuditResult } from './types.js';

/**
 * The audit trail: one sealed record per operation, `audit/<eventId>/~<partition>`,
 * written in the same atomic batch as the change it describes (so the trail
 * never records a change that did not happen, nor misses one that did). Ids
 * sort newest first: inverted time, then an inverted per-isolate sequence so
 * operations of one millisecond keep their order. User ids appear only as
 * lookup ids.
 */

/** One operation's events as stored: its id is the record's key. */
export interface AuditRecord {
  types: AuditEventType[];
  at: number;
  clientId?: string;
  userLookupId?: string;
  grantId?: string;
  details: Record<string, unknown>;
}

/** An operation to record: one or more event types, what they concern, details (never a secret). */
export interface AuditInput {
  types: AuditEventType[];
  clientId?: string;
  /** Plain user id: turned into a lookup id here, never stored. */
  userId?: string;
  grantId?: string;
  details?: Record<string, unknown>;
}

const MAX_TIME = 9_999_999_999_999;
const MAX_SEQUENCE = 999_999_999;
/** Records examined per `query` call: bounds the work of a selective query over a long trail. */
const SCAN_BUDGET = 1000;

export interface AuditQuery {
  type?: AuditEventType;
  clientId?: string;
  /** Lookup ids of the user under every key of the ring (a rotation keeps old events findable). */
  userLookupIds?: string[];
  /** Grants of that user: their events match even when the operation did not name the user. */
  userGrantIds?: ReadonlySet<string>;
  since?: number;
  until?: number;
  limit: number;
  cursor?: string;
}

/** Where a query stopped: an adapter list cursor, records of that page done, events of the next record done. */
interface Position {
  c?: string;
  s: number;
  e: number;
}

function encodeCursor(position: Position): string {
  return toBase64Url(utf8(JSON.stringify(position)));
}

function decodeCursor(cursor: string): Position {
  try {
    const value = JSON.parse(fromUtf8(fromBase64Url(cursor) ?? new Uint8Array())) as Position;
    const count = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
    if (typeof value === 'object' && value !== null && count(value.s) && count(value.e) && (value.c === undefined || typeof value.c === 'string')) {
      return value;
    }
  } catch {
    // fall through
  }
  throw new InvalidRequestError('cursor', 'must be a cursor returned by queryAudit');
}

export class AuditLog {
  readonly #keyring: Keyring;
  readonly #now: () => number;
  readonly #retentionMs: number;
  readonly #mode: AuditMode;
  readonly records: RecordCollection<AuditRecord>;
  #sequence = 0;

  constructor(records: RecordCollection<AuditRecord>, keyring: Keyring, now: () => number, retentionMs: number, mode: AuditMode) {
    this.records = records;
    this.#keyring = keyring;
    this.#now = now;
    this.#retentionMs = retentionMs;
    this.#mode = mode;
  }

  get enabled(): boolean {
    return this.#mode !== 'off';
  }

  userLookupIds(userId: string): Promise<string[]> {
    return this.#keyring.lookupIds(LOOKUP.user, userId);
  }

  /** The put of one operation's record, for the batch of the change it describes (none when the trail is off). */
  async prepare(input: AuditInput, partition: string): Promise<BatchOperation[]> {
    if (!this.enabled) return [];
    const at = this.#now();
    this.#sequence = (this.#sequence + 1) % MAX_SEQUENCE;
    const id = `${String(MAX_TIME - at).padStart(13, '0')}-${String(MAX_SEQUENCE - this.#sequence).padStart(9, '0')}-${randomId(6)}/~${partition}`;
    const userLookupId = input.userId === undefined ? undefined : await this.#keyring.lookupId(LOOKUP.user, input.userId);
    const record: AuditRecord = {
      types: input.types,
      at,
      ...(input.clientId !== undefined && { clientId: input.clientId }),
      ...(userLookupId !== undefined && { userLookupId }),
      ...(input.grantId !== undefined && { grantId: input.grantId }),
      details: input.details ?? {},
    };
    return [await this.records.preparePut(id, record, { expiresAt: at + this.#retentionMs })];
  }

  /**
   * Newest first; filters on every given criterion. Walks the trail (listing
   * fans out across shards like any listing) and examines at most a bounded
   * number of records per call: a selective query over a long trail may
   * return a short page with a cursor. Records that cannot be opened (a key
   * dropped before a re-encryption sweep) are skipped and counted.
   */
  async query(query: AuditQuery): Promise<QueryAuditResult> {
    const users = new Set(query.userLookupIds);
    const events: AuditEvent[] = [];
    let unreadable = 0;
    let examined = 0;
    let position: Position = query.cursor === undefined ? { s: 0, e: 0 } : decodeCursor(query.cursor);
    const done = (next?: Position): QueryAuditResult => ({
      events,
      ...(next && { cursor: encodeCursor(next) }),
      ...(unreadable > 0 && { unreadable }),
    });
    for (;;) {
      const page = await this.records.listIds({ limit: 100, ...(position.c !== undefined && { cursor: position.c }) });
      for (let index = position.s; index < page.ids.length; index++) {
        if (examined++ >= SCAN_BUDGET) return done({ ...(position.c !== undefined && { c: position.c }), s: index, e: 0 });
        const id = page.ids[index]!;
        let record;
        try {
          record = await this.records.get(id);
        } catch (error) {
          if (!(error instanceof IntegrityError)) throw error;
          unreadable++;
          continue;
        }
        if (!record) continue;
        const stored = record.data;
        // Newest first: once older than `since`, nothing further can match.
        if (query.since !== undefined && stored.at < query.since) return done();
        if (!matches(stored, query, users)) continue;
        const expanded = expand(id, stored).filter((event) => query.type === undefined || event.type === query.type);
        const skip = index === position.s ? position.e : 0;
        for (let at = skip; at < expanded.length; at++) {
          if (events.length === query.limit) return done({ ...(position.c !== undefined && { c: position.c }), s: index, e: at });
          events.push(expanded[at]!);
        }
      }
      if (page.cursor === undefined) return done();
      position = { c: page.cursor, s: 0, e: 0 };
    }
  }

  /** Audit records, for `stats`. */
  async count(): Promise<number> {
    let count = 0;
    for await (const id of this.records.ids()) {
      try {
        const record = await this.records.get(id);
        if (record) count += record.data.types.length;
      } catch (error) {
        if (!(error instanceof IntegrityError)) throw error;
      }
    }
    return count;
  }
}

function matches(record: AuditRecord, query: AuditQuery, users: ReadonlySet<string>): boolean {
  if (query.until !== undefined && record.at >= query.until) return false;
  if (query.type !== undefined && !record.types.includes(query.type)) return false;
  if (query.clientId !== undefined && record.clientId !== query.clientId) return false;
  if (query.userLookupIds !== undefined) {
    const byUser = record.userLookupId !== undefined && users.has(record.userLookupId);
    const byGrant = record.grantId !== undefined && (query.userGrantIds?.has(record.grantId) ?? false);
    if (!byUser && !byGrant) return false;
  }
  return true;
}

/** One stored operation as public events, one per type, newest first like the trail (its types are stored in the order they happened). */
function expand(id: string, record: AuditRecord): AuditEvent[] {
  const base = id.slice(0, id.indexOf('/'));
  const events = record.types.map((type, index) => ({
    id: record.types.length === 1 ? base : `${base}.${index}`,
    type,
    at: record.at,
    ...(record.clientId !== undefined && { clientId: record.clientId }),
    ...(record.userLookupId !== undefined && { userLookupId: record.userLookupId }),
    ...(record.grantId !== undefined && { grantId: record.grantId }),
    details: record.details,
  }));
  return events.reverse();
}
