import { randomToken } from '../../crypto/random.js';
import { ConflictError, InvalidScopeError, InvalidTargetError } from '../../errors.js';
import { withLock, type StoreContext } from '../context.js';
import { readGrantState, revokeForViolation } from '../grant-state.js';
import { optionalJkt, optionalResources, optionalScope, requireToken } from '../input.js';
import type { GrantRecord, RotatedRecord } from '../record-kinds.js';
import { deriveSuccessors, formatToken, LOOKUP, parseRefreshToken } from '../tokens.js';
import { Transition } from '../transition.js';
import type { ClientInfo, TokenResult } from '../types.js';
import { addAccessToken, invalidGrant, isSubset, refreshKeyLookup, tokenResult } from './common.js';
import type { GrantHandler } from './handler.js';
import { toolsContext } from './tools.js';

/**
 * Refresh-token rotation with reuse detection (RFC 9700 §4.14.2). The live
 * token is `refresh/<grantId>/<lookup>`; rotating it deletes it (only if
 * present: exactly one rotation wins) and writes its successor and a
 * `rotated/...` marker, all in one atomic call. Presenting a rotated token
 * is reuse and revokes the grant, except a retry within the optional grace
 * window, answered with the same successor.
 */

interface RefreshParams {
  refreshToken: string;
  scope: string[] | undefined;
  resources: string[] | undefined;
  dpopJkt: string | undefined;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item) => b.includes(item));
}

