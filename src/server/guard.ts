import { InvalidRequestError } from '../errors.js';
import type { OAuthStore } from '../oauth/oauth-store.js';
import type { AccessTokenInfo } from '../oauth/types.js';
import type { ResolvedResource } from './config.js';
import { json } from './http/responses.js';
import type { ServerDpop } from './dpop/dpop.js';
import { DpopProofError } from './dpop/proof.js';
import { resourceIdentifier, resourceMetadataUrl } from './resources.js';
import { looksLikeJwt, type JwtAccessTokens } from './tokens/jwt-access-token.js';
import type { AuthContext } from './types.js';

// RFC 6750 §2.1 and RFC 9449 §7.1: credentials = ("Bearer" / "DPoP") 1*SP b64token.
const CREDENTIALS = /^(Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*)$/i;

/** A guard's refusal, with the outcome it reports. */
export interface Refusal {
  response: Response;
  outcome: string;
}

/** What the guard needs to know about the request's setting. */
export interface GuardSetting {
  issuer: string;
  /** The server's `scopes_supported`, for the challenge's `scope` when the route names none. */
  scopes: readonly string[] | undefined;
  /** Maps the token to the app's user; null refuses it. */
  user?: (info: AccessTokenInfo) => Promise<unknown>;
  /** JWT access tokens, for routes with `accessTokenFormat: 'jwt'`. */
  jwt?: JwtAccessTokens | null;
  /** DPoP, when the server accepts it. */
  dpop?: ServerDpop | null;
}

/** A challenge parameter value: quoted-string (RFC 9110 §5.6.4), with what cannot be quoted dropped. */
const quote = (value: string): string => `"${value.replace(/["\\\x00-\x1f\x7f]/g, '')}"`;

/**
 * The RFC 6750 §3 challenge: `Bearer` with `error` (none when the request
 * had no token), `scope`, and the RFC 9728 `resource_metadata` URL that
 * tells an MCP client where to start.
 */
export function challenge(params: { error?: string; description?: string; scope?: readonly string[]; metadataUrl: string; scheme?: 'Bearer' | 'DPoP'; algs?: readonly string[] }): string {
  const parts: string[] = [];
  if (params.error !== undefined) parts.push(`error=${quote(params.error)}`);
  if (params.description !== undefined) parts.push(`error_description=${quote(params.description)}`);
  if (params.scope !== undefined && params.scope.length > 0) parts.push(`scope=${quote(params.scope.join(' '))}`);
  parts.push(`resource_metadata=${quote(params.metadataUrl)}`);
  if (params.scheme === 'DPoP') return `DPoP ${[...parts, `algs=${quote((params.algs ?? []).join(' '))}`].join(', ')}`;
  // RFC 9449 §7.1: where DPoP is accepted too, its challenge (with the accepted algorithms) follows.
  return `Bearer ${parts.join(', ')}${params.algs ? `, DPoP algs=${quote(params.algs.join(' '))}` : ''}`;
}

function refuse(status: 401 | 403, header: string, error?: string, description?: string, extra: Record<string, string> = {}): Refusal {
  const headers = { 'WWW-Authenticate': header, ...extra };
  const response = error === undefined ? new Response(null, { status, headers: { ...headers, 'Cache-Control': 'no-store' } }) : json({ error, error_description: description }, status, headers);
  return { response, outcome: error ?? 'no_token' };
}

/**
 * The resource-server guard (RFC 6750, RFC 9728, RFC 8707): reads the bearer
 * token from the Authorization header (never from the query), validates it
 * for this route's resource, and answers:
 * - no bearer token: 401 with a bare challenge (`scope`, `resource_metadata`);
 * - a token that is malformed, unknown, expired, revoked, for another
 *   resource, without an audience where one is required, or whose user the
 *   `user` hook refuses: 401 `invalid_token`;
 * - a valid token without the route's scopes: 403 `insufficient_scope` naming them.
 */
export async function guard(store: OAuthStore, resource: ResolvedResource<unknown, unknown>, request: Request, setting: GuardSetting): Promise<AuthContext | Refusal> {
  const identifier = resourceIdentifier(resource, setting.issuer);
  const metadataUrl = resourceMetadataUrl(resource, setting.issuer);
  const required = resource.scopes ?? [];
  const advertised = resource.scopes ?? resource.scopesSupported ?? setting.scopes;
  const dpop = setting.dpop ?? null;
  const algs = dpop?.settings.algorithms;
  const header = request.headers.get('Authorization');
  // No Authorization, another scheme, or a scheme with nothing after it: no token at all.
  if (header === null || !(dpop ? /^(Bearer|DPoP) +\S/i : /^Bearer +\S/i).test(header.trim())) {
    return refuse(401, challenge({ ...(advertised && { scope: advertised }), metadataUrl, ...(algs && { algs }) }));
  }
  const match = CREDENTIALS.exec(header.trim());
  const scheme = match?.[1]!.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer';
  const describe = 'the access token is invalid, expired or revoked';
  const invalid = (error = 'invalid_token', description = describe, extra: Record<string, string> = {}) =>
    refuse(401, challenge({ error, description, ...(advertised && { scope: advertised }), metadataUrl, scheme, ...(algs && { algs }) }), error, description, extra);
  if (!match) return invalid();
  const token = match[2]!;
  let jkt: string | undefined;
  if (scheme === 'DPoP') {
    try {
      jkt = await dpop!.verify(store, { method: request.method, url: request.url, header: request.headers.get('DPoP'), accessToken: token });
    } catch (error) {
      if (!(error instanceof DpopProofError)) throw error;
      return invalid(error.code, error.description, await dpop!.nonceHeader(store));
    }
  }
  let info: AccessTokenInfo | null;
  try {
    info = resource.accessTokenFormat === 'jwt' && setting.jwt && looksLikeJwt(token)
      ? await setting.jwt.verify(store, token, { issuer: setting.issuer, audience: identifier })
      : await store.validateAccessToken(token, { resource: identifier, ...(jkt !== undefined && { dpopJkt: jkt }) });
  } catch (error) {
    if (error instanceof InvalidRequestError) return invalid();
    throw error;
  }
  // RFC 9449 §4.3, §7.1: a bound token only with a proof of its key (so never as Bearer), and the DPoP scheme only for a bound token.
  if (info && info.jkt !== jkt) return invalid();
  if (!info || (resource.requireAudience && !(info.resources ?? []).includes(identifier))) return invalid();
  let user: unknown;
  if (setting.user) {
    user = await setting.user(info);
    if (user === null) return invalid();
  }
  const insufficientScope = (scopes: readonly string[]): Response =>
    refuse(403, challenge({ error: 'insufficient_scope', description: 'the access token lacks a scope this request needs', scope: scopes, metadataUrl, scheme, ...(scheme === 'DPoP' && algs && { algs }) }), 'insufficient_scope', 'the access token lacks a scope this request needs').response;
  if (!required.every((scope) => info.scope.includes(scope))) return { response: insufficientScope(required), outcome: 'insufficient_scope' };
  const granted = info.scope;
  return {
    userId: info.userId,
    clientId: info.clientId,
    grantType: info.grantType,
    grantId: info.grantId,
    scope: granted,
    resources: info.resources ?? [],
    resource: identifier,
    props: info.props,
    expiresAt: info.expiresAt,
    user,
    hasScope: (...scopes) => scopes.every((scope) => granted.includes(scope)),
    insufficientScope,
  };
}
