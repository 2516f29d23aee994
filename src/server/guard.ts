import { InvalidRequestError } from '../errors.js';
import type { OAuthStore } from '../oauth/oauth-store.js';
import type { AccessTokenInfo } from '../oauth/types.js';
import type { ResolvedResource } from './config.js';
import { json } from './http/responses.js';
import { resourceIdentifier, resourceMetadataUrl } from './resources.js';
import type { AuthContext } from './types.js';

// RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

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
}

/** A challenge parameter value: quoted-string (RFC 9110 §5.6.4), with what cannot be quoted dropped. */
const quote = (value: string): string => `"${value.replace(/["\\\x00-\x1f\x7f]/g, '')}"`;

/**
 * The RFC 6750 §3 challenge: `Bearer` with `error` (none when the request
 * had no token), `scope`, and the RFC 9728 `resource_metadata` URL that
 * tells an MCP client where to start.
 */
export function challenge(params: { error?: string; description?: string; scope?: readonly string[]; metadataUrl: string }): string {
  const parts: string[] = [];
  if (params.error !== undefined) parts.push(`error=${quote(params.error)}`);
  if (params.description !== undefined) parts.push(`error_description=${quote(params.description)}`);
  if (params.scope !== undefined && params.scope.length > 0) parts.push(`scope=${quote(params.scope.join(' '))}`);
  parts.push(`resource_metadata=${quote(params.metadataUrl)}`);
  return `Bearer ${parts.join(', ')}`;
}

function refuse(status: 401 | 403, header: string, error?: string, description?: string): Refusal {
  const headers = { 'WWW-Authenticate': header };
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
  const header = request.headers.get('Authorization');
  // No Authorization, another scheme, or "Bearer" with nothing after it: no token at all.
  if (header === null || !/^Bearer +\S/i.test(header.trim())) {
    return refuse(401, challenge({ ...(advertised && { scope: advertised }), metadataUrl }));
  }
  const invalid = () =>
    refuse(401, challenge({ error: 'invalid_token', description: 'the access token is invalid, expired or revoked', ...(advertised && { scope: advertised }), metadataUrl }), 'invalid_token', 'the access token is invalid, expired or revoked');
  const match = BEARER.exec(header.trim());
  if (!match) return invalid();
  let info;
  try {
    info = await store.validateAccessToken(match[1]!, { resource: identifier });
  } catch (error) {
    if (error instanceof InvalidRequestError) return invalid();
    throw error;
  }
  if (!info || (resource.requireAudience && !(info.resources ?? []).includes(identifier))) return invalid();
  let user: unknown;
  if (setting.user) {
    user = await setting.user(info);
    if (user === null) return invalid();
  }
  const insufficientScope = (scopes: readonly string[]): Response =>
    refuse(403, challenge({ error: 'insufficient_scope', description: 'the access token lacks a scope this request needs', scope: scopes, metadataUrl }), 'insufficient_scope', 'the access token lacks a scope this request needs').response;
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
