import { InvalidRequestError } from '../../errors.js';
import type { OAuthStore } from '../../oauth/oauth-store.js';
import type { ClientInfo, RegisterClientParams } from '../../oauth/types.js';
import { registrationMetadata, serverRegistration } from '../client-registration.js';
import type { ResolvedDocuments } from '../config.js';
import { documentUrlProblem } from './document-url.js';
import { DocumentError, fetchDocument } from './fetch-document.js';
import { validateDocument } from './validate-document.js';

/**
 * The client a Client ID Metadata Document URL names. The document is kept
 * as an ordinary client of the store under the URL itself as its id (sealed
 * like every client, with its refresh time in the client's metadata), so
 * sessions, codes, tokens, revocation and validation need nothing special;
 * it is fetched again once stale. A document that cannot be used, or that
 * does not list the request's `redirectUri`, leaves the store as it was:
 * nothing is registered, a cached copy is not changed.
 *
 * @throws DocumentError naming what was wrong with the URL or the document.
 */
export async function resolveDocumentClient(
  store: OAuthStore,
  options: ResolvedDocuments,
  url: string,
  now: number,
  redirectUri: string | undefined | null,
  env: unknown,
  keys = false,
): Promise<ClientInfo> {
  const problem = documentUrlProblem(url);
  if (problem !== null) throw new DocumentError(`the client_id is not a usable metadata document URL: ${problem}`);
  if (!options.allow(new URL(url))) throw new DocumentError('this server does not accept clients from that URL');
  const existing = await store.getClient(url);
  const registration = existing ? serverRegistration(existing) : undefined;
  // A client you registered yourself under that id is used as you registered it.
  if (existing && registration?.via !== 'metadata-document') return existing;
  if (existing && (registration?.refreshAt ?? 0) > now) return existing;

  const { body, ttlMs } = await fetchDocument(url, options, env);
  const document = validateDocument(url, body, keys);
  // Checked before anything is stored: a request the document does not allow leaves no trace (null: client authentication, no redirect).
  if (redirectUri !== null && (redirectUri === undefined ? document.redirectUris.length !== 1 : !document.redirectUris.includes(redirectUri))) {
    throw new DocumentError('the redirect_uri is missing or not one of its redirect_uris');
  }
  const params = {
    ...(document.name !== undefined && { name: document.name }),
    redirectUris: document.redirectUris,
    grantTypes: document.grantTypes,
    scope: document.scope ?? [],
    ...document.keys,
    metadata: registrationMetadata({ via: 'metadata-document', tokenEndpointAuthMethod: document.keys ? 'private_key_jwt' : 'none', refreshAt: now + ttlMs }),
  } satisfies Partial<RegisterClientParams>;
  try {
    if (existing) {
      // A document that switched between public and private_key_jwt is a different client.
      if ((existing.type === 'confidential') !== (document.keys !== undefined)) throw new DocumentError('it changed its client authentication method');
      return (await store.updateClient(url, params)).client;
    }
    return (await store.registerClient({ clientId: url, type: document.keys ? 'confidential' : 'public', ...params })).client;
  } catch (error) {
    if (!(error instanceof InvalidRequestError)) throw error;
    // Registered by a concurrent request meanwhile: that copy is as good as ours.
    if (error.field === 'clientId') {
      const raced = await store.getClient(url);
      if (raced) return raced;
    }
    if (error.field.startsWith('redirectUris')) {
      throw new DocumentError('its redirect_uris has one this server does not accept (https, or http on a loopback host, without fragment)');
    }
    if (error.field.startsWith('scope')) throw new DocumentError('its scope is not a list of valid scope tokens');
    throw new DocumentError(`its ${error.field} is not acceptable`);
  }
}
