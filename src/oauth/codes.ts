import { ConflictError, InvalidRequestError, UnauthorizedClientError } from '../errors.js';
import { optionalInteger } from '../util/validate.js';
import { authenticateClient } from './clients.js';
import type { AccessRecord, GrantRecord, RefreshFamily, StoreContext } from './context.js';
import { commit, grantExpiry, invalidGrant, MAX_ATTEMPTS, requireGrantType, revokeForViolation, tokenResult } from './grant-state.js';
import { onlyKeys, optionalJson, optionalPkceVerifier, params, requireRedirectUri, requireToken, requireUserId } from './input.js';
import { verifyPkce } from './pkce.js';
import { MAX_CODE_TTL_SECONDS } from './policy.js';
import { checkAuthorizationRequest } from './sessions.js';
import { formatToken, LOOKUP, matchesAny, newGrantId, parseToken } from './tokens.js';
import type {
  CreateAuthorizationCodeParams,
  CreateAuthorizationCodeResult,
  ExchangeAuthorizationCodeParams,
  TokenResult,
} from './types.js';

/**
 * Authorization codes. Issuing a code creates its grant record (`issued`);
 * redeeming it flips the record to `active` with one compare-and-set, which
 * is the code's single use.
 */

export async function createAuthorizationCode(ctx: StoreContext, input: CreateAuthorizationCodeParams): Promise<CreateAuthorizationCodeResult> {
  const p = params('params', input);
  onlyKeys('params', p, [
    'clientId', 'userId', 'redirectUri', 'redirectUriExplicit', 'scope', 'codeChallenge', 'codeChallengeMethod', 'resource', 'props', 'ttlSeconds',
  ]);
  const userId = requireUserId('userId', p.userId);
  const props = optionalJson('props', p.props);
  const ttl = optionalInteger('ttlSeconds', p.ttlSeconds, 1, MAX_CODE_TTL_SECONDS);
  const request = await checkAuthorizationRequest(ctx, p);
  if (!request.client.grantTypes.includes('authorization_code')) {
    throw new UnauthorizedClientError('client may not use the authorization_code grant');
  }
  const grantId = newGrantId();
  const code = formatToken('code', grantId);
  const now = ctx.now();
  const expiresAt = now + (ttl === undefined ? ctx.policy.codeTtlMs : ttl * 1000);
  const [codeLookup, userLookup] = await Promise.all([
    ctx.keyring.lookupId(LOOKUP.code, code),
    ctx.keyring.lookupId(LOOKUP.user, userId),
  ]);
  const record: GrantRecord = {
    status: 'issued',
    clientId: request.clientId,
    userId,
    scope: request.scope,
    ...(request.resource !== undefined && { resource: request.resource }),
    ...(props !== undefined && { props }),
    redirectUri: request.redirectUri,
    ...(request.redirectUriExplicit === false && { redirectUriExplicit: false }),
    codeLookup,
    ...(request.codeChallenge !== undefined && {
      codeChallenge: request.codeChallenge,
      codeChallengeMethod: request.codeChallengeMethod,
    }),
    codeExpiresAt: expiresAt,
    createdAt: now,
  };
  // Indexes first: a grant that can ever become usable is already findable by
  // user (listGrants) and by client (deleteClient's cascade).
  // `createdAt` tells cleanup this entry's grant may still be on its way (lifecycle.ts).
  const indexExpiry = { expiresAt: expiresAt + ctx.policy.grantLifetimeMs };
  await Promise.all([
    ctx.userGrants.put(`${userLookup}/${grantId}`, { createdAt: now }, indexExpiry),
    ctx.clientGrants.put(`${request.clientId}/${grantId}`, { createdAt: now }, indexExpiry),
  ]);
  if ((await ctx.grants.create(grantId, record, { expiresAt })) === null) throw new ConflictError('grant id collision; retry');
  await ctx.audit.record({ type: 'code_issued', clientId: request.clientId, userId, grantId, details: { scope: request.scope.length } });
  return { code, grantId, expiresAt };
}

