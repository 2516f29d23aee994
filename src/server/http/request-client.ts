import type { ClientInfo } from '../../oauth/types.js';
import { findClient } from '../client-lookup.js';
import { DocumentError } from '../client-metadata/fetch-document.js';
import { endpointUrl, type RequestContext } from '../endpoints/endpoint.js';
import { presentedClient, type PresentedClient } from './client-auth.js';
import { JWT_BEARER_ASSERTION, assertedClientId, verifyClientAssertion } from './client-assertion.js';
import { OAuthHttpError, invalidClient } from './errors.js';
import type { Params } from './params.js';

const CLIENT_ID = /^[\x21-\x7E]{1,256}$/;

/**
 * The client a request to a client-authenticating endpoint (token, PAR,
 * device authorization, revocation, introspection) presents: a secret by
 * Basic or form, a bare `client_id` (public clients), or, when client
 * assertions are on, a `client_assertion` (RFC 7523 `private_key_jwt`),
 * verified here before anything else happens. Secrets are checked by the store.
 */
export async function requestClient(ctx: RequestContext, params: Params): Promise<PresentedClient> {
  const assertion = params.get('client_assertion');
  const assertionType = params.get('client_assertion_type');
  if (assertion === undefined && assertionType === undefined) {
    const client = presentedClient(ctx.request, params);
    ctx.event.clientId = client.clientId;
    return client;
  }
  const options = ctx.config.clientAssertions;
  if (!options || assertion === undefined || assertionType !== JWT_BEARER_ASSERTION) throw invalidClient();
  if (ctx.request.headers.has('Authorization') || params.get('client_secret') !== undefined) {
    throw new OAuthHttpError('invalid_request', 'use one client authentication method');
  }
  const asserted = assertedClientId(assertion);
  const clientId = params.get('client_id') ?? asserted;
  // RFC 7521 §4.2: a client_id sent along must be the assertion's subject.
  if (clientId !== asserted || !CLIENT_ID.test(clientId)) throw invalidClient();
  ctx.event.clientId = clientId;
  const store = await ctx.store();
  let client: ClientInfo | null;
  try {
    // A metadata document client's keys are its document's (fetched, or from the cache).
    client = await findClient(ctx.config, store, clientId, null, ctx.env);
  } catch (error) {
    if (error instanceof DocumentError) throw invalidClient();
    throw error;
  }
  if (!client || (client.jwks === undefined && client.jwksUri === undefined)) throw invalidClient();
  const called = `${ctx.url.origin}${ctx.url.pathname}`;
  await verifyClientAssertion(options, store, client, {
    assertion,
    audiences: [...new Set([ctx.issuer, endpointUrl(ctx.issuer, ctx.config.paths.token), called])],
    now: ctx.config.now(),
    env: ctx.env,
  });
  return { clientId, method: 'private_key_jwt', clientAssertionVerified: true };
}
