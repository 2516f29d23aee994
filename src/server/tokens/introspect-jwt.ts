import { accessIntrospection } from '../../oauth/access.js';
import type { OAuthStore } from '../../oauth/oauth-store.js';
import type { IntrospectionResult } from '../../oauth/types.js';
import type { RequestContext } from '../endpoints/endpoint.js';

/**
 * RFC 7662 for a JWT access token of this server: active while its
 * signature, issuer and expiry hold and neither it nor its grant is on the
 * revocation list (as this isolate last read it); the same answer shape as
 * for opaque tokens, `{ active: false }` otherwise.
 */
export async function introspectJwt(ctx: RequestContext, store: OAuthStore, token: string): Promise<IntrospectionResult> {
  const info = await ctx.config.jwt!.verify(store, token, { issuer: ctx.issuer });
  if (!info) return { active: false };
  return accessIntrospection(info);
}
