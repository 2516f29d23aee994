import type { OAuthStore } from '../../oauth/oauth-store.js';
import type { RequestContext } from '../endpoints/endpoint.js';
import type { PresentedClient } from '../http/client-auth.js';

/**
 * RFC 7009 for a JWT access token: the client authenticates as usual; a
 * token this server signed for that client goes on the store's revocation
 * list (its `jti`, until it expires), which every isolate's guard re-reads
 * within `revocationCacheSeconds` (this isolate at once). Anything else
 * (another client's token, an expired or foreign JWT) changes nothing and
 * is answered the same (§2.2).
 *
 * @throws InvalidClientError when client authentication fails.
 */
export async function revokeJwtAccessToken(ctx: RequestContext, store: OAuthStore, client: PresentedClient, token: string): Promise<void> {
  const jwt = ctx.config.jwt!;
  await store.authenticateClient(client.clientId, client.clientSecret);
  const info = await jwt.verify(store, token, { issuer: ctx.issuer });
  if (!info || info.clientId !== client.clientId) return;
  await store.recordRevocation(info.jti, info.expiresAt);
  jwt.revocations(store).invalidate();
}