async function refresh(ctx: StoreContext, client: ClientInfo, p: RefreshParams): Promise<TokenResult> {
  const parsed = parseRefreshToken(p.refreshToken);
  if (parsed === null) invalidGrant();
  const { grantId, bound } = parsed;
  // A bound refresh token is usable only with its key (RFC 9449 §5): checked in the rotation's own batch.
  if (bound && p.dpopJkt === undefined) invalidGrant();
  const keyLookup = bound ? await refreshKeyLookup(ctx, p.refreshToken, p.dpopJkt!) : undefined;
  if (p.scope !== undefined || p.resources !== undefined) {
    // Narrowing needs the grant's scope and resources, which only the sealed grant knows: read it first.
    const state = await readGrantState(ctx, grantId);
    if (!state.grant || state.grant.data.clientId !== client.clientId) invalidGrant();
    if (p.scope !== undefined && !isSubset(p.scope, state.grant.data.scope)) throw new InvalidScopeError('requested scope exceeds the grant');
    if (p.resources !== undefined && !isSubset(p.resources, state.grant.data.resources ?? [])) {
      throw new InvalidTargetError('a requested resource is not part of the grant');
    }
  }
  const lookups = await ctx.keyring.lookupIds(LOOKUP.refresh, p.refreshToken);
  const grace = ctx.policy.grace;
  const rotate = ctx.policy.rotateRefreshTokens || client.type === 'public';
  // With a grace window the successor is derived from this token, so a retry can be answered with it.
  const secrets = grace && rotate ? await deriveSuccessors(ctx.keyring, p.refreshToken) : { refresh: randomToken(), access: randomToken() };
  const successor = formatToken(bound ? 'boundRefresh' : 'refresh', grantId, secrets.refresh);
  const successorLookup = await ctx.keyring.lookupId(LOOKUP.refresh, successor);
  const narrowed = { ...(p.scope !== undefined && { scope: p.scope }), ...(p.resources !== undefined && { resources: p.resources }) };
  let key = 0;
  for (let attempt = 0; attempt < 4; attempt++) {
    const now = ctx.now();
    const presented = `${grantId}/${lookups[key]!}`;
    const idleEnd = now + ctx.policy.refreshIdleMs;
    const tx = new Transition(ctx, grantId);
    const notRevoked = tx.check(ctx.records.revoked, grantId, { ifAbsent: true });
    const notEnded = tx.check(ctx.records.grant, grantId, { ifPresent: true });
    const ownGrant = tx.check(ctx.records.clientGrant, `${client.clientId}/~${grantId}`, { ifPresent: true });
    const ownKey = keyLookup === undefined ? -1 : tx.check(ctx.records.refreshKey, `${grantId}/${keyLookup}`, { ifPresent: true });
    const current = rotate
      ? tx.delete(ctx.records.refresh, presented, { ifPresent: true })
      : tx.put(ctx.records.refresh, presented, { issuedAt: now }, { expiresAt: idleEnd, condition: { ifPresent: true } });
    if (rotate) {
      tx.put(ctx.records.refresh, `${grantId}/${successorLookup}`, { issuedAt: now }, { expiresAt: idleEnd });
      if (bound) tx.put(ctx.records.refreshKey, `${grantId}/${await refreshKeyLookup(ctx, successor, p.dpopJkt!)}`, {}, { expiresAt: idleEnd });
      tx.put(ctx.records.rotated, presented, { rotatedAt: now, ...narrowed, graceUses: 0 }, { expiresAt: idleEnd });
    }
    const accessExpiresAt = now + ctx.policy.accessTokenTtlMs;
    const accessToken = await addAccessToken(
      ctx, tx, grantId,
      { clientId: client.clientId, issuedAt: now, expiresAt: accessExpiresAt, ...narrowed, ...(p.dpopJkt !== undefined && { jkt: p.dpopJkt }) },
      secrets.access,
    );
    tx.audit({
      types: rotate ? ['refresh_token_used', 'access_token_issued', 'refresh_token_issued'] : ['refresh_token_used', 'access_token_issued'],
      clientId: client.clientId,
      grantId,
      details: {},
    });
    const grantRead = tx.get(ctx.records.grant, grantId);
    const rotatedReads = lookups.map((lookup) => tx.get(ctx.records.rotated, `${grantId}/${lookup}`));
    const liveReads = lookups.map((lookup, index) => (index === key ? -1 : tx.get(ctx.records.refresh, `${grantId}/${lookup}`)));
    const outcome = await tx.commit();

    if (outcome.ok) {
      const grant = (await outcome.read<GrantRecord>(grantRead))!.data;
      return tokenResult(grantId, now, { token: accessToken, expiresAt: Math.min(accessExpiresAt, grant.expiresAt), bound: p.dpopJkt !== undefined }, p.scope ?? grant.scope,
        p.resources ?? grant.resources, { token: rotate ? successor : p.refreshToken, expiresAt: Math.min(grant.expiresAt, idleEnd) });
    }
    if (outcome.failedAt(notRevoked) || outcome.failedAt(notEnded) || outcome.failedAt(ownGrant) || outcome.failedAt(ownKey)) invalidGrant();
    if (outcome.failedAt(current)) {
      // Live under an older key of the ring (issued before a rotation): try that lookup.
      const live = liveReads.findIndex((read) => read >= 0 && outcome.present(read));
      if (live >= 0) {
        key = live;
        continue;
      }
      const rotatedAt = rotatedReads.findIndex((read) => outcome.present(read));
      if (rotatedAt < 0) invalidGrant(); // unknown token (never of this grant, or rotated long ago): refuse, change nothing
      const grant = (await outcome.read<GrantRecord>(grantRead))?.data;
      if (!grant) invalidGrant();
      if (grace) {
        const rotated = `${grantId}/${lookups[rotatedAt]!}`;
        // Grace bookkeeping is a counter: serialize it per grant inside this isolate so N retries cost
        // N calls, not N²/2 (other isolates still meet at the compare-and-set).
        const answer = await withLock(ctx, `grace/${grantId}`, () =>
          answerWithinGrace(ctx, client, grant, grantId, rotated, { token: successor, lookup: successorLookup }, secrets.access, p, keyLookup),
        );
        if (answer !== 'reuse') return answer;
      }
      // Reuse of a rotated token: revoke the whole grant (RFC 9700 §4.14.2).
      return revokeForViolation(ctx, grantId, { clientId: grant.clientId, userId: grant.userId, refresh: true, expiresAt: grant.expiresAt }, 'refresh_token_reuse');
    }
    // The backend could not say which condition failed: try again.
  }
  throw new ConflictError('refresh token is contended; retry');
}

