import { invalidClient } from '../http/errors.js';
import { authSigningAlgs, authenticate } from '../http/client-auth.js';
import { requestClient } from '../http/request-client.js';
import { Params } from '../http/params.js';
import { json } from '../http/responses.js';
import { introspectJwt } from '../tokens/introspect-jwt.js';
import { looksLikeJwt } from '../tokens/jwt-access-token.js';
import { endpointUrl, type Endpoint, type RequestContext } from './endpoint.js';

/**
 * POST /introspect (RFC 7662): for authenticated confidential clients only.
 * A client learns about its own tokens; the `resourceServers` it names may
 * ask about any (RFC 7662 §4: the server decides who may see what). Anything
 * else is `{ active: false }`, exactly like an unknown token.
 */
async function introspect(ctx: RequestContext): Promise<Response> {
  const params = await Params.fromForm(ctx.request, ctx.config.maxBodyBytes);
  const presented = await requestClient(ctx, params);
  if (presented.method === 'none') throw invalidClient();
  const store = await ctx.store();
  const client = await authenticate(store, presented);
  const token = params.require('token');
  const answer = ctx.config.jwt && looksLikeJwt(token) ? await introspectJwt(ctx, store, token) : await store.introspect(token);
  const mayKnow = answer.active && (answer.client_id === client.clientId || ctx.config.introspection!.resourceServers.includes(client.clientId));
  return json(mayKnow ? answer : { active: false });
}

export const introspectEndpoint: Endpoint = {
  name: 'introspect',
  paths: (config) => (config.introspection ? [config.paths.introspect] : []),
  methods: ['POST'],
  // Called by resource servers, not browsers.
  cors: false,
  handle: introspect,
  metadata: (config, issuer) =>
    config.introspection
      ? {
          introspection_endpoint: endpointUrl(issuer, config.paths.introspect),
          introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', ...(config.clientAssertions ? ['private_key_jwt'] : [])],
          ...authSigningAlgs(config, 'introspection_endpoint'),
        }
      : {},
};
