import { authMethods, authSigningAlgs, storeCredentials } from '../http/client-auth.js';
import { requestClient } from '../http/request-client.js';
import { Params } from '../http/params.js';
import { looksLikeJwt } from '../tokens/jwt-access-token.js';
import { revokeJwtAccessToken } from '../tokens/revoke-jwt.js';
import { endpointUrl, type Endpoint, type RequestContext } from './endpoint.js';

/**
 * POST /revoke (RFC 7009): 200 for a token the client may revoke, and for
 * an unknown one (§2.2); revoking a refresh token revokes its grant's access
 * tokens too. An unknown client is `invalid_client`, so a client can check
 * that the server still knows it without changing anything.
 */
async function revoke(ctx: RequestContext): Promise<Response> {
  const params = await Params.fromForm(ctx.request, ctx.config.maxBodyBytes);
  const client = await requestClient(ctx, params);
  const hint = params.get('token_type_hint');
  const store = await ctx.store();
  const token = params.require('token');
  if (ctx.config.jwt && looksLikeJwt(token)) await revokeJwtAccessToken(ctx, store, client, token);
  else await store.revokeToken({
    ...storeCredentials(client),
    token,
    // Unknown hints are ignored (§2.1): every type is searched anyway.
    ...((hint === 'access_token' || hint === 'refresh_token') && { tokenTypeHint: hint }),
  });
  // A revoked grant ends its JWT access tokens too: this isolate sees it at once, the others within their cache time.
  ctx.config.jwt?.revocations(store).invalidate();
  return new Response(null, { status: 200, headers: { 'Cache-Control': 'no-store' } });
}

export const revokeEndpoint: Endpoint = {
  name: 'revoke',
  paths: (config) => [config.paths.revoke],
  methods: ['POST'],
  cors: true,
  handle: revoke,
  metadata: (config, issuer) => ({
    revocation_endpoint: endpointUrl(issuer, config.paths.revoke),
    revocation_endpoint_auth_methods_supported: authMethods(config),
    ...authSigningAlgs(config, 'revocation_endpoint'),
  }),
};
