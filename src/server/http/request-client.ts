import type { RequestContext } from '../endpoints/endpoint.js';
import type { Params } from './params.js';
import { presentedClient, type PresentedClient } from './client-auth.js';

/**
 * The client a request to a client-authenticating endpoint (token, PAR,
 * device authorization, revocation, introspection) presents: a secret by
 * Basic or form, a bare `client_id` (public clients), or a signed
 * `client_assertion` when `private_key_jwt` is on. What it presents is
 * checked by the store (secrets) or here (assertions) before anything else
 * happens.
 */
export async function requestClient(ctx: RequestContext, params: Params): Promise<PresentedClient> {
  const client = presentedClient(ctx.request, params);
  ctx.event.clientId = client.clientId;
  return client;
}
