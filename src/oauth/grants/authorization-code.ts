import { ConflictError, InvalidRequestError, InvalidTargetError } from '../../errors.js';
import { sha256 } from '../../crypto/hmac.js';
import { toBase64Url } from '../../util/bytes.js';
import { optionalInteger } from '../../util/validate.js';
import { checkAuthorizationRequest, type AuthorizationRequest } from '../authorization-request.js';
import type { StoreContext } from '../context.js';
import { readGrantState, revokeForViolation } from '../grant-state.js';
import { onlyKeys, optionalJkt, optionalJson, optionalPkceVerifier, optionalResources, params, requireRedirectUri, requireToken, requireUserId } from '../input.js';
import { MAX_CODE_TTL_SECONDS } from '../options.js';
import { codeOrigin, type GrantRecord, type LiveRecord } from '../record-kinds.js';
import { formatToken, LOOKUP, newGrantId, parseToken } from '../tokens.js';
import { Transition } from '../transition.js';
import type { ClientInfo, CreateAuthorizationCodeParams, CreateAuthorizationCodeResult, PkceMethod, TokenResult } from '../types.js';
import { addAccessToken, addNewGrant, addRefreshToken, invalidGrant, isSubset, tokenResult } from './common.js';
import type { GrantHandler } from './handler.js';
import { toolsContext } from './tools.js';

/**
 * The authorization code grant (RFC 6749 §4.1, PKCE RFC 7636). Issuing a
 * code creates its grant, in one atomic call: the grant record, its index
 * entries, and a code binding: an HMAC over (code, client, redirect URI,
 * PKCE challenge) kept as a key, `code/<grantId>/<binding>`.
 *
 * Redeeming it is one atomic call too: the token request computes the same
 * binding from what it presents (a wrong client, redirect URI or verifier
 * gives another binding, which is not there: refused, nothing burnt), and
 * the batch creates `grant-live/<grantId>` only if absent: that creation is
 * the code's single use. An authenticated second redemption finds it and
 * revokes the grant (RFC 6749 §4.1.2), however late: the binding lives as
 * long as the grant; only the first redemption is limited by `code-ttl`.
 */

/**
 * The PKCE part of a binding. At issue the S256 challenge as sent (a `plain`
 * challenge is the verifier itself, so its S256 is taken); at redemption the
 * S256 of the verifier: both sides agree exactly when the verifier is right,
 * without the batch knowing the method. No challenge: empty, and then a
 * verifier makes the binding differ (a verifier without a challenge is
 * refused, OAuth 2.1).
 */
async function pkceOfChallenge(challenge: string | undefined, method: PkceMethod | undefined): Promise<string> {
  if (challenge === undefined) return '';
  return method === 'plain' ? toBase64Url(await sha256(challenge)) : challenge;
}

async function pkceOfVerifier(verifier: string | undefined): Promise<string> {
  return verifier === undefined ? '' : toBase64Url(await sha256(verifier));
}

/** The binding of a code to what redeems it, under every key of the ring (current first). */
function bindings(ctx: StoreContext, code: string, clientId: string, redirectUri: string, pkce: string): Promise<string[]> {
  return ctx.keyring.lookupIds(LOOKUP.codeBinding, JSON.stringify([code, clientId, redirectUri, pkce]));
}

export async function createAuthorizationCode(ctx: StoreContext, input: CreateAuthorizationCodeParams): Promise<CreateAuthorizationCodeResult> {
  const p = params('params', input);
  onlyKeys('params', p, [
    'clientId', 'userId', 'redirectUri', 'redirectUriExplicit', 'scope', 'codeChallenge', 'codeChallengeMethod', 'resources', 'props', 'ttlSeconds',
  ]);
  const userId = requireUserId('userId', p.userId);
  const props = optionalJson('props', p.props);
  const ttl = optionalInteger('ttlSeconds', p.ttlSeconds, 1, MAX_CODE_TTL_SECONDS);
  const request = await checkAuthorizationRequest(ctx, p);
  const grantId = newGrantId();
  const tx = new Transition(ctx, grantId);
  const issued = await addCode(ctx, tx, grantId, request, userId, props, ttl);
  tx.audit({ types: ['code_issued'], clientId: request.clientId, userId, grantId, details: { scope: request.scope.length } });
  if (!(await tx.commit()).ok) throw new ConflictError('grant id collision; retry');
  return issued;
}

