import { InvalidRequestError, UnauthorizedClientError } from '../errors.js';
import { authenticateClient } from './clients.js';
import type { StoreContext } from './context.js';
import { onlyKeys, params, requireToken } from './input.js';
import { addRevocation } from './grants/common.js';
import { kindOf, LOOKUP, parseRefreshToken, parseToken } from './tokens.js';
import { Transition } from './transition.js';
import type { ClientInfo, RevokeTokenParams } from './types.js';

/**
 * RFC 7009. An unknown, expired or already invalid token is success. A
 * client may revoke only its own tokens (`UnauthorizedClientError`), checked
 * in the same atomic call through the grant's client index. Revoking an
 * access token deletes it; revoking a refresh token revokes its grant, and so
 * every token of it.
 */
export async function revokeToken(ctx: StoreContext, input: RevokeTokenParams): Promise<void> {
  const p = params('params', input);
  onlyKeys('params', p, ['token', 'tokenTypeHint', 'clientId', 'clientSecret', 'clientAssertionVerified']);
  const token = requireToken('token', p.token);
  if (p.tokenTypeHint !== undefined && p.tokenTypeHint !== 'access_token' && p.tokenTypeHint !== 'refresh_token') {
    throw new InvalidRequestError('tokenTypeHint', 'must be "access_token" or "refresh_token"');
  }
  const client = await authenticateClient(ctx, p.clientId, p.clientSecret, p.clientAssertionVerified);
  // Our tokens are tagged, so the hint is never needed to find them (RFC 7009 §2.1 allows ignoring it).
  const kind = kindOf(token);
  if (kind === 'access' || kind === 'refresh') await revoke(ctx, client, token, kind);
}

/** One call per key of the ring that may have made the token's lookup id (one, except right after a key rotation). */
async function revoke(ctx: StoreContext, client: ClientInfo, token: string, kind: 'access' | 'refresh'): Promise<void> {
  const grantId = kind === 'access' ? parseToken('access', token)! : parseRefreshToken(token)!.grantId;
  const lookups = await ctx.keyring.lookupIds(kind === 'access' ? LOOKUP.access : LOOKUP.refresh, token);
  for (const lookup of lookups) {
    const id = `${grantId}/${lookup}`;
    const tx = new Transition(ctx, grantId);
    let live: number;
    if (kind === 'access') {
      live = tx.delete(ctx.records.access, id, { ifPresent: true });
    } else {
      live = tx.check(ctx.records.refresh, id, { ifPresent: true });
    }
    const own = tx.check(ctx.records.clientGrant, `${client.clientId}/~${grantId}`, { ifPresent: true });
    if (kind === 'refresh') {
      tx.put(ctx.records.revoked, grantId, { revokedAt: ctx.now(), reason: 'revoked_by_client' }, { condition: { ifAbsent: true } });
      tx.check(ctx.records.grant, grantId, { ifPresent: true });
      addRevocation(ctx, tx, grantId, ctx.now());
    }
    tx.audit({
      types: kind === 'access' ? ['access_token_revoked'] : ['access_token_revoked', 'refresh_token_revoked'],
      clientId: client.clientId,
      grantId,
      details: { reason: 'revoked_by_client' },
    });
    const outcome = await tx.commit();
    if (outcome.ok) return;
    if (outcome.failedAt(own)) throw new UnauthorizedClientError('token was issued to another client');
    if (!outcome.failedAt(live)) return; // revoked or ended already: nothing left to revoke
  }
}
