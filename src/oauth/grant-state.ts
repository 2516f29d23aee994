import { ConflictError, InvalidGrantError, UnauthorizedClientError } from '../errors.js';
import type { AccessRecord, GrantRecord, StoreContext } from './context.js';
import type { ClientInfo, TokenResult } from './types.js';

/**
 * The grant record's transitions, shared by code exchange, refresh and
 * revocation: every exactly-once step is one compare-and-set on
 * `grant/<grantId>` (see context.ts for the layout).
 */

/** Rotated refresh tokens remembered per grant for reuse detection. */
export const MAX_PREVIOUS = 16;
/** Compare-and-set retries before a call gives up with a retriable ConflictError. */
export const MAX_ATTEMPTS = 32;

/** The one message for every refused code or refresh token: no oracle. */
export function invalidGrant(): never {
  throw new InvalidGrantError('the grant is invalid, expired, revoked or already used');
}

/** When the grant record may physically go: end of the chain, or earlier when idle and no token lives. */
export function grantExpiry(ctx: StoreContext, grant: GrantRecord, accessExpiresAt: number): number {
  const refreshEnd = grant.refresh ? grant.refresh.lastUsedAt + ctx.policy.refreshIdleMs : 0;
  return Math.min(grant.chainExpiresAt!, Math.max(refreshEnd, accessExpiresAt));
}

/**
 * Writes a transition: the grant's compare-and-set and the new access token.
 * With an atomic batch both go in one batch, the condition inside it.
 * Without, the compare-and-set goes first and decides; the access token is
 * written only after it, so a crash in between leaves a consumed code or a
 * rotated family and no usable token (fail closed: a retry is a replay).
 */
export async function commit(
  ctx: StoreContext,
  grantId: string,
  grant: GrantRecord,
  version: string,
  expiresAt: number,
  access: { id: string; data: AccessRecord },
): Promise<boolean> {
  const adapter = ctx.singleUseAdapter;
  if (adapter.capabilities.atomicBatch && adapter.batch) {
    const operations = await Promise.all([
      ctx.grants.preparePut(grantId, grant, { expiresAt, condition: { ifVersion: version } }),
      ctx.access.preparePut(access.id, access.data, { expiresAt: access.data.expiresAt }),
    ]);
    return adapter.batch(operations);
  }
  if ((await ctx.grants.compareAndSet(grantId, grant, { ifVersion: version }, { expiresAt })) === null) return false;
  await ctx.access.put(access.id, access.data, { expiresAt: access.data.expiresAt });
  return true;
}

/**
 * Revokes a grant (and so every token of it). Returns whether this call did
 * it. With `onlyOfClient`, a grant of another client is left alone: indexes
 * are hints (a stale or forged `client-grant/<B>/<grantId>` entry must not
 * let deleting client B revoke client A's grant); the record decides.
 */
export async function revokeGrantById(ctx: StoreContext, grantId: string, reason: string, onlyOfClient?: string): Promise<boolean> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS * 4; attempt++) {
    const found = await ctx.grants.get(grantId);
    if (!found || found.data.status === 'revoked') return false;
    if (onlyOfClient !== undefined && found.data.clientId !== onlyOfClient) return false;
    const next: GrantRecord = { ...found.data, status: 'revoked', revokedAt: ctx.now(), revokeReason: reason };
    const options = found.expiresAt === undefined ? {} : { expiresAt: found.expiresAt };
    if ((await ctx.grants.compareAndSet(grantId, next, { ifVersion: found.version }, options)) !== null) {
      // Audit what actually died: an exchanged grant's access tokens, and its refresh family if it had one.
      const subject = { clientId: found.data.clientId, userId: found.data.userId, grantId, details: { reason } };
      if (found.data.status === 'active') await ctx.audit.record({ type: 'access_token_revoked', ...subject });
      if (found.data.refresh) await ctx.audit.record({ type: 'refresh_token_revoked', ...subject });
      return true;
    }
  }
  throw new ConflictError('grant is changing concurrently; retry');
}

/** Revokes for a detected replay or reuse and records the security violation. */
export async function revokeForViolation(ctx: StoreContext, grantId: string, grant: GrantRecord, reason: string): Promise<never> {
  // Only the call that revokes writes the event: replaying cannot flood the trail.
  if (await revokeGrantById(ctx, grantId, reason)) {
    await ctx.audit.record({ type: 'security_violation', clientId: grant.clientId, userId: grant.userId, grantId, details: { reason } });
  }
  invalidGrant();
}

export function requireGrantType(client: ClientInfo, type: 'authorization_code' | 'refresh_token'): void {
  if (!client.grantTypes.includes(type)) throw new UnauthorizedClientError(`client may not use the ${type} grant`);
}

export function tokenResult(
  grantId: string,
  now: number,
  accessToken: string,
  accessExpiresAt: number,
  scope: string[],
  refresh?: { token: string; expiresAt: number },
): TokenResult {
  return {
    accessToken,
    tokenType: 'Bearer',
    expiresIn: Math.max(0, Math.ceil((accessExpiresAt - now) / 1000)),
    ...(refresh && { refreshToken: refresh.token, refreshTokenExpiresIn: Math.max(0, Math.ceil((refresh.expiresAt - now) / 1000)) }),
    scope,
    grantId,
  };
}

