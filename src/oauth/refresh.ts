import { randomToken } from '../crypto/random.js';
import { ConflictError, InvalidScopeError } from '../errors.js';
import { authenticateClient } from './clients.js';
import type { GrantRecord, RefreshFamily, StoreContext } from './context.js';
import { withLock } from './context.js';
import { commit, grantExpiry, invalidGrant, MAX_ATTEMPTS, MAX_PREVIOUS, requireGrantType, revokeForViolation, tokenResult } from './grant-state.js';
import { onlyKeys, optionalScope, params, requireToken } from './input.js';
import { deriveSuccessors, formatToken, LOOKUP, matchesAny, parseToken } from './tokens.js';
import type { ClientInfo, RefreshAccessTokenParams, TokenResult } from './types.js';

/**
 * Refresh-token rotation with reuse detection (RFC 9700 §4.14.2). The
 * family lives in the grant record: `current` is the one live token,
 * `previous` the rotated ones; presenting one of those is reuse and revokes
 * the grant, except a retry within the optional grace window.
 */

export async function refreshAccessToken(ctx: StoreContext, input: RefreshAccessTokenParams): Promise<TokenResult> {
  const p = params('params', input);
  onlyKeys('params', p, ['refreshToken', 'clientId', 'clientSecret', 'scope']);
  const token = requireToken('refreshToken', p.refreshToken);
  const scope = optionalScope('scope', p.scope);
  const client = await authenticateClient(ctx, p.clientId, p.clientSecret);
  requireGrantType(client, 'refresh_token');
  const grantId = parseToken('refresh', token);
  if (grantId === null) invalidGrant();
  const ids = await ctx.keyring.lookupIds(LOOKUP.refresh, token);
  const grace = ctx.policy.grace;

  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const found = await ctx.grants.get(grantId);
    if (!found) invalidGrant();
    const grant = found.data;
    const family = grant.refresh;
    const now = ctx.now();
    if (grant.status !== 'active' || !family || grant.clientId !== client.clientId) invalidGrant();

    if (matchesAny(family.current, ids)) {
      if (family.lastUsedAt + ctx.policy.refreshIdleMs <= now || grant.chainExpiresAt! <= now) invalidGrant();
      if (scope && scope.some((item) => !grant.scope.includes(item))) throw new InvalidScopeError('requested scope exceeds the grant');
      const rotate = ctx.policy.rotateRefreshTokens || client.type === 'public';
      // With a grace window the successor is derived from this token, so a retry can be answered with it.
      const secrets = grace && rotate ? await deriveSuccessors(ctx.keyring, token) : { refresh: randomToken(), access: randomToken() };
      const refreshToken = rotate ? formatToken('refresh', grantId, secrets.refresh) : token;
      const accessToken = formatToken('access', grantId, secrets.access);
      const [accessLookup, refreshLookup] = await Promise.all([
        ctx.keyring.lookupId(LOOKUP.access, accessToken),
        ctx.keyring.lookupId(LOOKUP.refresh, refreshToken),
      ]);
      const nextFamily: RefreshFamily = rotate
        ? {
            current: refreshLookup,
            previous: [family.current!, ...family.previous].slice(0, MAX_PREVIOUS),
            rotatedAt: now,
            lastUsedAt: now,
            graceUses: 0,
            generation: family.generation + 1,
            ...(scope !== undefined && { scope }),
          }
        : { ...family, lastUsedAt: now };
      const next: GrantRecord = { ...grant, refresh: nextFamily };
      const accessExpiresAt = Math.min(now + ctx.policy.accessTokenTtlMs, grant.chainExpiresAt!);
      const grantedScope = scope ?? grant.scope;
      const committed = await commit(ctx, grantId, next, found.version, grantExpiry(ctx, next, accessExpiresAt), {
        id: `${grantId}/${accessLookup}`,
        data: { clientId: client.clientId, scope: grantedScope, issuedAt: now, expiresAt: accessExpiresAt },
      });
      if (!committed) continue; // re-read: the token was rotated (grace or reuse) or the grant revoked

      const subject = { clientId: client.clientId, userId: grant.userId, grantId };
      // Concurrent writes, one order: each event's id (time and sequence) is fixed when it is recorded.
      await Promise.all([
        ctx.audit.record({ type: 'refresh_token_used', ...subject, details: { generation: family.generation } }),
        ctx.audit.record({ type: 'access_token_issued', ...subject, details: { expiresAt: accessExpiresAt } }),
        rotate && ctx.audit.record({ type: 'refresh_token_issued', ...subject, details: { generation: nextFamily.generation } }),
      ]);
      return tokenResult(grantId, now, accessToken, accessExpiresAt, grantedScope, {
        token: refreshToken,
        expiresAt: Math.min(grant.chainExpiresAt!, now + ctx.policy.refreshIdleMs),
      });
    }

    if (family.previous.some((previous) => matchesAny(previous, ids))) {
      if (grace && matchesAny(family.previous[0], ids) && now < family.rotatedAt + grace.windowMs) {
        // Grace bookkeeping is a counter on the grant record; serialize it per
        // grant inside this isolate so N retries cost N compare-and-sets, not
        // N²/2 (other isolates still meet at the compare-and-set).
        const answer = await withLock(ctx, `grace/${grantId}`, () => answerWithinGrace(ctx, grantId, token, ids, client, scope));
        if (answer !== 'reuse') return answer;
        const latest = await ctx.grants.get(grantId);
        if (!latest) invalidGrant();
        return revokeForViolation(ctx, grantId, latest.data, 'refresh_token_reuse');
      }
      // Reuse of a rotated token: revoke the whole family (RFC 9700 §4.14.2).
      return revokeForViolation(ctx, grantId, grant, 'refresh_token_reuse');
    }
    // Unknown token (never of this family, or rotated out of memory): refuse, change nothing.
    invalidGrant();
  }
  throw new ConflictError('refresh token is contended; retry');
}

