import { InvalidRequestError } from '../../errors.js';
import type { ClientJwks } from '../../oauth/client-keys.js';
import type { GrantType, RegisterClientParams } from '../../oauth/types.js';
import { registrationMetadata, type ServerRegistration } from '../client-registration.js';
import { readJson } from '../http/body.js';
import { authMethods } from '../http/client-auth.js';
import { OAuthHttpError } from '../http/errors.js';
import { json } from '../http/responses.js';
import { endpointUrl, type Endpoint, type RequestContext } from './endpoint.js';
import { enabledGrants } from './token.js';

const metadataError = (description: string) => new OAuthHttpError('invalid_client_metadata', description);
const redirectError = (description: string) => new OAuthHttpError('invalid_redirect_uri', description);

/** Who may register at all: the initial access token (RFC 7591 §3), then the caller's rate. */
async function admit(ctx: RequestContext): Promise<void> {
  const policy = ctx.config.registration;
  if (policy.mode === 'initial-access-token') {
    const match = /^Bearer +([\x21-\x7E]{1,4096})$/i.exec(ctx.request.headers.get('Authorization') ?? '');
    if (!match || !(await policy.initialAccessToken!(match[1]!, ctx.env))) {
      // RFC 6750 §3.1: no error code when the request had no token at all.
      throw new OAuthHttpError('invalid_token', 'a valid initial access token is required to register', 401, {
        'WWW-Authenticate': match ? 'Bearer error="invalid_token"' : 'Bearer',
      });
    }
  }
  if (policy.rateLimit) {
    const wait = policy.rateLimit.limiter.take(policy.rateLimit.key(ctx.request), ctx.config.now());
    if (wait !== null) {
      throw new OAuthHttpError('temporarily_unavailable', 'too many registrations from this caller; retry later', 429, { 'Retry-After': String(wait) });
    }
  }
}

/** The registration policy's redirect URI rules; the store's own (https, or http on loopback, no fragment) come after. */
function checkRedirectUris(ctx: RequestContext, value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.some((item) => typeof item !== 'string')) {
    throw redirectError('redirect_uris must be a non-empty array of URIs');
  }
  const { redirectUriSchemes, redirectUriHosts } = ctx.config.registration;
  for (const uri of value as string[]) {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw redirectError('redirect_uris has an entry that is not an absolute URI');
    }
    if (!redirectUriSchemes.includes(url.protocol.slice(0, -1) as 'https' | 'http')) {
      throw redirectError(`redirect_uris may only use ${redirectUriSchemes.join(' or ')}`);
    }
    const host = url.hostname;
    if (redirectUriHosts && !redirectUriHosts.some((allowed) => (allowed.startsWith('*.') ? host.endsWith(allowed.slice(1)) : host === allowed))) {
      throw redirectError('redirect_uris names a host this server does not allow');
    }
  }
  return value as string[];
}

function optionalString(metadata: Record<string, unknown>, name: string): string | undefined {
  const value = metadata[name];
  if (value !== undefined && typeof value !== 'string') throw metadataError(`${name} must be a string`);
  return value;
}

/** A `private_key_jwt` client's keys (RFC 7591 §2): `jwks` or `jwks_uri`, exactly one; the store checks them (public keys only, https). */
function clientKeys(ctx: RequestContext, metadata: Record<string, unknown>): { jwks: ClientJwks } | { jwksUri: string } {
  const { jwks, jwks_uri: jwksUri } = metadata;
  if ((jwks === undefined) === (jwksUri === undefined)) throw metadataError('private_key_jwt needs exactly one of jwks and jwks_uri');
  const alg = metadata.token_endpoint_auth_signing_alg;
  if (alg !== undefined && (typeof alg !== 'string' || !ctx.config.clientAssertions!.algorithms.includes(alg))) {
    throw metadataError(`token_endpoint_auth_signing_alg must be one of ${ctx.config.clientAssertions!.algorithms.join(', ')}`);
  }
  if (jwksUri !== undefined && typeof jwksUri !== 'string') throw metadataError('jwks_uri must be a string');
  return jwks !== undefined ? { jwks: jwks as ClientJwks } : { jwksUri: jwksUri as string };
}

