import type { StorageAdapter } from '../adapter.js';
import { randomId } from '../crypto/random.js';
import { RecordStore } from '../records/record-store.js';
import { VaultError } from '../errors.js';
import type { GrantRecord, StoreContext } from './context.js';
import type { CleanupResult, HealthCheckResult, StatsResult } from './types.js';

/** Lifecycle: cleanup, stats and health. These scan; run them from a cron, not per request. */

async function eachId(
  collection: { listIds: (options: { prefix?: string; cursor?: string; limit?: number }) => Promise<{ ids: string[]; cursor?: string }> },
  visit: (id: string) => Promise<void>,
): Promise<void> {
  let cursor: string | undefined;
  do {
    const page = await collection.listIds({ limit: 1000, ...(cursor !== undefined && { cursor }) });
    for (const id of page.ids) await visit(id);
    cursor = page.cursor;
  } while (cursor !== undefined);
}

function adapters(ctx: StoreContext): StorageAdapter[] {
  return ctx.singleUseAdapter === ctx.adapter ? [ctx.adapter] : [ctx.adapter, ctx.singleUseAdapter];
}

/**
 * Removes what can no longer be used: expired or revoked grants and their
 * access tokens, expired sessions, index entries of vanished grants, audit
 * events past retention; then lets each adapter drop physically expired
 * entries. Logical expiry never depended on any of this.
 */
export async function cleanupExpired(ctx: StoreContext): Promise<CleanupResult> {
  const result: CleanupResult = { grants: 0, accessTokens: 0, sessions: 0, indexEntries: 0, auditEvents: 0, adapterExpired: 0 };
  // Status per grant id seen: 'live' keeps its tokens and index entries.
  const live = new Map<string, boolean>();
  const isLive = async (grantId: string): Promise<boolean> => {
    let known = live.get(grantId);
    if (known === undefined) {
      const found = await ctx.grants.get(grantId);
      known = found !== null && found.data.status !== 'revoked';
      live.set(grantId, known);
    }
    return known;
  };
  await eachId(ctx.grants, async (grantId) => {
    if (!(await isLive(grantId)) && (await ctx.grants.delete(grantId))) result.grants++;
  });
  await eachId(ctx.access, async (id) => {
    const grantId = id.slice(0, id.indexOf('/'));
    const record = await ctx.access.get(id);
    if ((record === null || !(await isLive(grantId))) && (await ctx.access.delete(id))) result.accessTokens++;
  });
  await eachId(ctx.sessions, async (id) => {
    if ((await ctx.sessions.get(id)) === null && (await ctx.sessions.delete(id))) result.sessions++;
  });
  for (const index of [ctx.userGrants, ctx.clientGrants]) {
    await eachId(index, async (id) => {
      const grantId = id.slice(id.lastIndexOf('/') + 1);
      if (!(await isLive(grantId)) && (await index.delete(id))) result.indexEntries++;
    });
  }
  result.auditEvents = await ctx.audit.sweep();
  for (const adapter of adapters(ctx)) result.adapterExpired += (await adapter.deleteExpired?.()) ?? 0;
  await ctx.audit.record({ type: 'cleanup', details: { ...result } });
  return result;
}

export async function stats(ctx: StoreContext): Promise<StatsResult> {
  const now = ctx.now();
  let clients = 0;
  await eachId(ctx.clients, async () => void clients++);
  const grants = new Map<string, GrantRecord | null>();
  let activeGrants = 0;
  let activeRefreshTokens = 0;
  await eachId(ctx.grants, async (grantId) => {
    const grant = (await ctx.grants.get(grantId))?.data ?? null;
    grants.set(grantId, grant);
    if (grant?.status !== 'active') return;
    activeGrants++;
    const family = grant.refresh;
    if (family?.current && family.lastUsedAt + ctx.policy.refreshIdleMs > now && grant.chainExpiresAt! > now) activeRefreshTokens++;
  });
  let activeAccessTokens = 0;
  await eachId(ctx.access, async (id) => {
    const grant = grants.get(id.slice(0, id.indexOf('/')));
    if (grant?.status === 'active' && (await ctx.access.get(id)) !== null) activeAccessTokens++;
  });
  return { clients, activeGrants, activeAccessTokens, activeRefreshTokens, auditEvents: await ctx.audit.count() };
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
      checks.push({ name, ok: false, error: error instanceof VaultError ? error.code : error instanceof Error ? error.name : 'unknown' });
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
