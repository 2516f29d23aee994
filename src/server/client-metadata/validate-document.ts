import { DocumentError } from './fetch-document.js';

/** What the server takes from a Client ID Metadata Document. */
export interface DocumentClient {
  /** `private_key_jwt` (when the server accepts client assertions): the document's keys, or where they are. */
  keys?: { jwks: { keys: Record<string, unknown>[] } } | { jwksUri: string };
  name?: string;
  redirectUris: string[];
  grantTypes: ('authorization_code' | 'refresh_token')[];
  scope?: string[];
}

const isStringArray = (value: unknown): value is string[] => Array.isArray(value) && value.every((item) => typeof item === 'string');

/**
 * Checks a document against its URL (draft-ietf-oauth-client-id-metadata-document
 * §4): a JSON object whose `client_id` is exactly the URL, with redirect
 * URIs, and no shared secret. A public client (`token_endpoint_auth_method:
 * none`), or, when the server accepts client assertions (`keys`), a
 * `private_key_jwt` client with its `jwks` or `jwks_uri` (the store checks
 * them: public keys, https). The redirect URIs' own rules (https, or http
 * on loopback) are the store's.
 *
 * @throws DocumentError naming what was wrong.
 */
export function validateDocument(url: string, body: unknown, keys = false): DocumentClient {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new DocumentError('it is not a JSON object');
  const document = body as Record<string, unknown>;
  if (document.client_id !== url) throw new DocumentError('its client_id is not exactly the URL it was fetched from');
  if (!isStringArray(document.redirect_uris) || document.redirect_uris.length === 0) {
    throw new DocumentError('its redirect_uris is missing or not a list of URIs');
  }
  if ('client_secret' in document || 'client_secret_expires_at' in document) throw new DocumentError('it contains a client secret');
  const method = document.token_endpoint_auth_method;
  const offered = document.token_endpoint_auth_methods_supported;
  if (offered !== undefined && !isStringArray(offered)) throw new DocumentError('its token_endpoint_auth_methods_supported is not a list');
  const methods = offered ?? (method === undefined ? ['none'] : [method]);
  const keyed = keys && (method === 'private_key_jwt' || (method === undefined && methods.includes('private_key_jwt') && !methods.includes('none')));
  if (!keyed && !methods.includes('none')) {
    throw new DocumentError(`it asks for a client authentication method other than ${keys ? '"none" or "private_key_jwt"' : '"none" (only public clients are supported)'}`);
  }
  let clientKeys: DocumentClient['keys'];
  if (keyed) {
    const { jwks, jwks_uri: jwksUri } = document;
    if ((jwks === undefined) === (jwksUri === undefined)) throw new DocumentError('it uses private_key_jwt but has not exactly one of jwks and jwks_uri');
    if (jwksUri !== undefined && typeof jwksUri !== 'string') throw new DocumentError('its jwks_uri is not a string');
    clientKeys = jwks !== undefined ? { jwks: jwks as { keys: Record<string, unknown>[] } } : { jwksUri: jwksUri as string };
  }
  const grantTypes = document.grant_types ?? ['authorization_code', 'refresh_token'];
  if (!isStringArray(grantTypes) || !grantTypes.includes('authorization_code')) {
    throw new DocumentError('its grant_types does not include authorization_code');
  }
  const responseTypes = document.response_types ?? ['code'];
  if (!isStringArray(responseTypes) || !responseTypes.includes('code')) throw new DocumentError('its response_types does not include code');
  if (document.client_name !== undefined && (typeof document.client_name !== 'string' || document.client_name.length > 256)) {
    throw new DocumentError('its client_name is not a string of at most 256 characters');
  }
  if (document.scope !== undefined && typeof document.scope !== 'string') throw new DocumentError('its scope is not a string');
  const scope = typeof document.scope === 'string' ? document.scope.split(' ').filter(Boolean) : undefined;
  return {
    ...(clientKeys && { keys: clientKeys }),
    ...(typeof document.client_name === 'string' && document.client_name.trim() !== '' && { name: document.client_name.trim() }),
    redirectUris: [...new Set(document.redirect_uris)],
    grantTypes: grantTypes.includes('refresh_token') ? ['authorization_code', 'refresh_token'] : ['authorization_code'],
    ...(scope !== undefined && scope.length > 0 && { scope }),
  };
}
