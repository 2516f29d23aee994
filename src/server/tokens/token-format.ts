import type { OAuthStore } from '../../oauth/oauth-store.js';
import type { TokenResult } from '../../oauth/types.js';
import type { RequestContext } from '../endpoints/endpoint.js';
import { OAuthHttpError } from '../http/errors.js';
import { resourceIdentifier } from '../resources.js';

/** The resource identifiers of the protected routes that take JWT access tokens. */
export function jwtResources(ctx: RequestContext): string[] {
  return ctx.config.protect.filter((resource) => resource.accessTokenFormat === 'jwt').map((resource) => resourceIdentifier(resource, ctx.issuer));
}

/**
 * The token endpoint's access token in the format of its audience: a JWT
 * (RFC 9068) when every audience takes JWTs, else the store's opaque token
 * as it is. The store still keeps the grant, its refresh token and a record
 * of the opaque token (never handed out); the JWT is made from what that
 * record says, so both agree on subject, scope, audience, expiry and key binding.
 */
export async function formatAccessToken(ctx: RequestContext, store: OAuthStore, result: TokenResult, dpopJkt: string | undefined): Promise<TokenResult> {
  const jwt = ctx.config.jwt;
  const audiences = result.resources ?? [];
  if (!jwt || audiences.length === 0) return result;
  const forJwt = jwtResources(ctx);
  if (!audiences.every((audience) => forJwt.includes(audience))) return result;
  const info = await store.validateAccessToken(result.accessToken, dpopJkt === undefined ? {} : { dpopJkt });
  // Just issued: only a revocation racing this request can make it invalid, and then nothing is handed out.
  if (!info) throw new OAuthHttpError('invalid_grant', 'the grant is invalid, expired, revoked or already used');
  return { ...result, accessToken: await jwt.sign(store, ctx.issuer, info) };
}