/**
 * Adds a new grant and its code to `tx` (whose partition is `grantId`): the
 * grant record, its index entries, the code's bindings and its redemption
 * window. Shared by `createAuthorizationCode` and the completion of an
 * authorization session, which issues its code in the same batch.
 */
export async function addCode(
  ctx: StoreContext,
  tx: Transition,
  grantId: string,
  request: AuthorizationRequest,
  userId: string,
  props: unknown,
  ttlSeconds: number | undefined,
): Promise<CreateAuthorizationCodeResult> {
  const code = formatToken('code', grantId);
  const now = ctx.now();
  const codeExpiresAt = now + (ttlSeconds === undefined ? ctx.policy.codeTtlMs : ttlSeconds * 1000);
  const grant: GrantRecord = {
    origin: {
      type: 'authorization_code',
      redirectUri: request.redirectUri,
      ...(request.redirectUriExplicit === false && { redirectUriExplicit: false as const }),
      ...(request.codeChallenge !== undefined && { codeChallenge: request.codeChallenge, codeChallengeMethod: request.codeChallengeMethod! }),
      codeExpiresAt,
    },
    clientId: request.clientId,
    userId,
    scope: request.scope,
    ...(request.resources !== undefined && { resources: request.resources }),
    ...(props !== undefined && { props }),
    createdAt: now,
    expiresAt: now + ctx.policy.grantLifetimeMs,
  };
  const pkce = await pkceOfChallenge(request.codeChallenge, request.codeChallengeMethod);
  // A request that left redirect_uri out may be redeemed with it or without it (RFC 6749 §4.1.3).
  const redirects = request.redirectUriExplicit === false ? [request.redirectUri, ''] : [request.redirectUri];
  const codeBindings = await Promise.all(redirects.map(async (redirect) => (await bindings(ctx, code, request.clientId, redirect, pkce))[0]!));
  await addNewGrant(ctx, tx, grantId, grant);
  for (const binding of codeBindings) tx.put(ctx.records.code, `${grantId}/${binding}`, {}, { expiresAt: grant.expiresAt });
  tx.put(ctx.records.codeTtl, grantId, {}, { expiresAt: codeExpiresAt });
  return { code, grantId, expiresAt: codeExpiresAt };
}

interface ExchangeParams {
  code: string;
  redirectUri: string | undefined;
  codeVerifier: string | undefined;
  resources: string[] | undefined;
  dpopJkt: string | undefined;
}

