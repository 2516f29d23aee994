import type { StorageAdapter } from '../adapter.js';
import { randomId } from '../crypto/random.js';
import { RecordStore } from '../records/record-store.js';
import { errorName } from './audit.js';
import { readForScan, type GrantRecord, type StoreContext } from './context.js';
import { revokeGrantById } from './grant-state.js';
import { MAX_CODE_TTL_SECONDS } from './policy.js';
import type { CleanupResult, HealthCheckResult, StatsResult } from './types.js';

/** Lifecycle: cleanup, stats and health. These scan; run them from a cron, not per request. */

/**
 * How long an index entry may wait for its grant. Issuing a code writes the
 * index entries first and the grant record right after; an entry whose grant
 * is absent is deleted only once it is older than any code could be (plus a
 * margin for a slow writer), so cleanup never races a grant being created.
 */
export const INDEX_SETTLE_MS = (MAX_CODE_TTL_SECONDS + 300) * 1000;

function adapters(ctx: StoreContext): StorageAdapter[] {
  return ctx.singleUseAdapter === ctx.adapter ? [ctx.adapter] : [ctx.adapter, ctx.singleUseAdapter];
}

type GrantState = 'live' | 'revoked' | 'absent' | 'unreadable';

/**
 * Removes what can no longer be used: expired or revoked grants and their
 * access tokens, expired sessions, stale index entries, audit events past
 * retention; then lets each adapter drop physically expired entries. Logical
 * expiry never depended on any of this. Records that cannot be opened are
 * left in place and counted (`unreadable`).
 */
export async function cleanupExpired(ctx: StoreContext): Promise<CleanupResult> {
  const result: CleanupResult = { grants: 0, accessTokens: 0, sessions: 0, indexEntries: 0, auditEvents: 0, adapterExpired: 0, unreadable: 0 };
  const now = ctx.now();
  // State per grant id seen, remembered across the passes (a revoked grant deleted
  // in the first pass still lets the index pass drop its entries).
  const states = new Map<string, GrantState>();
  const stateOf = async (grantId: string): Promise<GrantState> => {
    let state = states.get(grantId);
    if (state === undefined) {
      const found = await readForScan(ctx.grants, grantId);
      state = found === 'unreadable' ? 'unreadable' : found === null ? 'absent' : found.data.status === 'revoked' ? 'revoked' : 'live';
      if (state === 'unreadable') result.unreadable++;
      states.set(grantId, state);
    }
    return state;
  };
  // Whether each client still exists, asked once per client per run.
  const clientExists = new Map<string, Promise<boolean>>();
  const existsClient = (clientId: string): Promise<boolean> => {
    let exists = clientExists.get(clientId);
    if (exists === undefined) {
      exists = ctx.clients.get(clientId).then((found) => found !== null, () => true);
      clientExists.set(clientId, exists);
    }
    return exists;
  };
  for await (const grantId of ctx.grants.ids()) {
    let state = await stateOf(grantId);
    if (state === 'live' && (await revokeOrphan(ctx, grantId, now, existsClient))) {
      state = 'revoked';
      states.set(grantId, state);
    }
    if ((state === 'revoked' || state === 'absent') && (await ctx.grants.delete(grantId))) result.grants++;
  }
  for await (const id of ctx.access.ids()) {
    const state = await stateOf(id.slice(0, id.indexOf('/')));
    if (state === 'unreadable') continue;
    const record = state === 'live' ? await readForScan(ctx.access, id) : null;
    if (record === 'unreadable') result.unreadable++;
    // An access record is written only after its grant, so an absent grant means a dead token.
    else if (record === null && (await ctx.access.delete(id))) result.accessTokens++;
  }
  for await (const id of ctx.sessions.ids()) {
    const record = await readForScan(ctx.sessions, id);
    if (record === 'unreadable') result.unreadable++;
    else if (record === null && (await ctx.sessions.delete(id))) result.sessions++;
  }
  for (const index of [ctx.userGrants, ctx.clientGrants]) {
    for await (const id of index.ids()) {
      const state = await stateOf(id.slice(id.lastIndexOf('/') + 1));
      if (state === 'live' || state === 'unreadable') continue;
      if (state === 'absent') {
        // The grant may be about to be created (index entries are written first): only stale entries go.
        const entry = await readForScan(index, id);
        if (entry === 'unreadable') {
          result.unreadable++;
          continue;
        }
        if (entry !== null && (entry.data.createdAt === undefined || entry.data.createdAt + INDEX_SETTLE_MS > now)) continue;
      }
      if (await index.delete(id)) result.indexEntries++;
    }
  }
  result.auditEvents = await ctx.audit.sweep();
  for (const adapter of adapters(ctx)) result.adapterExpired += (await adapter.deleteExpired?.()) ?? 0;
  await ctx.audit.record({ type: 'cleanup', details: { ...result } });
  return result;
}

/**
 * The repair path of `deleteClient`'s cascade: a live grant whose client no
 * longer exists (its `client-grant` index entry was lost) is revoked here.
 * Its tokens already stopped validating (validation checks the client); this
 * makes the grant itself say so. Only grants older than `INDEX_SETTLE_MS`,
 * so a client read that is not yet visible (KV) cannot revoke a new grant.
 */
async function revokeOrphan(
  ctx: StoreContext,
  grantId: string,
  now: number,
  existsClient: (clientId: string) => Promise<boolean>,
): Promise<boolean> {
  const found = await readForScan(ctx.grants, grantId);
  if (found === null || found === 'unreadable' || found.data.createdAt + INDEX_SETTLE_MS > now) return false;
  if (await existsClient(found.data.clientId)) return false;
  return revokeGrantById(ctx, grantId, 'client_deleted', found.data.clientId);
}

export async function stats(ctx: StoreContext): Promise<StatsResult> {
  const now = ctx.now();
  let clients = 0;
  let unreadable = 0;
  for await (const id of ctx.clients.ids()) {
    const record = await readForScan(ctx.clients, id);
    if (record === 'unreadable') unreadable++;
    else if (record !== null) clients++;
  }
  const grants = new Map<string, GrantRecord | null>();
  let activeGrants = 0;
  let activeRefreshTokens = 0;
  for await (const grantId of ctx.grants.ids()) {
    const found = await readForScan(ctx.grants, grantId);
    if (found === 'unreadable') unreadable++;
    const grant = found === 'unreadable' ? null : (found?.data ?? null);
    grants.set(grantId, grant);
    if (grant?.status !== 'active') continue;
    activeGrants++;
    const family = grant.refresh;
    if (family?.current && family.lastUsedAt + ctx.policy.refreshIdleMs > now && grant.chainExpiresAt! > now) activeRefreshTokens++;
  }
  let activeAccessTokens = 0;
  for await (const id of ctx.access.ids()) {
    const grant = grants.get(id.slice(0, id.indexOf('/')));
    if (grant?.status !== 'active') continue;
    const record = await readForScan(ctx.access, id);
    if (record === 'unreadable') unreadable++;
    else if (record !== null) activeAccessTokens++;
  }
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
