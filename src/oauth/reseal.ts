import { IntegrityError } from '../errors.js';
import type { RecordCollection } from '../records/record-store.js';
import { readForScan, type StoreContext } from './context.js';
import { LOOKUP } from './tokens.js';
import type { ResealResult } from './types.js';

/**
 * The re-encryption sweep (README "Key rotation"): every record sealed under a key
 * other than the keyring's current one is re-sealed under it, with
 * compare-and-set on the version read, on both adapters.
 *
 * Lookup ids are another matter: they are HMACs of secrets (tokens, codes,
 * client secrets, session ids) under the key current when the secret was
 * issued, and cannot be recomputed without the secret. So:
 * - `user-grant/<lookup(userId)>/<grantId>` entries are moved to the current
 *   key's lookup id here (the grant record holds the user id);
 * - a client secret moves on its next successful authentication (atomic
 *   adapters; on KV rotate it with `updateClient({ rotateSecret: true })`);
 * - refresh tokens move on their next rotation, access tokens, codes and
 *   sessions simply expire;
 * - `audit-user/<lookup(userId)>/...` entries and events' `userLookupId` stay
 *   under the old key (an event does not hold the user id): once that key is
 *   dropped, `queryAudit({ userId })` no longer finds those events; they stay
 *   readable by type, client and time.
 * Drop a key only after the sweep and after the longest-lived secret issued
 * under it is gone (refresh chain: `grantLifetimeSeconds`).
 */
export async function resealAll(ctx: StoreContext): Promise<ResealResult> {
  const result: ResealResult = { resealed: 0, failed: 0 };
  const collections: RecordCollection<unknown>[] = [
    ctx.clients, ctx.sessions, ctx.grants, ctx.access, ctx.clientGrants, ...ctx.audit.collections(),
  ];
  for (const collection of collections) {
    for await (const id of collection.ids()) await resealOne(collection, id, result);
  }
  for await (const id of ctx.userGrants.ids()) {
    if (!(await moveUserGrantEntry(ctx, id))) await resealOne(ctx.userGrants, id, result);
    else result.resealed++;
  }
  return result;
}

async function resealOne(collection: RecordCollection<unknown>, id: string, result: ResealResult): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    let outcome;
    try {
      outcome = await collection.reseal(id);
    } catch (error) {
      if (!(error instanceof IntegrityError)) throw error;
      result.failed++;
      return;
    }
    if (outcome === 'resealed') result.resealed++;
    if (outcome !== 'conflict') return;
  }
  result.failed++;
}

/** Moves a user-grant entry indexed under an older key's lookup id to the current one; false if it is not one. */
async function moveUserGrantEntry(ctx: StoreContext, id: string): Promise<boolean> {
  const slash = id.indexOf('/');
  const [lookup, grantId] = [id.slice(0, slash), id.slice(slash + 1)];
  const [entry, grant] = await Promise.all([readForScan(ctx.userGrants, id), readForScan(ctx.grants, grantId)]);
  if (entry === null || entry === 'unreadable' || grant === null || grant === 'unreadable') return false;
  const lookups = await ctx.keyring.lookupIds(LOOKUP.user, grant.data.userId);
  // Only an entry that really is this user's, under an older key.
  if (lookups[0] === lookup || !lookups.includes(lookup)) return false;
  await ctx.userGrants.put(`${lookups[0]}/${grantId}`, entry.data, entry.expiresAt === undefined ? {} : { expiresAt: entry.expiresAt });
  await ctx.userGrants.delete(id);
  return true;
}
