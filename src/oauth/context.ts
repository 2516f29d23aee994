import type { StorageAdapter } from '../adapter.js';
import type { Keyring } from '../crypto/keyring.js';
import { IntegrityError } from '../errors.js';
import { RecordStore, type RecordCollection, type StoredRecord } from '../records/record-store.js';
import type { AuditLog } from './audit.js';
import type { ResolvedPolicy } from './policy.js';
import type { ClientType, GrantType, PkceMethod, SessionInfo } from './types.js';

/**
 * Record shapes and key layout of the authorization-server domain.
 *
 * On `adapter` (may be KV):
 *   client/<clientId>                       ClientRecord
 *   user-grant/<lookup(userId)>/<grantId>   GrantIndexEntry
 *   client-grant/<clientId>/<grantId>       GrantIndexEntry
 *   audit/<time-desc>, audit-type/..., audit-client/..., audit-user/...  (audit.ts)
 *
 * On `singleUseAdapter` (atomic; grant keys partitioned by grant id):
 *   grant/<grantId>                         GrantRecord: code state, refresh family, status
 *   access/<grantId>/<lookup(accessToken)>  AccessRecord
 *   session/<lookup(sessionId)>             SessionRecord (completing one is single-use)
 *
 * Why access tokens live with the grant, not on `adapter`: validation must
 * read the grant's status anyway (that is what makes revocation and replay
 * revocation take effect at once, instead of after KV's ~60 s propagation),
 * so keeping the token next to it costs no extra backend, and a token
 * revoked one by one is gone everywhere at once too.
 *
 * The grant record is the one single-use record: issuing a code creates it
 * (`issued`), the exchange flips it to `active` with one compare-and-set
 * (that flip *is* the code's consumption), rotation and grace use move its
 * refresh family with compare-and-set, and revocation sets `revoked`. One
 * record per grant means every exactly-once transition is one
 * compare-and-set on one key, on any atomic adapter, batch or not.
 */

export interface ClientRecord {
  type: ClientType;
  name?: string;
  redirectUris: string[];
  grantTypes: GrantType[];
  scope: string[];
  metadata?: unknown;
  /** Lookup id of the secret (confidential clients). */
  secretLookup?: string;
  createdAt: number;
  updatedAt: number;
}

/** A session as stored: its id is the record's key (a lookup id), not a field. */
export type SessionRecord = Omit<SessionInfo, 'sessionId'>;

export interface RefreshFamily {
  /** Lookup id of the live refresh token; null when the client has no refresh grant. */
  current: string | null;
  /** Lookup ids of rotated tokens, newest first (bounded): presenting one is reuse. */
  previous: string[];
  rotatedAt: number;
  lastUsedAt: number;
  /** Grace answers given for `previous[0]` since the last rotation. */
  graceUses: number;
  /** Rotation counter. */
  generation: number;
  /** Scope granted by the last rotation (a grace retry must ask for the same). */
  scope?: string[];
}

export type GrantStatus = 'issued' | 'active' | 'revoked';

export interface GrantRecord {
  status: GrantStatus;
  clientId: string;
  userId: string;
  scope: string[];
  resource?: string;
  props?: unknown;
  redirectUri: string;
  /** `false` when the authorization request left redirect_uri out (then the exchange may too). */
  redirectUriExplicit?: false;
  /** Lookup id of the authorization code. */
  codeLookup: string;
  codeChallenge?: string;
  codeChallengeMethod?: PkceMethod;
  codeExpiresAt: number;
  createdAt: number;
  /** When the code was exchanged. */
  activatedAt?: number;
  /** Absolute end of the refresh chain (set on exchange). */
  chainExpiresAt?: number;
  refresh?: RefreshFamily;
  revokedAt?: number;
  revokeReason?: string;
}

export interface AccessRecord {
  clientId: string;
  scope: string[];
  issuedAt: number;
  expiresAt: number;
}

/**
 * A grant index entry: the key is the information; `createdAt` lets cleanup
 * tell an entry written just before its grant (kept) from a stale one.
 * Entries written before `createdAt` existed read as `{}`.
 */
export interface GrantIndexEntry {
  createdAt?: number;
}

/** Everything the parts of OAuthStore share. */
export interface StoreContext {
  keyring: Keyring;
  now: () => number;
  policy: ResolvedPolicy;
  adapter: StorageAdapter;
  singleUseAdapter: StorageAdapter;
  clients: RecordCollection<ClientRecord>;
  sessions: RecordCollection<SessionRecord>;
  userGrants: RecordCollection<GrantIndexEntry>;
  clientGrants: RecordCollection<GrantIndexEntry>;
  grants: RecordCollection<GrantRecord>;
  access: RecordCollection<AccessRecord>;
  audit: AuditLog;
  /** Serializes grace-window bookkeeping per grant within this isolate (see refresh.ts). */
  locks: Map<string, Promise<unknown>>;
}

export function createContext(options: {
  keyring: Keyring;
  now: () => number;
  policy: ResolvedPolicy;
  adapter: StorageAdapter;
  singleUseAdapter: StorageAdapter;
  audit: (main: RecordStore) => AuditLog;
}): StoreContext {
  const main = new RecordStore({ adapter: options.adapter, keyring: options.keyring, now: options.now });
  const single =
    options.singleUseAdapter === options.adapter
      ? main
      : new RecordStore({ adapter: options.singleUseAdapter, keyring: options.keyring, now: options.now });
  return {
    keyring: options.keyring,
    now: options.now,
    policy: options.policy,
    adapter: options.adapter,
    singleUseAdapter: options.singleUseAdapter,
    clients: main.collection('client'),
    // Sessions live on the atomic store: completing one is a compare-and-set that must have one winner.
    sessions: single.collection('session'),
    userGrants: main.collection('user-grant'),
    clientGrants: main.collection('client-grant'),
    grants: single.collection('grant'),
    access: single.collection('access'),
    audit: options.audit(main),
    locks: new Map(),
  };
}

/** Runs `task` after every earlier task queued under `key` in this isolate. */
export async function withLock<T>(ctx: StoreContext, key: string, task: () => Promise<T>): Promise<T> {
  const previous = ctx.locks.get(key) ?? Promise.resolve();
  const run = previous.then(task, task);
  const tail = run.catch(() => undefined);
  ctx.locks.set(key, tail);
  try {
    return await run;
  } finally {
    if (ctx.locks.get(key) === tail) ctx.locks.delete(key);
  }
}

/**
 * Reads a record for a scan: a record that cannot be opened (its key was
 * dropped, or it was tampered with) is `'unreadable'`, so one bad record
 * does not fail a whole cleanup, count or listing. Single-record reads
 * (validation, exchange) keep throwing: there a silent skip would be a lie.
 */
export async function readForScan<T>(collection: RecordCollection<T>, id: string): Promise<StoredRecord<T> | null | 'unreadable'> {
  try {
    return await collection.get(id);
  } catch (error) {
    if (error instanceof IntegrityError) return 'unreadable';
    throw error;
  }
}
