import type { Keyring } from '../crypto/keyring.js';
import { randomId } from '../crypto/random.js';
import { InvalidRequestError } from '../errors.js';
import type { RecordCollection, RecordStore } from '../records/record-store.js';
import { fromBase64Url, fromUtf8, toBase64Url, utf8 } from '../util/bytes.js';
import type { AuditEvent, AuditEventType, QueryAuditResult } from './types.js';
import { LOOKUP } from './tokens.js';

/**
 * The audit trail. Each event is a sealed record `audit/<id>`; its id sorts
 * newest first (inverted time, then an inverted per-isolate sequence so
 * events of one millisecond keep their order). Index entries
 * `audit-type/<type>/<id>`, `audit-client/<clientId>/<id>` and
 * `audit-user/<lookup(userId)>/<id>` let a query read one prefix instead of
 * the whole trail. User ids appear only as lookup ids.
 */

interface AuditBody {
  type: AuditEventType;
  at: number;
  clientId?: string;
  userLookupId?: string;
  grantId?: string;
  details: Record<string, unknown>;
}

export interface AuditInput {
  type: AuditEventType;
  clientId?: string;
  /** Plain user id: turned into a lookup id here, never stored. */
  userId?: string;
  grantId?: string;
  details?: Record<string, unknown>;
}

const MAX_TIME = 9_999_999_999_999;
const MAX_SEQUENCE = 999_999_999;

export interface AuditQuery {
  type?: AuditEventType;
  clientId?: string;
  userLookupId?: string;
  since?: number;
  until?: number;
  limit: number;
  cursor?: string;
}

interface Position {
  /** Adapter cursor of the page to re-list. */
  c?: string;
  /** Keys of that page already returned. */
  s: number;
}

function encodeCursor(position: Position): string {
  return toBase64Url(utf8(JSON.stringify(position)));
}

function decodeCursor(cursor: string): Position {
  const bytes = fromBase64Url(cursor);
  try {
    const value = JSON.parse(fromUtf8(bytes ?? new Uint8Array())) as Position;
    if (typeof value === 'object' && value !== null && Number.isSafeInteger(value.s) && value.s >= 0 && (value.c === undefined || typeof value.c === 'string')) {
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
  readonly events: RecordCollection<AuditBody>;
  readonly #byType: RecordCollection<Record<string, never>>;
  readonly #byClient: RecordCollection<Record<string, never>>;
  readonly #byUser: RecordCollection<Record<string, never>>;
  #sequence = 0;

  constructor(store: RecordStore, keyring: Keyring, now: () => number, retentionMs: number) {
    this.#keyring = keyring;
    this.#now = now;
    this.#retentionMs = retentionMs;
    this.events = store.collection('audit');
    this.#byType = store.collection('audit-type');
    this.#byClient = store.collection('audit-client');
    this.#byUser = store.collection('audit-user');
  }

  userLookupId(userId: string): Promise<string> {
    return this.#keyring.lookupId(LOOKUP.user, userId);
  }

  /** Appends an event: the event record first, then its index entries. */
  async record(input: AuditInput): Promise<void> {
    const at = this.#now();
    this.#sequence = (this.#sequence + 1) % MAX_SEQUENCE;
    const id = `${String(MAX_TIME - at).padStart(13, '0')}-${String(MAX_SEQUENCE - this.#sequence).padStart(9, '0')}-${randomId(6)}`;
    const userLookupId = input.userId === undefined ? undefined : await this.userLookupId(input.userId);
    const body: AuditBody = {
      type: input.type,
      at,
      ...(input.clientId !== undefined && { clientId: input.clientId }),
      ...(userLookupId !== undefined && { userLookupId }),
      ...(input.grantId !== undefined && { grantId: input.grantId }),
      details: input.details ?? {},
    };
    const expiresAt = at + this.#retentionMs;
    await this.events.put(id, body, { expiresAt });
    const writes = [this.#byType.put(`${input.type}/${id}`, {}, { expiresAt })];
    if (input.clientId !== undefined) writes.push(this.#byClient.put(`${input.clientId}/${id}`, {}, { expiresAt }));
    if (userLookupId !== undefined) writes.push(this.#byUser.put(`${userLookupId}/${id}`, {}, { expiresAt }));
    await Promise.all(writes);
  }

  /** Newest first; filters on every given criterion; reads one index prefix. */
  async query(query: AuditQuery): Promise<QueryAuditResult> {
    let collection: RecordCollection<unknown> = this.events;
    let prefix = '';
    if (query.userLookupId !== undefined) [collection, prefix] = [this.#byUser, `${query.userLookupId}/`];
    else if (query.clientId !== undefined) [collection, prefix] = [this.#byClient, `${query.clientId}/`];
    else if (query.type !== undefined) [collection, prefix] = [this.#byType, `${query.type}/`];
    const events: AuditEvent[] = [];
    let position: Position = query.cursor === undefined ? { s: 0 } : decodeCursor(query.cursor);
    for (;;) {
      const page = await collection.listIds({ prefix, limit: 100, ...(position.c !== undefined && { cursor: position.c }) });
      for (let index = position.s; index < page.ids.length; index++) {
        const id = page.ids[index]!.slice(prefix.length);
        const record = await this.events.get(id);
        if (!record) continue;
        const event = record.data;
        if (query.since !== undefined && event.at < query.since) return { events };
        if (query.until !== undefined && event.at >= query.until) continue;
        if (query.type !== undefined && event.type !== query.type) continue;
        if (query.clientId !== undefined && event.clientId !== query.clientId) continue;
        if (query.userLookupId !== undefined && event.userLookupId !== query.userLookupId) continue;
        events.push({ id, ...event });
        if (events.length === query.limit) {
          const next: Position = { ...(position.c !== undefined && { c: position.c }), s: index + 1 };
          const more = index + 1 < page.ids.length || page.cursor !== undefined;
          return more ? { events, cursor: encodeCursor(next) } : { events };
        }
      }
      if (page.cursor === undefined) return { events };
      position = { c: page.cursor, s: 0 };
    }
  }

  /** Counts events (for stats). */
  async count(): Promise<number> {
    let total = 0;
    let cursor: string | undefined;
    do {
      const page = await this.events.listIds({ limit: 1000, ...(cursor !== undefined && { cursor }) });
      total += page.ids.length;
      cursor = page.cursor;
    } while (cursor !== undefined);
    return total;
  }

  /** Deletes events and index entries older than the retention (backends without TTL). */
  async sweep(): Promise<number> {
    const cutoff = this.#now() - this.#retentionMs;
    let removed = 0;
    for (const collection of [this.events, this.#byType, this.#byClient, this.#byUser]) {
      let cursor: string | undefined;
      do {
        const page = await collection.listIds({ limit: 1000, ...(cursor !== undefined && { cursor }) });
        for (const id of page.ids) {
          const eventId = id.slice(id.lastIndexOf('/') + 1);
          const at = MAX_TIME - Number(eventId.slice(0, 13));
          if (Number.isFinite(at) && at < cutoff && (await collection.delete(id)) && collection === this.events) removed++;
        }
        cursor = page.cursor;
      } while (cursor !== undefined);
    }
    return removed;
  }
}
