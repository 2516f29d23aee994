import { InvalidClientError, InvalidRequestError, UnauthorizedClientError } from '../errors.js';
import { requireBoolean } from '../util/validate.js';
import { readClient } from './clients.js';
import type { StoreContext } from './context.js';
import { allowedResources, allowedScope } from './grants/tools.js';
import { optionalPkceChallenge, optionalPkceMethod, optionalResources, optionalScope, requireId, requireRedirectUri } from './input.js';
import type { ClientInfo, PkceMethod } from './types.js';

/** An authorization request after its checks: what a session keeps and a code is bound to. */
export interface AuthorizationRequest {
  clientId: string;
  client: ClientInfo;
  redirectUri: string;
  redirectUriExplicit?: false;
  scope: string[];
  codeChallenge?: string;
  codeChallengeMethod?: PkceMethod;
  resources?: string[];
}

/**
 * Checks what an authorization request names, shared by sessions and codes:
 * the client (which must exist and may use the code grant), the exact
 * redirect URI, scope within the client's, resources the store serves and
 * the client may use, PKCE (required for public clients, and for all with
 * `requirePkce`).
 */
export async function checkAuthorizationRequest(ctx: StoreContext, p: Record<string, unknown>): Promise<AuthorizationRequest> {
  const clientId = requireId('clientId', p.clientId);
  const redirectUri = requireRedirectUri('redirectUri', p.redirectUri);
  const explicit = p.redirectUriExplicit === undefined ? true : requireBoolean('redirectUriExplicit', p.redirectUriExplicit);
  const requestedScope = optionalScope('scope', p.scope) ?? [];
  const codeChallenge = optionalPkceChallenge('codeChallenge', p.codeChallenge);
  const method = optionalPkceMethod('codeChallengeMethod', p.codeChallengeMethod, ctx.policy.allowPlainPkce);
  if (method !== undefined && codeChallenge === undefined) throw new InvalidRequestError('codeChallenge', 'is required with codeChallengeMethod');
  const requestedResources = optionalResources('resources', p.resources);
  const record = await readClient(ctx, clientId);
  if (!record) throw new InvalidClientError('unknown client');
  const client: ClientInfo = { clientId, ...record.data };
  if (!client.grantTypes.includes('authorization_code')) throw new UnauthorizedClientError('client may not use the authorization_code grant');
  if (!client.redirectUris.includes(redirectUri)) throw new InvalidRequestError('redirectUri', 'is not registered for this client');
  // RFC 6749 §3.1.2.3: the request may leave redirect_uri out only when exactly one is registered.
  if (!explicit && client.redirectUris.length !== 1) {
    throw new InvalidRequestError('redirectUriExplicit', 'may be false only for a client with exactly one registered redirect URI');
  }
  // An empty request scope stays empty (the app decides what it means); a listed one must be the client's.
  const scope = allowedScope(client, requestedScope);
  const resources = allowedResources(ctx, client, requestedResources);
  if (codeChallenge === undefined && (client.type === 'public' || ctx.policy.requirePkce)) {
    throw new InvalidRequestError('codeChallenge', 'is required (PKCE)');
  }
  return {
    clientId,
    client,
    redirectUri,
    ...(!explicit && { redirectUriExplicit: false as const }),
    scope,
    ...(codeChallenge !== undefined && { codeChallenge, codeChallengeMethod: method ?? 'S256' }),
    ...(resources.length > 0 && { resources }),
  };
}
