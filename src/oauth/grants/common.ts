import { InvalidGrantError } from '../../errors.js';
import type { StoreContext } from '../context.js';
import type { AccessRecord, GrantRecord, LiveRecord } from '../record-kinds.js';
import { formatToken, LOOKUP } from '../tokens.js';
import type { Transition } from '../transition.js';
import type { GrantType, TokenResult } from '../types.js';

/**
 * What every grant shares: minting tokens into a transition, writing a new
 * grant's records, and the token result. Tokens are stored only as lookup
 * ids, with their grant, in the grant's partition.
 */

/** The one message for every refused code or refresh token: no oracle. */
export function invalidGrant(): never {
  throw new InvalidGrantError('the grant is invalid, expired, revoked or already used');
}

/** Adds a new access token to `tx`; returns the token. */
export async function addAccessToken(
  ctx: StoreContext,
  tx: Transition,
  grantId: string,
  access: AccessRecord & { expiresAt: number },
  secret?: string,
): Promise<string> {
  const token = formatToken('access', grantId, secret);
  const { expiresAt, ...record } = access;
  tx.put(ctx.records.access, `${grantId}/${await ctx.keyring.lookupId(LOOKUP.access, token)}`, record, { expiresAt });
  return token;
}

/**
 * Adds a new refresh token to `tx` (live until unused for the idle time);
 * returns the token and its lookup id. Bound to a DPoP key (`jkt`), it says
 * so in its tag and its key is recorded beside it, so its rotation can
 * check the key in the same atomic call.
 */
export async function addRefreshToken(ctx: StoreContext, tx: Transition, grantId: string, now: number, secret?: string, jkt?: string): Promise<{ token: string; lookup: string }> {
  const token = formatToken(jkt === undefined ? 'refresh' : 'boundRefresh', grantId, secret);
  const expiresAt = now + ctx.policy.refreshIdleMs;
  const [lookup, keyLookup] = await Promise.all([ctx.keyring.lookupId(LOOKUP.refresh, token), jkt === undefined ? undefined : refreshKeyLookup(ctx, token, jkt)]);
  tx.put(ctx.records.refresh, `${grantId}/${lookup}`, { issuedAt: now }, { expiresAt });
  if (keyLookup !== undefined) tx.put(ctx.records.refreshKey, `${grantId}/${keyLookup}`, {}, { expiresAt });
  return { token, lookup };
}

/** The lookup id that binds a refresh token to a DPoP key. */
export function refreshKeyLookup(ctx: StoreContext, token: string, jkt: string): Promise<string> {
  return ctx.keyring.lookupId(LOOKUP.refreshKey, `${token}\u0000${jkt}`);
}

/** Records a revocation where a JWT access token validator looks (it may hold tokens of this grant until they expire). */
export function addRevocation(ctx: StoreContext, tx: Transition, grantId: string, now: number): void {
  tx.put(ctx.records.revocation, grantId, { revokedAt: now }, { expiresAt: now + ctx.policy.accessTokenTtlMs });
}

/**
 * Adds the records of a new grant to `tx`: the grant (created only if its id
 * is new), its client and user index entries, and, when `live` is given, its
 * activation. All in the grant's partition, so the grant is
 * findable exactly when it exists.
 */
export async function addNewGrant(ctx: StoreContext, tx: Transition, grantId: string, grant: GrantRecord, live?: LiveRecord): Promise<void> {
  tx.put(ctx.records.grant, grantId, grant, { expiresAt: grant.expiresAt, condition: { ifAbsent: true } });
  tx.put(ctx.records.clientGrant, `${grant.clientId}/~${grantId}`, {}, { expiresAt: grant.expiresAt });
  if (grant.origin.type !== 'client_credentials') {
    // Outlives the grant by the audit retention: audit by user finds the grant's events through it.
    const userLookup = await ctx.keyring.lookupId(LOOKUP.user, grant.userId);
    tx.put(ctx.records.userGrant, `${userLookup}/~${grantId}`, {}, { expiresAt: grant.expiresAt + ctx.policy.auditRetentionMs });
  }
  if (live !== undefined) tx.put(ctx.records.live, grantId, live, { expiresAt: grant.expiresAt, condition: { ifAbsent: true } });
}

/** The public name of a grant's type, from its origin. */
export function grantTypeOf(grant: GrantRecord): GrantType {
  return grant.origin.type;
}

export function tokenResult(
  grantId: string,
  now: number,
  access: { token: string; expiresAt: number; bound?: boolean },
  scope: string[],
  resources: string[] | undefined,
  refresh?: { token: string; expiresAt: number },
): TokenResult {
  return {
    accessToken: access.token,
    tokenType: access.bound ? 'DPoP' : 'Bearer',
    expiresIn: Math.max(0, Math.ceil((access.expiresAt - now) / 1000)),
    ...(refresh && { refreshToken: refresh.token, refreshTokenExpiresIn: Math.max(0, Math.ceil((refresh.expiresAt - now) / 1000)) }),
    scope,
    ...(resources !== undefined && resources.length > 0 && { resources }),
    grantId,
  };
}

/** The subset check of a narrowing request (scope or resources): every requested item must be granted. */
export function isSubset(requested: readonly string[], granted: readonly string[]): boolean {
  return requested.every((item) => granted.includes(item));
}