export async function exchangeAuthorizationCode(ctx: StoreContext, input: ExchangeAuthorizationCodeParams): Promise<TokenResult> {
  const p = params('params', input);
  onlyKeys('params', p, ['code', 'clientId', 'clientSecret', 'redirectUri', 'codeVerifier']);
  const code = requireToken('code', p.code);
  const redirectUri = p.redirectUri === undefined ? undefined : requireRedirectUri('redirectUri', p.redirectUri);
  const verifier = optionalPkceVerifier('codeVerifier', p.codeVerifier);
  const client = await authenticateClient(ctx, p.clientId, p.clientSecret);
  requireGrantType(client, 'authorization_code');
  const grantId = parseToken('code', code);
  if (grantId === null) invalidGrant();
  const ids = await ctx.keyring.lookupIds(LOOKUP.code, code);

  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const found = await ctx.grants.get(grantId);
    if (!found) invalidGrant();
    const grant = found.data;
    const now = ctx.now();
    // Every check that proves the caller may redeem this code comes before
    // anything changes: a wrong code, client, redirect URI or failed PKCE
    // leaves the store exactly as it was (and burns nothing).
    if (!matchesAny(grant.codeLookup, ids) || grant.clientId !== client.clientId) invalidGrant();
    // RFC 6749 §4.1.3: redirect_uri is required here iff the authorization request included it.
    if (redirectUri === undefined && grant.redirectUriExplicit !== false) {
      throw new InvalidRequestError('redirectUri', 'is required: the authorization request included it');
    }
    if (redirectUri !== undefined && grant.redirectUri !== redirectUri) invalidGrant();
    if (!(await verifyPkce(grant.codeChallenge, grant.codeChallengeMethod, verifier))) invalidGrant();
    if (grant.status === 'revoked') invalidGrant();
    // An authenticated second redemption, however late: revoke what the first
    // one got (RFC 6749 §4.1.2). Code expiry only limits the first redemption.
    if (grant.status === 'active') return revokeForViolation(ctx, grantId, grant, 'code_replay');
    if (grant.codeExpiresAt <= now) invalidGrant();

    const withRefresh = client.grantTypes.includes('refresh_token');
    const accessToken = formatToken('access', grantId);
    const refreshToken = withRefresh ? formatToken('refresh', grantId) : undefined;
    const [accessLookup, refreshLookup] = await Promise.all([
      ctx.keyring.lookupId(LOOKUP.access, accessToken),
      refreshToken === undefined ? Promise.resolve(null) : ctx.keyring.lookupId(LOOKUP.refresh, refreshToken),
    ]);
    const chainExpiresAt = now + ctx.policy.grantLifetimeMs;
    const accessExpiresAt = Math.min(now + ctx.policy.accessTokenTtlMs, chainExpiresAt);
    const refresh: RefreshFamily | undefined =
      refreshLookup === null
        ? undefined
        : { current: refreshLookup, previous: [], rotatedAt: now, lastUsedAt: now, graceUses: 0, generation: 0 };
    const next: GrantRecord = { ...grant, status: 'active', activatedAt: now, chainExpiresAt, ...(refresh && { refresh }) };
    const access: AccessRecord = { clientId: client.clientId, scope: grant.scope, issuedAt: now, expiresAt: accessExpiresAt };
    const committed = await commit(ctx, grantId, next, found.version, grantExpiry(ctx, next, accessExpiresAt), {
      id: `${grantId}/${accessLookup}`,
      data: access,
    });
    // Lost the race: re-read; the record now says consumed (a replay) or revoked.
    if (!committed) continue;

    const subject = { clientId: client.clientId, userId: grant.userId, grantId };
    // Concurrent writes, one order: each event's id (time and sequence) is fixed when it is recorded.
    await Promise.all([
      ctx.audit.record({ type: 'code_used', ...subject, details: {} }),
      ctx.audit.record({ type: 'access_token_issued', ...subject, details: { expiresAt: accessExpiresAt } }),
      refresh && ctx.audit.record({ type: 'refresh_token_issued', ...subject, details: { generation: 0 } }),
    ]);
    return tokenResult(grantId, now, accessToken, accessExpiresAt, grant.scope,
      refreshToken === undefined ? undefined : { token: refreshToken, expiresAt: Math.min(chainExpiresAt, now + ctx.policy.refreshIdleMs) });
  }
  throw new ConflictError('authorization code is contended; retry');
}

