import { InvalidRequestError } from '../errors.js';
import type { OAuthStore } from '../oauth/oauth-store.js';
import type { ClientInfo } from '../oauth/types.js';
import { looksLikeDocumentUrl } from './client-metadata/document-url.js';
import { resolveDocumentClient } from './client-metadata/resolve.js';
import type { ServerConfig } from './config.js';

/**
 * The client a `client_id` of an authorization request names: a Client ID
 * Metadata Document (fetched or from cache) when those are on and the id is
 * an https URL, otherwise the store's client; null when there is none. A
 * document is only registered when it lists `redirectUri` (or, when the
 * request left it out, has exactly one; null: a client authenticating, no
 * redirect URI to check).
 *
 * @throws DocumentError when a metadata document cannot be used.
 */
export async function findClient(
  config: ServerConfig,
  store: OAuthStore,
  clientId: string,
  redirectUri: string | undefined | null,
  env: unknown,
): Promise<ClientInfo | null> {
  if (config.documents && looksLikeDocumentUrl(clientId)) {
    return resolveDocumentClient(store, config.documents, clientId, config.now(), redirectUri, env, config.clientAssertions !== null);
  }
  try {
    return await store.getClient(clientId);
  } catch (error) {
    // An id the store could never have issued (too long, not printable ASCII).
    if (error instanceof InvalidRequestError) return null;
    throw error;
  }
}
