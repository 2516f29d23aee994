import type { StoredRecord } from '../records/record-store.js';
import { ConflictError } from '../errors.js';
import type { StoreContext } from './context.js';
import { addRevocation, invalidGrant } from './grants/common.js';
import type { GrantRecord, LiveRecord } from './record-kinds.js';
import { Transition } from './transition.js';
import type { AuditEventType } from './types.js';

/**
 * A grant's state and its revocation. State: `grant/<id>` says what it is
 * (absent once it ends), `grant-live/<id>` that it became active,
 * `grant-revoked/<id>` that it was revoked. Every transition checks the last.
 */

export interface GrantState {
  grant: StoredRecord<GrantRecord> | null;
  live: LiveRecord | null;
  revoked: boolean;
  /** Its code may still be redeemed (`code-ttl` present). */
  redeemable: boolean;
}

/** Compare-and-set retries before a call gives up with a retriable ConflictError. */
export const MAX_ATTEMPTS = 32;

/** A grant's record, activation and revocation, read in one call. */
export async function readGrantState(ctx: StoreContext, grantId: string): Promise<GrantState> {
  const tx = new Transition(ctx, grantId);
  const grant = tx.get(ctx.records.grant, grantId);
  const live = tx.get(ctx.records.live, grantId);
  const revoked = tx.get(ctx.records.revoked, grantId);
  const redeemable = tx.get(ctx.records.codeTtl, grantId);
  const outcome = await tx.commit();
  const [grantRecord, liveRecord] = await Promise.all([outcome.read<GrantRecord>(grant), outcome.read<LiveRecord>(live)]);
  return { grant: grantRecord, live: liveRecord?.data ?? null, revoked: outcome.present(revoked), redeemable: outcome.present(redeemable) };
}

/** What dies with a grant, for its audit record. */
function revokedTypes(live: LiveRecord | null): AuditEventType[] {
  if (live === null) return [];
  return live.refresh ? ['access_token_revoked', 'refresh_token_revoked'] : ['access_token_revoked'];
}

/**
 * Revokes a grant (and so every token of it). Returns whether this call did
 * it. With `onlyOfClient`, a grant of another client is left alone: indexes
 * are hints (a stale or forged `client-grant/<B>/...` entry must not let
 * deleting client B revoke client A's grant); the grant record decides.
 * Two calls: the state (to audit exactly what died), then the revocation,
 * conditioned on that state.
 */
export async function revokeGrantById(ctx: StoreContext, grantId: string, reason: string, onlyOfClient?: string): Promise<boolean> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const state = await readGrantState(ctx, grantId);
    if (!state.grant || state.revoked) return false;
    const { clientId, userId } = state.grant.data;
    if (onlyOfClient !== undefined && clientId !== onlyOfClient) return false;
    const tx = new Transition(ctx, grantId);
    const now = ctx.now();
    tx.put(ctx.records.revoked, grantId, { revokedAt: now, reason }, { expiresAt: state.grant.data.expiresAt, condition: { ifAbsent: true } });
    const revokedAt = 0;
    addRevocation(ctx, tx, grantId, now);
    tx.check(ctx.records.grant, grantId, { ifVersion: state.grant.version });
    tx.check(ctx.records.live, grantId, state.live ? { ifPresent: true } : { ifAbsent: true });
    const types = revokedTypes(state.live);
    if (types.length > 0) tx.audit({ types, clientId, userId, grantId, details: { reason } });
    const outcome = await tx.commit();
    if (outcome.ok) return true;
    if (outcome.failedAt(revokedAt)) return false; // revoked meanwhile by someone else
  }
  throw new ConflictError('grant is changing concurrently; retry');
}

/**
 * Revokes a live grant for a detected replay or reuse and records the
 * security violation, in one call; then refuses the request. Only the call
 * that revokes writes the events: replaying cannot flood the trail.
 */
export async function revokeForViolation(
  ctx: StoreContext,
  grantId: string,
  subject: { clientId: string; userId?: string; refresh: boolean; expiresAt: number },
  reason: string,
): Promise<never> {
  const tx = new Transition(ctx, grantId);
  const now = ctx.now();
  tx.put(ctx.records.revoked, grantId, { revokedAt: now, reason }, { expiresAt: subject.expiresAt, condition: { ifAbsent: true } });
  addRevocation(ctx, tx, grantId, now);
  tx.audit({
    types: [...revokedTypes({ activatedAt: 0, refresh: subject.refresh }), 'security_violation'],
    clientId: subject.clientId,
    ...(subject.userId !== undefined && { userId: subject.userId }),
    grantId,
    details: { reason },
  });
  await tx.commit();
  invalidGrant();
}
