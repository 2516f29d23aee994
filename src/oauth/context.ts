import type { StorageAdapter } from '../storage/contract.js';
import type { Keyring } from '../crypto/keyring.js';
import { IntegrityError } from '../errors.js';
import { RecordStore, type RecordCollection, type StoredRecord } from '../records/record-store.js';
import { AuditLog, type AuditRecord } from './audit-log.js';
import type { GrantHandler } from './grants/handler.js';
import type { ResolvedOptions, ResolvedPolicy } from './options.js';
import { RecordKinds, type BuiltInCollections, type ClientRecord } from './record-kinds.js';
import { TimedCache } from './timed-cache.js';
import type { AccessTokenInfo } from './types.js';

/** Everything the parts of OAuthStore share. */
export interface StoreContext {
  keyring: Keyring;
  now: () => number;
  policy: ResolvedPolicy;
  adapter: StorageAdapter;
  singleUseAdapter: StorageAdapter;
  /** The built-in record kinds' collections. */
  records: BuiltInCollections;
  /** Every registered kind (built-in and extra), for the sweeps. */
  kinds: RecordKinds;
  audit: AuditLog;
  /** Grant handlers by grant type. */
  grants: ReadonlyMap<string, GrantHandler>;
  /** Client records read from `adapter`, per isolate (see `clientCacheSeconds`). */
  clientCache: TimedCache<StoredRecord<ClientRecord> | null>;
  /** Successful validations by access-token lookup id, per isolate (see `validationCacheSeconds`). */
  validationCache: TimedCache<AccessTokenInfo>;
  /** Serializes grace-window bookkeeping per grant within this isolate (see the refresh grant). */
  locks: Map<string, Promise<unknown>>;
}

export function createContext(options: ResolvedOptions, grants: ReadonlyMap<string, GrantHandler>): StoreContext {
  const main = new RecordStore({ adapter: options.adapter, keyring: options.keyring, now: options.now });
  const singleUse =
    options.singleUseAdapter === options.adapter
      ? main
      : new RecordStore({ adapter: options.singleUseAdapter, keyring: options.keyring, now: options.now });
  const extraKinds = [...options.records, ...[...grants.values()].flatMap((handler) => handler.records ?? [])];
  const kinds = new RecordKinds({ main, singleUse }, extraKinds);
  const { policy } = options;
  return {
    keyring: options.keyring,
    now: options.now,
    policy,
    adapter: options.adapter,
    singleUseAdapter: options.singleUseAdapter,
    records: kinds.builtIn,
    kinds,
    audit: new AuditLog(kinds.builtIn.audit as RecordCollection<AuditRecord>, options.keyring, options.now, policy.auditRetentionMs, policy.audit),
    grants,
    clientCache: new TimedCache(policy.clientCacheMs, 10_000),
    validationCache: new TimedCache(policy.validationCacheMs, 10_000),
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
