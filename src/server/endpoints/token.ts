import type { OAuthStore } from '../../oauth/oauth-store.js';
import type { TokenResult } from '../../oauth/types.js';
import { authMethods, authSigningAlgs, authenticate, storeCredentials, type PresentedClient } from '../http/client-auth.js';
import { requestClient } from '../http/request-client.js';
import { OAuthHttpError } from '../http/errors.js';
import { Params } from '../http/params.js';
import { json } from '../http/responses.js';
import { checkResources } from '../resources.js';
import { tokenRequestProof } from '../dpop/token-request.js';
import { formatAccessToken } from '../tokens/token-format.js';
import type { ServerConfig } from '../config.js';
import { endpointUrl, type Endpoint, type RequestContext } from './endpoint.js';
import { deviceCodeGrant } from './token-device-code.js';

/**
 * A grant type the token endpoint accepts: how its form parameters become a
 * token request of the store. One entry per grant type in {@link TOKEN_GRANTS};
 * the store's grant handler does the rest (client authentication, the
 * client's permission for the grant type, issuing).
 */
export interface TokenGrant {
  readonly type: string;
  /** Whether this server offers it (default: always). */
  enabled?(config: ServerConfig): boolean;
  issue(ctx: RequestContext, store: OAuthStore, client: PresentedClient, params: Params): Promise<TokenResult>;
}

function scopeParam(ctx: RequestContext, params: Params): string[] | undefined {
  const scope = params.list('scope');
  const { scopes } = ctx.config;
  if (scope !== undefined && scopes !== undefined && scope.some((item) => !scopes.includes(item))) {
    throw new OAuthHttpError('invalid_scope', 'the scope names a value that scopes_supported does not');
  }
  return scope;
}

function resourcesParam(ctx: RequestContext, params: Params): string[] | undefined {
  const resources = checkResources(ctx, params.all('resource'));
  return resources.length > 0 ? resources : undefined;
}

const authorizationCode: TokenGrant = {
  type: 'authorization_code',
  issue(ctx, store, client, params) {
    const redirectUri = params.get('redirect_uri');
    const codeVerifier = params.get('code_verifier');
    const resources = resourcesParam(ctx, params);
    return store.exchangeAuthorizationCode({
      ...storeCredentials(client),
      code: params.require('code'),
      // Required by the store unless the authorization request left it out (RFC 6749 §4.1.3).
      ...(redirectUri !== undefined && { redirectUri }),
      ...(codeVerifier !== undefined && { codeVerifier }),
      ...(resources && { resources }),
    });
  },
};

const refreshToken: TokenGrant = {
  type: 'refresh_token',
  issue(ctx, store, client, params) {
    const scope = scopeParam(ctx, params);
    const resources = resourcesParam(ctx, params);
    return store.refreshAccessToken({ ...storeCredentials(client), refreshToken: params.require('refresh_token'), ...(scope && { scope }), ...(resources && { resources }) });
  },
};

/** RFC 6749 §4.4: the client acts for itself; the `onGrant` hook may veto it or narrow its scope. */
const clientCredentials: TokenGrant = {
  type: 'client_credentials',
  async issue(ctx, store, client, params) {
    let scope = scopeParam(ctx, params);
    const resources = resourcesParam(ctx, params);
    const hook = ctx.config.hooks.onGrant;
    if (hook) {
      const info = await authenticate(store, client);
      const shaped = await hook(
        { grantType: 'client_credentials', client: info, userId: info.clientId, scope: scope ?? info.scope, resources: resources ?? [] },
        ctx.env,
      );
      if (shaped === false) throw new OAuthHttpError('unauthorized_client', 'the server refused this grant');
      if (shaped && shaped.scope !== undefined) scope = shaped.scope;
    }
    return store.issueClientCredentials({ ...storeCredentials(client), ...(scope && { scope }), ...(resources && { resources }) });
  },
};

/** The grant types of the token endpoint, registered in one place (device code, token exchange: one entry each). */
export const TOKEN_GRANTS: readonly TokenGrant[] = [authorizationCode, refreshToken, clientCredentials, deviceCodeGrant];

/** The grant types this server offers: `grant_types_supported`, and what /register accepts. */
export const enabledGrants = (config: ServerConfig): TokenGrant[] => TOKEN_GRANTS.filter((grant) => grant.enabled?.(config) ?? true);

function tokenResponse(result: TokenResult, headers: Record<string, string>): Response {
  return json({
    access_token: result.accessToken,
    token_type: result.tokenType,
    expires_in: result.expiresIn,
    ...(result.refreshToken !== undefined && { refresh_token: result.refreshToken }),
    scope: result.scope.join(' '),
  }, 200, headers);
}

/** POST /token (RFC 6749 §3.2): client authentication by Basic, by form, or none (public clients). */
async function token(ctx: RequestContext): Promise<Response> {
  const params = await Params.fromForm(ctx.request, ctx.config.maxBodyBytes, ['resource']);
  const client = await requestClient(ctx, params);
  const type = params.require('grant_type');
  const offered = enabledGrants(ctx.config);
  const grant = offered.find((candidate) => candidate.type === type);
  if (!grant) throw new OAuthHttpError('unsupported_grant_type', `grant_type must be one of ${offered.map((g) => g.type).join(', ')}`);
  ctx.event.grantType = grant.type;
  const store = await ctx.store();
  // RFC 9449: a valid DPoP proof binds the tokens (through the store's dpopJkt) to its key.
  const proof = await tokenRequestProof(ctx, store);
  const result = await grant.issue(ctx, store, proof.jkt === undefined ? client : { ...client, dpopJkt: proof.jkt }, params);
  return tokenResponse(await formatAccessToken(ctx, store, result, proof.jkt), proof.headers);
}

export const tokenEndpoint: Endpoint = {
  name: 'token',
  paths: (config) => [config.paths.token],
  methods: ['POST'],
  cors: true,
  handle: token,
  metadata: (config, issuer) => ({
    token_endpoint: endpointUrl(issuer, config.paths.token),
    grant_types_supported: enabledGrants(config).map((grant) => grant.type),
    token_endpoint_auth_methods_supported: authMethods(config),
    ...authSigningAlgs(config, 'token_endpoint'),
    ...(config.dpop && { dpop_signing_alg_values_supported: [...config.dpop.settings.algorithms] }),
  }),
};
