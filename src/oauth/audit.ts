import type { Keyring } from '../crypto/keyring.js';
import { randomId } from '../crypto/random.js';
import { IntegrityError, InvalidRequestError, VaultError } from '../errors.js';
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

/** An event as stored: its id is the record's key. */
type AuditBody = Omit<AuditEvent, 'id'>;

/** Receives an audit write that failed after the change it describes was committed. */
export type AuditErrorHandler = (error: unknown, event: { type: AuditEventType; clientId?: string; grantId?: string }) => void;

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
  /** Lookup ids of the user under every key of the ring, current first (a rotation keeps old events findable). */
  userLookupIds?: string[];
  since?: number;
  until?: number;
  limit: number;
  cursor?: string;
}

interface Position {
  /** Index of the user lookup id (key of the ring) being walked. */
  k?: number;
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
    if (
      typeof value === 'object' && value !== null && Number.isSafeInteger(value.s) && value.s >= 0 &&
      (value.c === undefined || typeof value.c === 'string') &&
      (value.k === undefined || (Number.isSafeInteger(value.k) && value.k >= 0 && value.k < 16))
    ) {
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
  readonly #onError: AuditErrorHandler | undefined;
  readonly events: RecordCollection<AuditBody>;
  readonly #byType: RecordCollection<Record<string, never>>;
  readonly #byClient: RecordCollection<Record<string, never>>;
  readonly #byUser: RecordCollection<Record<string, never>>;
  #sequence = 0;

  constructor(store: RecordStore, keyring: Keyring, now: () => number, retentionMs: number, onError?: AuditErrorHandler) {
    this.#keyring = keyring;
    this.#onError = onError;
    this.#now = now;
    this.#retentionMs = retentionMs;
    this.events = store.collection('audit');
    this.#byType = store.collection('audit-type');
    this.#byClient = store.collection('audit-client');
    this.#byUser = store.collection('audit-user');
  }

  userLookupIds(userId: string): Promise<string[]> {
    return this.#keyring.lookupIds(LOOKUP.user, userId);
  }

  /**
   * Appends an event, best effort. Every event is recorded after the change
   * it describes was committed (a code consumed, a token rotated, a client
   * registered); failing the call then would hide tokens the store already
   * issued, and the client's retry would look like a replay and revoke its
   * own grant. So a failed write goes to `onAuditError`, or to
   * `console.error` with the error's code or class only (never a message,
   * which a backend might fill with details), and the call succeeds.
   */
  async record(input: AuditInput): Promise<void> {
    try {
      await this.#write(input);
    } catch (error) {
      const event = {
        type: input.type,
        ...(input.clientId !== undefined && { clientId: input.clientId }),
        ...(input.grantId !== undefined && { grantId: input.grantId }),
      };
      try {
        if (this.#onError) this.#onError(error, event);
        else console.error(`oauth-vault: audit event "${input.type}" not recorded (${errorName(error)})`);
      } catch {
        // A failing handler must not fail the call either.
      }
    }
  }

  /**
   * The event record and its index entries, written together: one round trip
   * instead of two. A reader that meets an index entry whose event is not
   * (yet, or no longer) there skips it.
   */
  async #write(input: AuditInput): Promise<void> {
    const at = this.#now();
    this.#sequence = (this.#sequence + 1) % MAX_SEQUENCE;
    const id = `${String(MAX_TIME - at).padStart(13, '0')}-${String(MAX_SEQUENCE - this.#sequence).padStart(9, '0')}-${randomId(6)}`;
    const userLookupId = input.userId === undefined ? undefined : await this.#keyring.lookupId(LOOKUP.user, input.userId);
    const body: AuditBody = {
      type: input.type,
      at,
      ...(input.clientId !== undefined && { clientId: input.clientId }),
      ...(userLookupId !== undefined && { userLookupId }),
      ...(input.grantId !== undefined && { grantId: input.grantId }),
      details: input.details ?? {},
    };
    const expiresAt = at + this.#retentionMs;
    const writes = [this.events.put(id, body, { expiresAt }), this.#byType.put(`${input.type}/${id}`, {}, { expiresAt })];
    if (input.clientId !== undefined) writes.push(this.#byClient.put(`${input.clientId}/${id}`, {}, { expiresAt }));
    if (userLookupId !== undefined) writes.push(this.#byUser.put(`${userLookupId}/${id}`, {}, { expiresAt }));
    await Promise.all(writes);
  }

  /**
   * Newest first; filters on every given criterion; reads one index prefix
   * (for a user: one per key of the ring, current first, so events indexed
   * before a rotation stay findable). Records that cannot be opened (a key
   * dropped before a re-encryption sweep) are skipped and counted.
   */
  async query(query: AuditQuery): Promise<QueryAuditResult> {
    let collection: RecordCollection<unknown> = this.events;
    let prefixes = [''];
    if (query.userLookupIds !== undefined) [collection, prefixes] = [this.#byUser, query.userLookupIds.map((id) => `${id}/`)];
    else if (query.clientId !== undefined) [collection, prefixes] = [this.#byClient, [`${query.clientId}/`]];
    else if (query.type !== undefined) [collection, prefixes] = [this.#byType, [`${query.type}/`]];
    const users = new Set(query.userLookupIds);
    const events: AuditEvent[] = [];
    let unreadable = 0;
    const done = (cursor?: Position): QueryAuditResult => ({
      events,
      ...(cursor && { cursor: encodeCursor(cursor) }),
      ...(unreadable > 0 && { unreadable }),
    });
    let position: Position = query.cursor === undefined ? { s: 0 } : decodeCursor(query.cursor);
    if ((position.k ?? 0) >= prefixes.length) throw new InvalidRequestError('cursor', 'must be a cursor returned by queryAudit');
    for (;;) {
      const k = position.k ?? 0;
      const prefix = prefixes[k]!;
      const page = await collection.listIds({ prefix, limit: 100, ...(position.c !== undefined && { cursor: position.c }) });
      // `since` ends this prefix's walk (newest first); the next key's prefix may still hold matches.
      let ended = false;
      for (let index = position.s; index < page.ids.length && !ended; index++) {
        const id = page.ids[index]!.slice(prefix.length);
        let record;
        try {
          record = await this.events.get(id);
        } catch (error) {
          if (!(error instanceof IntegrityError)) throw error;
          unreadable++;
          continue;
        }
        if (!record) continue;
        const event = record.data;
        if (query.since !== undefined && event.at < query.since) {
          ended = true;
          continue;
        }
        if (query.until !== undefined && event.at >= query.until) continue;
        if (query.type !== undefined && event.type !== query.type) continue;
        if (query.clientId !== undefined && event.clientId !== query.clientId) continue;
        if (query.userLookupIds !== undefined && (event.userLookupId === undefined || !users.has(event.userLookupId))) continue;
        events.push({ id, ...event });
        if (events.length === query.limit) {
          const rest = !ended && (index + 1 < page.ids.length || page.cursor !== undefined);
          if (rest) return done({ ...(k > 0 && { k }), ...(position.c !== undefined && { c: position.c }), s: index + 1 });
          return k + 1 < prefixes.length ? done({ k: k + 1, s: 0 }) : done();
        }
      }
      if (!ended && page.cursor !== undefined) position = { ...(k > 0 && { k }), c: page.cursor, s: 0 };
      else if (k + 1 < prefixes.length) position = { k: k + 1, s: 0 };
      else return done();
    }
  }

  /** Counts events (for stats). */
  async count(): Promise<number> {
    let total = 0;
    for await (const _ of this.events.ids()) total++;
    return total;
  }

  /** Deletes events and index entries older than the retention (backends without TTL). */
  async sweep(): Promise<number> {
    const cutoff = this.#now() - this.#retentionMs;
    let removed = 0;
    for (const collection of [this.events, this.#byType, this.#byClient, this.#byUser]) {
      for await (const id of collection.ids()) {
        const eventId = id.slice(id.lastIndexOf('/') + 1);
        const at = MAX_TIME - Number(eventId.slice(0, 13));
        if (Number.isFinite(at) && at < cutoff && (await collection.delete(id)) && collection === this.events) removed++;
      }
    }
    return removed;
  }

  /** Every collection of the trail (for the re-encryption sweep). */
  collections(): RecordCollection<unknown>[] {
    return [this.events, this.#byType, this.#byClient, this.#byUser];
  }
}

/** The error's stable code, or its class name: never its message. */
export function errorName(error: unknown): string {
  if (error instanceof VaultError) return error.code;
  return error instanceof Error ? error.name : 'unknown';
}