/**
 * A retried refresh of the token just rotated, inside the grace window and
 * under its use limit: count the use and answer with the same successor. The
 * window is non-sliding (from the rotation) and bounded; the successor must
 * still be the live token (a later rotation makes this reuse).
 */
async function answerWithinGrace(
  ctx: StoreContext,
  client: ClientInfo,
  grant: GrantRecord,
  grantId: string,
  rotatedId: string,
  successor: { token: string; lookup: string },
  accessSecret: string,
  p: RefreshParams,
  keyLookup: string | undefined,
): Promise<TokenResult | 'reuse'> {
  const grace = ctx.policy.grace!;
  for (let attempt = 0; attempt < 32; attempt++) {
    const found = await ctx.records.rotated.get(rotatedId);
    const now = ctx.now();
    if (!found || now >= found.data.rotatedAt + grace.windowMs || found.data.graceUses >= grace.maxUses) return 'reuse';
    const rotated = found.data;
    // The answer is the rotation's access token, issued with the rotation's scope: a retry asking another would be told a scope the token does not have.
    if (!sameSet(p.scope ?? grant.scope, rotated.scope ?? grant.scope) || !sameSet(p.resources ?? grant.resources ?? [], rotated.resources ?? grant.resources ?? [])) {
      throw new InvalidScopeError('a retried refresh must request the scope of the original request');
    }
    const uses = rotated.graceUses + 1;
    const tx = new Transition(ctx, grantId);
    tx.check(ctx.records.revoked, grantId, { ifAbsent: true });
    tx.check(ctx.records.clientGrant, `${client.clientId}/~${grantId}`, { ifPresent: true });
    if (keyLookup !== undefined) tx.check(ctx.records.refreshKey, `${grantId}/${keyLookup}`, { ifPresent: true });
    const counted = tx.put(ctx.records.rotated, rotatedId, { ...rotated, graceUses: uses }, { ...(found.expiresAt !== undefined && { expiresAt: found.expiresAt }), condition: { ifVersion: found.version } });
    const latest = tx.check(ctx.records.refresh, `${grantId}/${successor.lookup}`, { ifPresent: true });
    // The first and the last grace answer are audited (with the count): a burst of retries does not multiply the trail.
    if (uses === 1 || uses === grace.maxUses) {
      tx.audit({ types: ['refresh_token_used'], clientId: client.clientId, grantId, details: { grace: true, graceUses: uses } });
    }
    const outcome = await tx.commit();
    if (outcome.ok) {
      const accessExpiresAt = Math.min(rotated.rotatedAt + ctx.policy.accessTokenTtlMs, grant.expiresAt);
      return tokenResult(grantId, now, { token: formatToken('access', grantId, accessSecret), expiresAt: accessExpiresAt, bound: p.dpopJkt !== undefined }, rotated.scope ?? grant.scope,
        rotated.resources ?? grant.resources, { token: successor.token, expiresAt: Math.min(grant.expiresAt, rotated.rotatedAt + ctx.policy.refreshIdleMs) });
    }
    if (outcome.failedAt(counted)) continue; // another retry counted first: look again
    if (outcome.failedAt(latest)) return 'reuse';
    invalidGrant();
  }
  throw new ConflictError('refresh token is contended; retry');
}

export const refreshTokenGrant: GrantHandler<RefreshParams> = {
  type: 'refresh_token',
  parameters: ['refreshToken', 'scope', 'resources', 'dpopJkt'],
  parse: (p) => ({
    refreshToken: requireToken('refreshToken', p.refreshToken),
    scope: optionalScope('scope', p.scope),
    resources: optionalResources('resources', p.resources),
    dpopJkt: optionalJkt('dpopJkt', p.dpopJkt),
  }),
  issue: (tools, client, p) => refresh(toolsContext(tools), client, p),
};
