import type { ClientInfo } from '../../oauth/types.js';
import { findClient } from '../client-lookup.js';
import { DocumentError } from '../client-metadata/fetch-document.js';
import { authenticate } from '../http/client-auth.js';
import { OAuthHttpError, invalidClient } from '../http/errors.js';
import { Params } from '../http/params.js';
import { requestClient } from '../http/request-client.js';
import { json } from '../http/responses.js';
import { checkResources } from '../resources.js';
import { endpointUrl, type Endpoint, type RequestContext } from './endpoint.js';

const STATE = /^[\x20-\x7E]{1,2048}$/;

/**
 * POST /par (RFC 9126): the client authenticates as at the token endpoint
 * and sends its authorization request in the body; the request is checked
 * now (client, redirect URI, PKCE S256, scope, resources) and kept sealed,
 * and the client gets a `request_uri` that /authorize takes once, within
 * `lifetimeSeconds`. Errors are JSON here, never redirects.
 */
async function par(ctx: RequestContext): Promise<Response> {
  const options = ctx.config.pushedRequests!;
  const params = await Params.fromForm(ctx.request, ctx.config.maxBodyBytes, ['resource']);
  const presented = await requestClient(ctx, params);
  // §2.1: a pushed request cannot itself point at one; request objects (JAR) are not supported.
  if (params.get('request_uri') !== undefined) throw new OAuthHttpError('invalid_request', 'request_uri must not be sent to the pushed authorization request endpoint');
  if (params.get('request') !== undefined) throw new OAuthHttpError('request_not_supported', 'request objects are not supported');

  const store = await ctx.store();
  const redirectUri = params.get('redirect_uri');
  let client: ClientInfo | null;
  try {
    // A metadata document client is fetched (and kept) here, exactly as at /authorize.
    client = await findClient(ctx.config, store, presented.clientId, redirectUri, ctx.env);
  } catch (error) {
    if (error instanceof DocumentError) throw new OAuthHttpError('invalid_client', `the client's metadata document cannot be used: ${error.reason}`, 401);
    throw error;
  }
  if (!client) throw invalidClient();
  await authenticate(store, presented);

  const responseType = params.require('response_type');
  if (responseType !== 'code') throw new OAuthHttpError('unsupported_response_type', 'response_type must be code');
  const codeChallenge = params.require('code_challenge');
  if ((params.get('code_challenge_method') ?? 'plain') !== 'S256') throw new OAuthHttpError('invalid_request', 'code_challenge_method must be S256');
  const state = params.get('state');
  if (state !== undefined && !STATE.test(state)) throw new OAuthHttpError('invalid_request', 'state must be at most 2,048 printable ASCII characters');
  const scope = params.list('scope') ?? [];
  const { scopes } = ctx.config;
  if (scopes !== undefined && scope.some((item) => !scopes.includes(item))) throw new OAuthHttpError('invalid_scope', 'the scope names a value that scopes_supported does not');
  const resources = checkResources(ctx, params.all('resource'));
  const target = redirectUri ?? (client.redirectUris.length === 1 ? client.redirectUris[0] : undefined);
  if (target === undefined) throw new OAuthHttpError('invalid_request', 'redirect_uri is required (the client has several)');

  const pushed = await store.pushAuthorizationRequest({
    clientId: client.clientId,
    redirectUri: target,
    ...(redirectUri === undefined && { redirectUriExplicit: false }),
    scope,
    codeChallenge,
    codeChallengeMethod: 'S256',
    ...(state !== undefined && { state }),
    ...(resources.length > 0 && { resources }),
    ttlSeconds: options.lifetimeSeconds,
  });
  return json({ request_uri: pushed.requestUri, expires_in: pushed.expiresIn }, 201);
}

export const parEndpoint: Endpoint = {
  name: 'par',
  paths: (config) => (config.pushedRequests ? [config.pushedRequests.path] : []),
  methods: ['POST'],
  cors: true,
  handle: par,
  metadata: (config, issuer) =>
    config.pushedRequests
      ? {
          pushed_authorization_request_endpoint: endpointUrl(issuer, config.pushedRequests.path),
          require_pushed_authorization_requests: config.pushedRequests.required,
        }
      : {},
};
