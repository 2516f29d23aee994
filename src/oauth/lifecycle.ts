import type { StorageAdapter } from '../storage/contract.js';
import { partitionOf } from '../storage/contract.js';
import { randomId } from '../crypto/random.js';
import { errorName, IntegrityError } from '../errors.js';
import { RecordStore } from '../records/record-store.js';
import { readForScan, type StoreContext } from './context.js';
import { readGrantState, revokeGrantById, type GrantState } from './grant-state.js';
import { MAX_CODE_TTL_SECONDS } from './options.js';
import type { RegisteredKind } from './record-kinds.js';
import type { CleanupResult, HealthCheckResult, StatsResult } from './types.js';

/** Lifecycle: cleanup, stats and health. These scan; run them from a cron, not per request. */

/**
 * How old a grant must be before cleanup revokes it for a missing client: a
 * client read that is not yet visible (KV) must not revoke a grant issued a
 * moment ago.
 */
export const CLIENT_SETTLE_MS = (MAX_CODE_TTL_SECONDS + 300) * 1000;

function adapters(ctx: StoreContext): StorageAdapter[] {
  return ctx.singleUseAdapter === ctx.adapter ? [ctx.adapter] : [ctx.adapter, ctx.singleUseAdapter];
}

/** A grant that can no longer be used: ended, revoked, or never redeemed in time. */
function isDead(state: GrantState): boolean {
  return state.grant === null || state.revoked || (state.live === null && !state.redeemable);
}

/** Grant states read once per run, with the repair of `deleteClient`'s cascade. */
function grantStates(ctx: StoreContext, now: number) {
  const states = new Map<string, Promise<GrantState | 'unreadable'>>();
  const clients = new Map<string, Promise<boolean>>();
  const clientExists = (clientId: string): Promise<boolean> => {
    let exists = clients.get(clientId);
    if (exists === undefined) {
      exists = ctx.records.client.get(clientId).then((found) => found !== null, () => true);
      clients.set(clientId, exists);
    }
    return exists;
  };
  const read = async (grantId: string): Promise<GrantState | 'unreadable'> => {
    let state: GrantState;
    try {
      state = await readGrantState(ctx, grantId);
    } catch (error) {
      if (error instanceof IntegrityError) return 'unreadable';
      throw error;
    }
    // A live grant whose client is gone (its index entry was lost, or it was issued while the
    // deletion ran): its tokens already fail validation; revoke it so the grant says so too.
    const grant = state.grant?.data;
    if (grant && state.live && !state.revoked && grant.createdAt + CLIENT_SETTLE_MS <= now && !(await clientExists(grant.clientId))) {
      if (await revokeGrantById(ctx, grantId, 'client_deleted', grant.clientId)) return { ...state, revoked: true };
    }
    return state;
  };
  return (grantId: string): Promise<GrantState | 'unreadable'> => {
    let state = states.get(grantId);
    if (state === undefined) {
      state = read(grantId);
      states.set(grantId, state);
    }
    return state;
  };
}

/**
 * Removes what can no longer be used, kind by kind from the registry: every
 * record of a grant that ended, was revoked or was never redeemed in time;
 * every record of a session that is gone; every other record once it
 * expired; then lets each adapter drop what it holds physically expired.
 * Logical expiry never depended on any of this. Records that cannot be
 * opened are left in place and counted.
 */
