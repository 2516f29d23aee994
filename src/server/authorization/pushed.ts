import { InvalidGrantError, InvalidRequestError } from '../../errors.js';
import type { OAuthStore } from '../../oauth/oauth-store.js';
import type { ClientInfo, PushedAuthorizationRequest } from '../../oauth/types.js';
import { serverRegistration } from '../client-registration.js';
import type { ServerConfig } from '../config.js';

/**
 * Whether `client` must push its authorization requests (RFC 9126 §5):
 * server-wide (`pushedAuthorizationRequests.required`), or for this client —
 * registered at /register with `require_pushed_authorization_requests`, or
 * registered by the app with `metadata: { requirePushedAuthorizationRequests: true }`.
 */
export function requiresPushedRequests(config: ServerConfig, client: ClientInfo): boolean {
  if (!config.pushedRequests) return false;
  if (config.pushedRequests.required) return true;
  if (serverRegistration(client)?.requirePushedAuthorizationRequests === true) return true;
  const metadata = client.metadata as { requirePushedAuthorizationRequests?: unknown } | undefined;
  return typeof metadata === 'object' && metadata !== null && metadata.requirePushedAuthorizationRequests === true;
}

/**
 * The pushed request behind `requestUri`, taken once for `client`; null when
 * it is unknown, expired, already used, or another client's (one answer for
 * all: no oracle).
 */
export async function takePushed(store: OAuthStore, requestUri: string, client: ClientInfo): Promise<PushedAuthorizationRequest | null> {
  try {
    return await store.takePushedAuthorizationRequest(requestUri, client.clientId);
  } catch (error) {
    if (error instanceof InvalidGrantError || error instanceof InvalidRequestError) return null;
    throw error;
  }
}
