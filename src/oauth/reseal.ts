import { IntegrityError } from '../errors.js';
import type { RecordCollection } from '../records/record-store.js';
import { readForScan, type StoreContext } from './context.js';
import type { GrantRecord } from './record-kinds.js';
import { LOOKUP } from './tokens.js';
import type { ResealResult } from './types.js';

/**
 * The re-encryption sweep (README "Key rotation"): every record of every
 * registered kind sealed under a key other than the keyring's current one is
 * re-sealed under it, with compare-and-set on the version read.
 *
 * Lookup ids are another matter: they are HMACs of secrets (tokens, codes,
 * client secrets, session handles) under the key current when the secret was
 * issued, and cannot be recomputed without the secret. So:
 * - `user-grant/<lookup(userId)>/~<grantId>` entries are moved to the current
 *   key's lookup id here (the grant record holds the user id);
 * - a client secret moves on its next successful authentication (atomic
 *   adapters; on KV rotate it with `updateClient({ rotateSecret: true })`);
 * - refresh tokens move on their next rotation; access tokens, codes and
 *   sessions simply expire;
 * - events' `userLookupId` stays under the old key (an event does not hold
 *   the user id): once that key is dropped, `queryAudit({ userId })` finds
 *   those events only through the user's grants.
 * Drop a key only after the sweep and after the longest-lived secret issued
 * under it is gone (refresh chain: `grantLifetimeSeconds`).
 */
export async function resealAll(ctx: StoreContext): Promise<ResealResult> {
  const result: ResealResult = { resealed: 0, failed: 0 };
  for (const { collection } of ctx.kinds.all()) {
    const isUserIndex = collection === ctx.records.userGrant;
    for await (const id of collection.ids()) {
      if (isUserIndex && (await moveUserGrantEntry(ctx, id))) result.resealed++;
      else await resealOne(collection, id, result);
    }
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
  const split = id.lastIndexOf('/~');
  const [lookup, grantId] = [id.slice(0, split), id.slice(split + 2)];
  const [entry, grant] = await Promise.all([readForScan(ctx.records.userGrant, id), readForScan<GrantRecord>(ctx.records.grant, grantId)]);
  if (entry === null || entry === 'unreadable' || grant === null || grant === 'unreadable') return false;
  const lookups = await ctx.keyring.lookupIds(LOOKUP.user, grant.data.userId);
  // Only an entry that really is this user's, under an older key.
  if (lookups[0] === lookup || !lookups.includes(lookup)) return false;
  // Both keys are in the grant's partition: one atomic move.
  const moved = await ctx.singleUseAdapter.batch!([
    await ctx.records.userGrant.preparePut(`${lookups[0]}/~${grantId}`, entry.data, entry.expiresAt === undefined ? {} : { expiresAt: entry.expiresAt }),
    ctx.records.userGrant.prepareDelete(id, { ifVersion: entry.version }),
  ]);
  return moved.ok;
}
