import { InvalidRequestError } from '../../errors.js';
import type { OAuthStore } from '../../oauth/oauth-store.js';
import type { ClientInfo, CreateSessionParams } from '../../oauth/types.js';
import { approveAtOnce } from '../authorization/auto-approve.js';
import { describeRequest, toPending } from '../authorization/pending.js';
import { requiresPushedRequests, takePushed } from '../authorization/pushed.js';
import { findClient } from '../client-lookup.js';
import { DocumentError } from '../client-metadata/fetch-document.js';
import { toOAuthError } from '../http/errors.js';
import { Params } from '../http/params.js';
import { defaultErrorPage, redirect } from '../http/responses.js';
import { checkResources } from '../resources.js';
import { endpointUrl, type Endpoint, type RequestContext } from './endpoint.js';

/**
 * RFC 6749 Appendix A.5: state is 1*VSCHAR. The length cap is the store's
 * (sessions keep at most 2,048 characters) and keeps the redirect's Location
 * header small enough for any client to read.
 */
const STATE = /^[\x20-\x7E]{1,2048}$/;

/** The page for a request that cannot go back to the client (unknown client or redirect URI, bad state). */
function errorPage(ctx: RequestContext, description: string, status = 400): Response {
  ctx.event.outcome ??= status >= 500 ? 'server_error' : 'invalid_request';
  return ctx.config.errorPage?.(description, status, ctx.request) ?? defaultErrorPage(description, status);
}

/**
 * GET /authorize (RFC 6749 §4.1.1, OAuth 2.1): validates the request, keeps
 * it in a single-use session and hands it to the app's sign-in and consent
 * UI (`authorize` option). Until the client and its redirect URI are known
 * to match, errors are shown on a page and never redirected; after that,
 * they go back to the client with `error`, `state` and `iss` (§4.1.2.1,
 * RFC 9207). PKCE with S256 is required; `resource` may repeat (RFC 8707).
 */