export async function cleanupExpired(ctx: StoreContext): Promise<CleanupResult> {
  const now = ctx.now();
  const result: CleanupResult = { grants: 0, records: {}, adapterExpired: 0, unreadable: 0 };
  const stateOf = grantStates(ctx, now);
  const removedGrants = new Set<string>();
  const unreadableGrants = new Set<string>();
  const removed = (kind: string): void => void (result.records[kind] = (result.records[kind] ?? 0) + 1);
  for (const { definition, collection } of ctx.kinds.all()) {
    for await (const id of collection.ids()) {
      const key = collection.keyOf(id);
      let gone: boolean;
      if (definition.ownedBy === 'grant') {
        const grantId = partitionOf(key);
        const state = await stateOf(grantId);
        if (state === 'unreadable') {
          unreadableGrants.add(grantId);
          continue;
        }
        gone = isDead(state);
        if (gone) removedGrants.add(grantId);
      } else if (definition.ownedBy === 'session') {
        gone = (await ctx.records.session.get(id).catch(() => 'unreadable' as const)) === null;
      } else {
        const record = await readForScan(collection, id);
        if (record === 'unreadable') result.unreadable++;
        gone = record === null;
      }
      if (gone && (await collection.delete(id))) removed(definition.kind);
    }
  }
  result.grants = removedGrants.size;
  result.unreadable += unreadableGrants.size;
  for (const adapter of adapters(ctx)) result.adapterExpired += (await adapter.deleteExpired?.()) ?? 0;
  const audit = await ctx.audit.prepare({ types: ['cleanup'], details: { grants: result.grants, adapterExpired: result.adapterExpired } }, randomId(8));
  if (audit.length > 0) await ctx.singleUseAdapter.batch!(audit);
  return result;
}

/** Counts over the registry's kinds: clients, active grants and their live tokens, audit events. */
export async function stats(ctx: StoreContext): Promise<StatsResult> {
  let unreadable = 0;
  const count = async (kind: RegisteredKind['collection'], include: (id: string) => Promise<boolean> = async () => true): Promise<number> => {
    let total = 0;
    for await (const id of kind.ids()) {
      if (!(await include(id))) continue;
      const record = await readForScan(kind, id);
      if (record === 'unreadable') unreadable++;
      else if (record !== null) total++;
    }
    return total;
  };
  const active = new Map<string, Promise<boolean>>();
  const isActive = (grantId: string): Promise<boolean> => {
    let known = active.get(grantId);
    if (known === undefined) {
      known = readGrantState(ctx, grantId).then(
        (state) => state.grant !== null && state.live !== null && !state.revoked,
        (error: unknown) => {
          if (!(error instanceof IntegrityError)) throw error;
          unreadable++;
          return false;
        },
      );
      active.set(grantId, known);
    }
    return known;
  };
  const ofActiveGrant = (id: string) => isActive(id.slice(0, id.indexOf('/')));
  const clients = await count(ctx.records.client);
  const activeGrants = await count(ctx.records.live, (id) => isActive(id));
  const activeAccessTokens = await count(ctx.records.access, ofActiveGrant);
  const activeRefreshTokens = await count(ctx.records.refresh, ofActiveGrant);
  return { clients, activeGrants, activeAccessTokens, activeRefreshTokens, auditEvents: await ctx.audit.count(), unreadable };
}

/** A sealed round trip through each adapter (put, get, open, delete) and a keyring check. */
export async function healthCheck(ctx: StoreContext): Promise<HealthCheckResult> {
  const checks: HealthCheckResult['checks'] = [];
  const run = async (name: string, check: () => Promise<void>): Promise<void> => {
    try {
      await check();
      checks.push({ name, ok: true });
    } catch (error) {
      // Only the error's code and class: messages of backends could carry details we do not vouch for.
      checks.push({ name, ok: false, error: errorName(error) });
    }
  };
  await run('keyring', async () => {
    const [a, b] = await Promise.all([ctx.keyring.lookupId('oauth/health', 'probe'), ctx.keyring.lookupId('oauth/health', 'probe')]);
    if (a !== b) throw new Error('lookup ids are not deterministic');
  });
  const named: [string, StorageAdapter][] = [['adapter', ctx.adapter]];
  if (ctx.singleUseAdapter !== ctx.adapter) named.push(['singleUseAdapter', ctx.singleUseAdapter]);
  for (const [name, adapter] of named) {
    await run(name, async () => {
      const probes = new RecordStore({ adapter, keyring: ctx.keyring, now: ctx.now }).collection<{ probe: string }>('health');
      const id = randomId(12);
      const probe = randomId(12);
      await probes.put(id, { probe }, { expiresAt: ctx.now() + 60_000 });
      try {
        const read = await probes.get(id);
        if (read?.data.probe !== probe) throw new Error('read back a different value');
      } finally {
        await probes.delete(id);
      }
    });
  }
  return { ok: checks.every((check) => check.ok), checks };
}