/**
 * A retried refresh of the token just rotated, inside the grace window and
 * under its use limit: count the use and answer with the same successor.
 * The window is non-sliding (measured from the rotation) and bounded.
 */
async function answerWithinGrace(
  ctx: StoreContext,
  grantId: string,
  token: string,
  ids: string[],
  client: ClientInfo,
  scope: string[] | undefined,
): Promise<TokenResult | 'reuse'> {
  const grace = ctx.policy.grace!;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const found = await ctx.grants.get(grantId);
    if (!found || found.data.status !== 'active' || !found.data.refresh) invalidGrant();
    const grant = found.data;
    const family = found.data.refresh;
    const now = ctx.now();
    if (!matchesAny(family.previous[0], ids)) return 'reuse';
    if (now >= family.rotatedAt + grace.windowMs || family.graceUses >= grace.maxUses) return 'reuse';
    // The answer is the rotation's access token, stored with the rotation's scope: a retry asking for
    // another scope would be told a scope the token does not have.
    if (!sameScope(scope ?? grant.scope, family.scope ?? grant.scope)) {
      throw new InvalidScopeError('a retried refresh must request the scope of the original request');
    }
    const secrets = await deriveSuccessors(ctx.keyring, token);
    const refreshToken = formatToken('refresh', grantId, secrets.refresh);
    // The successor must be the one the rotation stored; otherwise (grace enabled after the rotation) it is reuse.
    if (!matchesAny(family.current, await ctx.keyring.lookupIds(LOOKUP.refresh, refreshToken))) return 'reuse';
    const next: GrantRecord = { ...grant, refresh: { ...family, graceUses: family.graceUses + 1 } };
    const options = found.expiresAt === undefined ? {} : { expiresAt: found.expiresAt };
    if ((await ctx.grants.compareAndSet(grantId, next, { ifVersion: found.version }, options)) === null) continue;
    const accessExpiresAt = Math.min(family.rotatedAt + ctx.policy.accessTokenTtlMs, grant.chainExpiresAt!);
    // The first and the last grace answer are audited (with the count): a
    // burst of retries does not multiply writes to the trail.
    const uses = family.graceUses + 1;
    if (uses === 1 || uses === grace.maxUses) {
      await ctx.audit.record({
        type: 'refresh_token_used',
        clientId: client.clientId,
        userId: grant.userId,
        grantId,
        details: { generation: family.generation - 1, grace: true, graceUses: uses },
      });
    }
    return tokenResult(grantId, now, formatToken('access', grantId, secrets.access), accessExpiresAt, family.scope ?? grant.scope, {
      token: refreshToken,
      expiresAt: Math.min(grant.chainExpiresAt!, family.lastUsedAt + ctx.policy.refreshIdleMs),
    });
  }
  throw new ConflictError('refresh token is contended; retry');
}

function sameScope(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item) => b.includes(item));
}
