import { InvalidRequestError, type OAuthStore, type RegisterClientParams } from '../../../src/index.js';
import { OAuthHttpError, Params, clientCredentials, invalidClient, json, readJson } from './http.js';
import { SCOPES } from './metadata.js';

/** POST /revoke (RFC 7009): always 200 for a token the client may revoke or that is unknown. */
export async function revoke(request: Request, store: OAuthStore): Promise<Response> {
  const params = await Params.fromForm(request);
  const credentials = clientCredentials(request, params);
  const hint = params.get('token_type_hint');
  await store.revokeToken({
    clientId: credentials.clientId,
    ...(credentials.clientSecret !== undefined && { clientSecret: credentials.clientSecret }),
    token: params.require('token'),
    // Unknown hints are ignored (RFC 7009 §2.1): the server searches all types anyway.
    ...((hint === 'access_token' || hint === 'refresh_token') && { tokenTypeHint: hint }),
  });
  return new Response(null, { status: 200, headers: { 'Cache-Control': 'no-store' } });
}

/**
 * POST /introspect (RFC 7662): confidential clients only, and (the policy this
 * demo chooses, RFC 7662 §4) only for tokens issued to that same client; any
 * other token is answered as inactive, exactly like an unknown one.
 */
export async function introspect(request: Request, store: OAuthStore): Promise<Response> {
  const params = await Params.fromForm(request);
  const credentials = clientCredentials(request, params);
  if (credentials.clientSecret === undefined) throw invalidClient();
  const client = await store.authenticateClient(credentials.clientId, credentials.clientSecret);
  const answer = await store.introspect(params.require('token'));
  return json(answer.active && answer.client_id === client.clientId ? answer : { active: false });
}

const AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post'] as const;

function metadataError(error: unknown): OAuthHttpError {
  if (error instanceof InvalidRequestError) {
    const code = error.field.startsWith('redirectUris') ? 'invalid_redirect_uri' : 'invalid_client_metadata';
    return new OAuthHttpError(code, error.message);
  }
  throw error;
}

/** POST /register (RFC 7591 dynamic client registration, open registration). */
export async function register(request: Request, store: OAuthStore): Promise<Response> {
  const body = await readJson(request);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new OAuthHttpError('invalid_client_metadata', 'body must be a JSON object');
  }
  const metadata = body as Record<string, unknown>;
  const method = metadata.token_endpoint_auth_method ?? 'client_secret_basic';
  if (!AUTH_METHODS.includes(method as (typeof AUTH_METHODS)[number])) {
    throw new OAuthHttpError('invalid_client_metadata', 'token_endpoint_auth_method is not supported');
  }
  const responseTypes = metadata.response_types ?? ['code'];
  if (!Array.isArray(responseTypes) || responseTypes.some((type) => type !== 'code')) {
    throw new OAuthHttpError('invalid_client_metadata', 'response_types must be ["code"]');
  }
  if (metadata.scope !== undefined && typeof metadata.scope !== 'string') {
    throw new OAuthHttpError('invalid_client_metadata', 'scope must be a string');
  }
  const scope = typeof metadata.scope === 'string' ? metadata.scope.split(' ').filter(Boolean) : undefined;
  // A client may only ask for what the metadata advertises (RFC 8414 scopes_supported).
  if (scope?.some((item) => !SCOPES.includes(item))) {
    throw new OAuthHttpError('invalid_client_metadata', 'scope lists a value that scopes_supported does not');
  }
  if (metadata.client_name !== undefined && typeof metadata.client_name !== 'string') {
    throw new OAuthHttpError('invalid_client_metadata', 'client_name must be a string');
  }
  if (!Array.isArray(metadata.redirect_uris)) throw new OAuthHttpError('invalid_redirect_uri', 'redirect_uris must be an array');
  const params: RegisterClientParams = {
    type: method === 'none' ? 'public' : 'confidential',
    redirectUris: metadata.redirect_uris as string[],
    ...(metadata.client_name !== undefined && { name: metadata.client_name as string }),
    ...(metadata.grant_types !== undefined && { grantTypes: metadata.grant_types as RegisterClientParams['grantTypes'] }),
    ...(scope !== undefined && { scope }),
    metadata: { tokenEndpointAuthMethod: method },
  };
  const { client, clientSecret } = await store.registerClient(params).catch((error: unknown) => {
    throw metadataError(error);
  });
  return json(
    {
      client_id: client.clientId,
      ...(clientSecret !== undefined && { client_secret: clientSecret, client_secret_expires_at: 0 }),
      client_id_issued_at: Math.floor(client.createdAt / 1000),
      client_name: client.name,
      redirect_uris: client.redirectUris,
      grant_types: client.grantTypes,
      response_types: ['code'],
      token_endpoint_auth_method: method,
      ...(client.scope.length > 0 && { scope: client.scope.join(' ') }),
    },
    201,
  );
}

/** GET /api/me: a protected resource (RFC 6750 bearer token). */
export async function me(request: Request, store: OAuthStore): Promise<Response> {
  const header = request.headers.get('Authorization') ?? '';
  // RFC 7235: the scheme name is case-insensitive; RFC 6750 §2.1: b64token syntax.
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(header);
  const info = match ? await store.validateAccessToken(match[1]!).catch(() => null) : null;
  if (!info) {
    return json({ error: 'invalid_token', error_description: 'the access token is missing, expired or revoked' }, 401, {
      'WWW-Authenticate': match ? 'Bearer error="invalid_token"' : 'Bearer',
    });
  }
  return json({
    sub: info.userId,
    client_id: info.clientId,
    scope: info.scope.join(' '),
    exp: Math.floor(info.expiresAt / 1000),
    message: `Hello, ${info.userId}! This answer came from a protected API that validated your access token.`,
  });
}