async function authorize(ctx: RequestContext): Promise<Response> {
  let params: Params;
  try {
    params = Params.from(ctx.url.searchParams, ['resource']);
  } catch (error) {
    return errorPage(ctx, toOAuthError(error).description);
  }
  const requestUri = params.get('request_uri');
  if (requestUri !== undefined && ctx.config.pushedRequests) return authorizePushed(ctx, params, requestUri);
  const store = await ctx.store();
  const clientId = params.get('client_id');
  let client: ClientInfo | null;
  try {
    client = clientId === undefined ? null : await findClient(ctx.config, store, clientId, params.get('redirect_uri'), ctx.env);
  } catch (error) {
    if (error instanceof DocumentError) {
      ctx.event.outcome = 'invalid_client';
      return errorPage(ctx, `The client's metadata document cannot be used: ${error.reason}.`);
    }
    throw error;
  }
  if (!client) {
    ctx.event.outcome = 'invalid_client';
    return errorPage(ctx, 'Unknown or missing client_id.');
  }
  ctx.event.clientId = client.clientId;
  const requested = params.get('redirect_uri');
  const redirectUri = requested ?? (client.redirectUris.length === 1 ? client.redirectUris[0] : undefined);
  if (redirectUri === undefined || !client.redirectUris.includes(redirectUri)) {
    return errorPage(ctx, 'The redirect_uri is missing or not registered for this client.');
  }
  const state = params.get('state');
  // An invalid state is never sent back: the error stays on this page.
  if (state !== undefined && !STATE.test(state)) {
    return errorPage(ctx, 'The state parameter is invalid: it must be at most 2,048 printable ASCII characters.');
  }
  const fail = (error: string, description: string): Response => {
    ctx.event.outcome = error;
    return redirect(redirectUri, { error, error_description: description, state, iss: ctx.issuer });
  };
  if (requestUri !== undefined) return fail('request_uri_not_supported', 'request_uri is not supported');
  if (requiresPushedRequests(ctx.config, client)) return fail('invalid_request', 'this client must push its authorization requests (RFC 9126)');

  const responseType = params.get('response_type');
  if (responseType === undefined) return fail('invalid_request', 'response_type is required');
  if (responseType !== 'code') return fail('unsupported_response_type', 'response_type must be code');
  const codeChallenge = params.get('code_challenge');
  if (codeChallenge === undefined) return fail('invalid_request', 'code_challenge is required (PKCE)');
  if ((params.get('code_challenge_method') ?? 'plain') !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256');
  const scope = params.list('scope') ?? [];
  const { scopes } = ctx.config;
  if (scopes !== undefined && scope.some((item) => !scopes.includes(item))) return fail('invalid_scope', 'the scope names a value that scopes_supported does not');
  let resources: string[];
  try {
    resources = checkResources(ctx, params.all('resource'));
  } catch (error) {
    const oauth = toOAuthError(error);
    return fail(oauth.error, oauth.description);
  }
  return startSession(ctx, store, client, {
    clientId: client.clientId,
    redirectUri,
    // Left out here (one registered URI): /token may leave it out too (RFC 6749 §4.1.3).
    ...(requested === undefined && { redirectUriExplicit: false }),
    scope,
    codeChallenge,
    codeChallengeMethod: 'S256',
    ...(state !== undefined && { state }),
    ...(resources.length > 0 && { resources }),
  }, fail);
}

/**
 * A checked request (from the URL or pushed): approved at once when the
 * app's `autoApprove` decides without a page, else kept in a single-use
 * session and handed to the app's consent UI.
 */
async function startSession(
  ctx: RequestContext,
  store: OAuthStore,
  client: ClientInfo,
  request: CreateSessionParams,
  fail: (error: string, description: string) => Response,
): Promise<Response> {
  const autoApprove = ctx.config.autoApprove;
  const scope = request.scope ?? [];
  const resources = request.resources ?? [];
  if (autoApprove) {
    const decision = await autoApprove(ctx.request, describeRequest(client, request.redirectUri, scope, resources), ctx.env);
    if (decision) {
      const validated = { redirectUri: request.redirectUri, redirectUriExplicit: request.redirectUriExplicit !== false, scope, resources, codeChallenge: request.codeChallenge!, state: request.state };
      return approveAtOnce(ctx, store, client, validated, decision);
    }
  }
  let session;
  try {
    session = await store.createSession(request);
  } catch (error) {
    const oauth = toOAuthError(error);
    if (oauth.status >= 500) {
      ctx.event.outcome = oauth.error;
      return errorPage(ctx, 'The server could not start the authorization. Try again.', oauth.status);
    }
    return fail(oauth.error, oauth.description);
  }
  return ctx.config.authorize(ctx.request, toPending(session, client), ctx.env, await ctx.app());
}

/**
 * RFC 9126 §4: `request_uri` (with `client_id`) stands for a request the
 * client pushed; it is taken once, and only its parameters count (any
 * others on the URL are ignored). A request_uri that cannot be used is
 * shown on a page: where to redirect is what it would have said.
 */
async function authorizePushed(ctx: RequestContext, params: Params, requestUri: string): Promise<Response> {
  const clientId = params.get('client_id');
  const store = await ctx.store();
  let client: ClientInfo | null = null;
  // The client pushed the request itself, so it is in the store (a metadata document's too, kept at /par).
  if (clientId !== undefined) client = await store.getClient(clientId).catch((error: unknown) => (error instanceof InvalidRequestError ? null : Promise.reject(error)));
  if (!client) {
    ctx.event.outcome = 'invalid_client';
    return errorPage(ctx, 'Unknown or missing client_id.');
  }
  ctx.event.clientId = client.clientId;
  const request = await takePushed(store, requestUri, client);
  if (!request) {
    ctx.event.outcome = 'invalid_request_uri';
    return errorPage(ctx, 'The request_uri is invalid, expired, already used or not this client\'s.');
  }
  const fail = (error: string, description: string): Response => {
    ctx.event.outcome = error;
    return redirect(request.redirectUri, { error, error_description: description, state: request.state, iss: ctx.issuer });
  };
  return startSession(ctx, store, client, request, fail);
}

export const authorizeEndpoint: Endpoint = {
  name: 'authorize',
  paths: (config) => [config.paths.authorize],
  methods: ['GET'],
  otherMethodsToFallback: true,
  cors: false,
  handle: authorize,
  metadata: (config, issuer) => ({
    authorization_endpoint: endpointUrl(issuer, config.paths.authorize),
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    code_challenge_methods_supported: ['S256'],
    authorization_response_iss_parameter_supported: true,
    ...(config.documents && { client_id_metadata_document_supported: true }),
  }),
};