/** POST /register: RFC 7591 dynamic client registration, within the server's registration policy. */
async function register(ctx: RequestContext): Promise<Response> {
  await admit(ctx);
  const body = await readJson(ctx.request, ctx.config.maxBodyBytes);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw metadataError('body must be a JSON object');
  const metadata = body as Record<string, unknown>;
  const policy = ctx.config.registration;

  // RFC 7591 §2: the default method is client_secret_basic.
  const method = metadata.token_endpoint_auth_method ?? 'client_secret_basic';
  if (typeof method !== 'string' || !authMethods(ctx.config).includes(method)) throw metadataError('token_endpoint_auth_method is not supported');
  const keys = method === 'private_key_jwt' ? clientKeys(ctx, metadata) : undefined;
  const type = method === 'none' ? 'public' : 'confidential';
  if (type === 'public' && !policy.publicClients) throw metadataError('this server does not register public clients (token_endpoint_auth_method "none")');
  if (type === 'confidential' && !policy.confidentialClients) throw metadataError('this server registers public clients only (token_endpoint_auth_method "none")');

  const responseTypes = metadata.response_types ?? ['code'];
  if (!Array.isArray(responseTypes) || responseTypes.some((item) => item !== 'code')) throw metadataError('response_types must be ["code"]');
  let grantTypes: GrantType[] | undefined;
  if (metadata.grant_types !== undefined) {
    const known = enabledGrants(ctx.config).map((grant) => grant.type);
    if (!Array.isArray(metadata.grant_types) || metadata.grant_types.length === 0 || metadata.grant_types.some((item) => !known.includes(item as string))) {
      throw metadataError(`grant_types must list only ${known.join(', ')}`);
    }
    grantTypes = [...new Set(metadata.grant_types as string[])];
    if (type === 'public' && grantTypes.includes('client_credentials')) throw metadataError('client_credentials needs a confidential client');
  }
  const scopeText = optionalString(metadata, 'scope');
  const scope = scopeText?.split(' ').filter(Boolean);
  const { scopes } = ctx.config;
  // A client may only ask for what the metadata advertises (RFC 8414 scopes_supported).
  if (scope !== undefined && scopes !== undefined && scope.some((item) => !scopes.includes(item))) {
    throw metadataError('scope lists a value that scopes_supported does not');
  }
  const name = optionalString(metadata, 'client_name');
  const requirePushed = metadata.require_pushed_authorization_requests;
  if (requirePushed !== undefined && typeof requirePushed !== 'boolean') throw metadataError('require_pushed_authorization_requests must be a boolean');
  if (requirePushed === true && !ctx.config.pushedRequests) throw metadataError('require_pushed_authorization_requests needs pushed authorization requests, which this server does not offer');
  const needsRedirect = grantTypes === undefined || grantTypes.includes('authorization_code');
  const redirectUris = needsRedirect || metadata.redirect_uris !== undefined ? checkRedirectUris(ctx, metadata.redirect_uris) : [];

  const params: RegisterClientParams = {
    type,
    redirectUris,
    ...(name !== undefined && { name }),
    ...(grantTypes !== undefined && { grantTypes }),
    ...(scope !== undefined && { scope }),
    ...keys,
    metadata: registrationMetadata({ via: 'dynamic', tokenEndpointAuthMethod: method as ServerRegistration['tokenEndpointAuthMethod'], ...(requirePushed === true && { requirePushedAuthorizationRequests: true }) }),
  };
  const store = await ctx.store();
  let registered;
  try {
    registered = await store.registerClient(params);
  } catch (error) {
    if (!(error instanceof InvalidRequestError)) throw error;
    throw error.field.startsWith('redirectUris') ? redirectError(error.message) : metadataError(error.message);
  }
  const { client, clientSecret } = registered;
  ctx.event.clientId = client.clientId;
  return json(
    {
      client_id: client.clientId,
      ...(clientSecret !== undefined && { client_secret: clientSecret, client_secret_expires_at: 0 }),
      client_id_issued_at: Math.floor(client.createdAt / 1000),
      ...(client.name !== undefined && { client_name: client.name }),
      redirect_uris: client.redirectUris,
      grant_types: client.grantTypes,
      response_types: ['code'],
      token_endpoint_auth_method: method,
      ...(client.jwks !== undefined && { jwks: client.jwks }),
      ...(client.jwksUri !== undefined && { jwks_uri: client.jwksUri }),
      ...(client.scope.length > 0 && { scope: client.scope.join(' ') }),
      ...(requirePushed === true && { require_pushed_authorization_requests: true }),
    },
    201,
  );
}

export const registerEndpoint: Endpoint = {
  name: 'register',
  paths: (config) => (config.registration.mode === 'off' ? [] : [config.paths.register]),
  methods: ['POST'],
  cors: true,
  handle: register,
  metadata: (config, issuer) => (config.registration.mode === 'off' ? {} : { registration_endpoint: endpointUrl(issuer, config.paths.register) }),
};