/** Redeems a code: one atomic call (two when the request narrows its resources). */
async function exchange(ctx: StoreContext, client: ClientInfo, p: ExchangeParams): Promise<TokenResult> {
  const grantId = parseToken('code', p.code);
  if (grantId === null) invalidGrant();
  if (p.resources !== undefined) {
    // Narrowing needs the grant's resources, which only the sealed grant knows: read it first.
    const state = await readGrantState(ctx, grantId);
    if (!state.grant || state.grant.data.clientId !== client.clientId) invalidGrant();
    if (!isSubset(p.resources, state.grant.data.resources ?? [])) throw new InvalidTargetError('a requested resource is not part of the grant');
  }
  const candidates = await bindings(ctx, p.code, client.clientId, p.redirectUri ?? '', await pkceOfVerifier(p.codeVerifier));
  const withRefresh = client.grantTypes.includes('refresh_token');
  // RFC 9449 §5: a public client's refresh token is bound to its DPoP key; a confidential client authenticates instead.
  const refreshJkt = client.type === 'public' ? p.dpopJkt : undefined;
  let key = 0;
  for (let attempt = 0; attempt < 4; attempt++) {
    const now = ctx.now();
    const tx = new Transition(ctx, grantId);
    const notRevoked = tx.check(ctx.records.revoked, grantId, { ifAbsent: true });
    const bound = tx.check(ctx.records.code, `${grantId}/${candidates[key]!}`, { ifPresent: true });
    const firstUse = tx.put(ctx.records.live, grantId, { activatedAt: now, refresh: withRefresh }, { condition: { ifAbsent: true } });
    const inTime = tx.check(ctx.records.codeTtl, grantId, { ifPresent: true });
    const accessExpiresAt = now + ctx.policy.accessTokenTtlMs;
    const accessToken = await addAccessToken(ctx, tx, grantId, {
      clientId: client.clientId,
      issuedAt: now,
      expiresAt: accessExpiresAt,
      ...(p.resources !== undefined && { resources: p.resources }),
      ...(p.dpopJkt !== undefined && { jkt: p.dpopJkt }),
    });
    const refresh = withRefresh ? await addRefreshToken(ctx, tx, grantId, now, undefined, refreshJkt) : undefined;
    tx.audit({
      types: refresh ? ['code_used', 'access_token_issued', 'refresh_token_issued'] : ['code_used', 'access_token_issued'],
      clientId: client.clientId,
      grantId,
      details: {},
    });
    const grantRead = tx.get(ctx.records.grant, grantId);
    const liveRead = tx.get(ctx.records.live, grantId);
    // A binding computed under an older key of the ring (a code issued just before a rotation).
    const older = candidates.map((candidate, index) => (index === key ? -1 : tx.get(ctx.records.code, `${grantId}/${candidate}`)));
    const outcome = await tx.commit();

    if (outcome.ok) {
      const grant = (await outcome.read<GrantRecord>(grantRead))!.data;
      // The grant's end bounds its tokens (validation needs the grant record, which expires then).
      const access = { token: accessToken, expiresAt: Math.min(accessExpiresAt, grant.expiresAt), bound: p.dpopJkt !== undefined };
      return tokenResult(grantId, now, access, grant.scope, p.resources ?? grant.resources,
        refresh && { token: refresh.token, expiresAt: Math.min(grant.expiresAt, now + ctx.policy.refreshIdleMs) });
    }
    if (outcome.failedAt(notRevoked) || outcome.failedAt(inTime)) invalidGrant();
    if (outcome.failedAt(bound)) {
      const other = older.findIndex((read) => read >= 0 && outcome.present(read));
      if (other >= 0) {
        key = other;
        continue;
      }
      // RFC 6749 §4.1.3: redirect_uri is required here iff the authorization request included it.
      const grant = p.redirectUri === undefined ? (await outcome.read<GrantRecord>(grantRead))?.data : undefined;
      const origin = grant && codeOrigin(grant);
      if (grant?.clientId === client.clientId && origin && origin.redirectUriExplicit !== false) {
        throw new InvalidRequestError('redirectUri', 'is required: the authorization request included it');
      }
      invalidGrant(); // wrong code, client, redirect URI or verifier: nothing changes
    }
    if (outcome.failedAt(firstUse)) {
      // An authenticated second redemption, however late: revoke what the first one got (RFC 6749 §4.1.2).
      const grant = (await outcome.read<GrantRecord>(grantRead))?.data;
      const live = (await outcome.read<LiveRecord>(liveRead))?.data;
      if (!grant) invalidGrant();
      return revokeForViolation(ctx, grantId, { clientId: grant.clientId, userId: grant.userId, refresh: live?.refresh ?? false, expiresAt: grant.expiresAt }, 'code_replay');
    }
    // The backend could not say which condition failed: try again.
  }
  throw new ConflictError('authorization code is contended; retry');
}

export const authorizationCodeGrant: GrantHandler<ExchangeParams> = {
  type: 'authorization_code',
  parameters: ['code', 'redirectUri', 'codeVerifier', 'resources', 'dpopJkt'],
  parse: (p) => ({
    code: requireToken('code', p.code),
    redirectUri: p.redirectUri === undefined ? undefined : requireRedirectUri('redirectUri', p.redirectUri),
    codeVerifier: optionalPkceVerifier('codeVerifier', p.codeVerifier),
    resources: optionalResources('resources', p.resources),
    dpopJkt: optionalJkt('dpopJkt', p.dpopJkt),
  }),
  issue: (tools, client, p) => exchange(toolsContext(tools), client, p),
};
