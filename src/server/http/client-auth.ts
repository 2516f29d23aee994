import type { OAuthStore } from '../../oauth/oauth-store.js';
import type { ClientInfo } from '../../oauth/types.js';
import { OAuthHttpError, invalidClient } from './errors.js';
import type { Params } from './params.js';

/** The client authentication methods the endpoints accept (RFC 6749 §2.3.1, RFC 7591 §2). */
export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none'] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

export interface PresentedClient {
  clientId: string;
  clientSecret?: string;
  method: ClientAuthMethod | 'private_key_jwt';
  /** Set only once a `private_key_jwt` assertion was verified (see `http/client-assertion.ts`). */
  clientAssertionVerified?: true;
  /** RFC 9449: the thumbprint of the key of the request's verified DPoP proof (token endpoint). */
  dpopJkt?: string;
}

/** The methods an endpoint that authenticates clients offers: `private_key_jwt` too when client assertions are on. */
export function authMethods(config: { clientAssertions: unknown }): string[] {
  return config.clientAssertions ? [...CLIENT_AUTH_METHODS, 'private_key_jwt'] : [...CLIENT_AUTH_METHODS];
}

/** `<endpoint>_auth_signing_alg_values_supported` (RFC 8414 §2) when client assertions are on. */
export function authSigningAlgs(config: { clientAssertions: { algorithms: readonly string[] } | null }, endpoint: string): Record<string, string[]> {
  return config.clientAssertions ? { [`${endpoint}_auth_signing_alg_values_supported`]: [...config.clientAssertions.algorithms] } : {};
}

// What any client id of the store looks like (printable ASCII, at most 256
// characters): anything else cannot name a client, so it fails authentication.
const CLIENT_ID = /^[\x21-\x7E]{1,256}$/;

/**
 * Client credentials from HTTP Basic (RFC 6749 §2.3.1: form-encoded id and
 * secret) or from the body; both at once is refused. A public client sends
 * `client_id` alone.
 */
export function presentedClient(request: Request, params: Params): PresentedClient {
  const credentials = fromRequest(request, params);
  if (!CLIENT_ID.test(credentials.clientId)) throw invalidClient();
  return credentials;
}

function fromRequest(request: Request, params: Params): PresentedClient {
  const header = request.headers.get('Authorization');
  const bodyId = params.get('client_id');
  const bodySecret = params.get('client_secret');
  if (header !== null) {
    const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header.trim());
    if (!match) throw invalidClient();
    let decoded: string;
    try {
      decoded = atob(match[1]!);
    } catch {
      throw invalidClient();
    }
    const colon = decoded.indexOf(':');
    if (colon < 0) throw invalidClient();
    if (bodySecret !== undefined) throw new OAuthHttpError('invalid_request', 'use one client authentication method');
    let clientId: string;
    let clientSecret: string;
    try {
      clientId = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
      clientSecret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
    } catch {
      throw invalidClient();
    }
    if (bodyId !== undefined && bodyId !== clientId) throw invalidClient();
    return { clientId, clientSecret, method: 'client_secret_basic' };
  }
  if (bodyId === undefined) throw invalidClient();
  if (bodySecret !== undefined) return { clientId: bodyId, clientSecret: bodySecret, method: 'client_secret_post' };
  return { clientId: bodyId, method: 'none' };
}

/** The store's credentials from a presented client (and the DPoP key its tokens are bound to). */
export function storeCredentials(client: PresentedClient): { clientId: string; clientSecret?: string; clientAssertionVerified?: true; dpopJkt?: string } {
  return {
    clientId: client.clientId,
    ...(client.clientSecret !== undefined && { clientSecret: client.clientSecret }),
    ...(client.clientAssertionVerified && { clientAssertionVerified: true }),
    ...(client.dpopJkt !== undefined && { dpopJkt: client.dpopJkt }),
  };
}

/** The store's `authenticateClient` for a presented client (constant time; every failure `invalid_client`). */
export function authenticate(store: OAuthStore, client: PresentedClient): Promise<ClientInfo> {
  return store.authenticateClient(client.clientId, client.clientSecret, client.clientAssertionVerified ? { clientAssertionVerified: true } : undefined);
}
