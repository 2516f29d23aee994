import { InvalidRequestError } from '../errors.js';
import { OAuthStore } from '../oauth/oauth-store.js';
import { optionalInteger, requireObject } from '../util/validate.js';
import { DEFAULT_MAX_BODY_BYTES } from './http/body.js';
import { clientAssertionsOf, deviceAuthorizationOf, pushedRequestsOf, type ResolvedClientAssertions, type ResolvedDeviceAuthorization, type ResolvedPushedRequests } from './flows-config.js';
import { RateLimiter } from './rate-limit.js';
import { endpointPath as path, optionalFunction } from './option-checks.js';
import { dpopOf } from './dpop/options.js';
import type { ServerDpop } from './dpop/dpop.js';
import type { JwtAccessTokens } from './tokens/jwt-access-token.js';
import { jwtAccessTokensOf } from './tokens/options.js';
import type {
  AuthorizationServerOptions,
  ClientIdMetadataDocumentOptions,
  Hooks,
  ProtectedResourceOptions,
  RegistrationOptions,
} from './types.js';

/** The server's options with every default filled in, checked once at construction. */
export interface ServerConfig<Env = unknown, User = unknown> {
  store: AuthorizationServerOptions<Env, User>['store'];
  issuer: string | undefined;
  scopes: readonly string[] | undefined;
  authorize: AuthorizationServerOptions<Env, User>['authorize'];
  autoApprove: AuthorizationServerOptions<Env, User>['autoApprove'];
  protect: readonly ResolvedResource<Env, User>[];
  fallback: AuthorizationServerOptions<Env, User>['fallback'];
  registration: ResolvedRegistration<Env>;
  documents: ResolvedDocuments | null;
  introspection: { resourceServers: readonly string[] } | null;
  pushedRequests: ResolvedPushedRequests | null;
  deviceAuthorization: ResolvedDeviceAuthorization | null;
  clientAssertions: ResolvedClientAssertions | null;
  paths: { authorize: string; token: string; revoke: string; introspect: string; register: string };
  openidConfiguration: boolean;
  maxBodyBytes: number;
  errorPage: AuthorizationServerOptions<Env, User>['errorPage'];
  hooks: Hooks<Env, User>;
  now: () => number;
  /** JWT access tokens, when a protected route asks for them. */
  jwt: JwtAccessTokens | null;
  dpop: ServerDpop | null;
}

export interface ResolvedResource<Env, User> extends ProtectedResourceOptions<Env, User> {
  requireAudience: boolean;
  accessTokenFormat: 'opaque' | 'jwt';
}

export interface ResolvedRegistration<Env> {
  mode: 'open' | 'initial-access-token' | 'off';
  initialAccessToken: RegistrationOptions<Env>['initialAccessToken'];
  redirectUriSchemes: readonly ('https' | 'http')[];
  redirectUriHosts: readonly string[] | undefined;
  publicClients: boolean;
  confidentialClients: boolean;
  unusedClientLifetimeMs: number;
  /** The per-isolate counter of this server, and who a caller is. */
  rateLimit: { limiter: RateLimiter; key: (request: Request) => string } | null;
}

export interface ResolvedDocuments {
  fetch: NonNullable<ClientIdMetadataDocumentOptions<unknown>['fetch']>;
  allow: (url: URL) => boolean;
  maxBytes: number;
  timeoutMs: number;
  cacheMs: number;
  maxCacheMs: number;
}

const DAY = 86_400;
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/;

function stringList(field: string, value: unknown, pattern?: RegExp): string[] {
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || (pattern !== undefined && !pattern.test(item)))) {
    throw new InvalidRequestError(field, 'must be an array of strings');
  }
  return [...value] as string[];
}

function optionalFlag(field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new InvalidRequestError(field, 'must be a boolean');
  return value;
}

function issuerOf(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw new InvalidRequestError('options.issuer', 'must be an absolute URL');
  }
  if (typeof value !== 'string' || url.search !== '' || value.includes('#') || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new InvalidRequestError('options.issuer', 'must be an http(s) URL without query or fragment (RFC 8414 §2)');
  }
  // No trailing slash: endpoint URLs are built by appending paths.
  return value.replace(/\/+$/, '');
}

function registrationOf<Env>(value: unknown): ResolvedRegistration<Env> {
  const options = value === undefined ? {} : requireObject('options.registration', value);
  const mode = options.mode ?? 'open';
  if (mode !== 'open' && mode !== 'initial-access-token' && mode !== 'off') {
    throw new InvalidRequestError('options.registration.mode', 'must be "open", "initial-access-token" or "off"');
  }
  const initialAccessToken = optionalFunction<RegistrationOptions<Env>['initialAccessToken']>('options.registration.initialAccessToken', options.initialAccessToken);
  if (mode === 'initial-access-token' && !initialAccessToken) {
    throw new InvalidRequestError('options.registration.initialAccessToken', 'is required with mode "initial-access-token"');
  }
  const schemes = options.redirectUriSchemes === undefined ? ['https', 'http'] : stringList('options.registration.redirectUriSchemes', options.redirectUriSchemes);
  if (schemes.some((scheme) => scheme !== 'https' && scheme !== 'http')) {
    throw new InvalidRequestError('options.registration.redirectUriSchemes', 'must list "https" and/or "http"');
  }
  let rateLimit: ResolvedRegistration<Env>['rateLimit'] = { limiter: new RateLimiter(20, 3_600_000), key: callerAddress };
  if (options.rateLimit === false) rateLimit = null;
  else if (options.rateLimit !== undefined) {
    const limit = requireObject('options.registration.rateLimit', options.rateLimit);
    const max = optionalInteger('options.registration.rateLimit.max', limit.max, 1, 1_000_000);
    const windowSeconds = optionalInteger('options.registration.rateLimit.windowSeconds', limit.windowSeconds, 1, DAY);
    if (max === undefined || windowSeconds === undefined) throw new InvalidRequestError('options.registration.rateLimit', 'needs max and windowSeconds');
    const key = optionalFunction<(request: Request) => string>('options.registration.rateLimit.key', limit.key) ?? callerAddress;
    rateLimit = { limiter: new RateLimiter(max, windowSeconds * 1000), key };
  }
  return {
    mode,
    initialAccessToken,
    redirectUriSchemes: schemes as ('https' | 'http')[],
    redirectUriHosts: options.redirectUriHosts === undefined ? undefined : stringList('options.registration.redirectUriHosts', options.redirectUriHosts),
    publicClients: optionalFlag('options.registration.publicClients', options.publicClients, true),
    confidentialClients: optionalFlag('options.registration.confidentialClients', options.confidentialClients, true),
    unusedClientLifetimeMs: (optionalInteger('options.registration.unusedClientLifetimeSeconds', options.unusedClientLifetimeSeconds, 0, 3650 * DAY) ?? 7 * DAY) * 1000,
    rateLimit,
  };
}

/** The caller of a request as Cloudflare sees it; one shared bucket where the header is absent. */
function callerAddress(request: Request): string {
  return request.headers.get('CF-Connecting-IP') ?? 'unknown';
}

function documentsOf(value: unknown): ResolvedDocuments | null {
  if (value === undefined || value === false) return null;
  const options = value === true ? {} : requireObject('options.clientIdMetadataDocuments', value);
  const field = (name: string) => `options.clientIdMetadataDocuments.${name}`;
  const maxCacheSeconds = optionalInteger(field('maxCacheSeconds'), options.maxCacheSeconds, 60, 7 * DAY) ?? DAY;
  return {
    fetch: optionalFunction<ResolvedDocuments['fetch']>(field('fetch'), options.fetch) ?? ((url, init) => fetch(url, init)),
    allow: optionalFunction<ResolvedDocuments['allow']>(field('allow'), options.allow) ?? (() => true),
    maxBytes: optionalInteger(field('maxBytes'), options.maxBytes, 256, 1024 * 1024) ?? 5120,
    timeoutMs: optionalInteger(field('timeoutMs'), options.timeoutMs, 100, 60_000) ?? 5000,
    cacheMs: Math.min(optionalInteger(field('cacheSeconds'), options.cacheSeconds, 60, 7 * DAY) ?? 3600, maxCacheSeconds) * 1000,
    maxCacheMs: maxCacheSeconds * 1000,
  };
}

function resourcesOf<Env, User>(value: unknown): ResolvedResource<Env, User>[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new InvalidRequestError('options.protect', 'must be an array');
  const seen = new Set<string>();
  return value.map((item: unknown, index) => {
    const field = `options.protect[${index}]`;
    const options = requireObject(field, item) as unknown as ProtectedResourceOptions<Env, User>;
    const routePath = path(`${field}.path`, options.path, '').replace(/\/+$/, '');
    if (routePath === '' || routePath.startsWith('/.well-known/')) throw new InvalidRequestError(`${field}.path`, 'must be a path other than "/" and /.well-known/');
    if (seen.has(routePath)) throw new InvalidRequestError(`${field}.path`, 'is protected twice');
    seen.add(routePath);
    if (typeof options.handler !== 'function') throw new InvalidRequestError(`${field}.handler`, 'must be a function');
    if (options.resource !== undefined) {
      try {
        new URL(options.resource);
      } catch {
        throw new InvalidRequestError(`${field}.resource`, 'must be an absolute URI');
      }
      if (options.resource.includes('#')) throw new InvalidRequestError(`${field}.resource`, 'must not contain a fragment');
    }
    if (options.scopes !== undefined) stringList(`${field}.scopes`, options.scopes, SCOPE_TOKEN);
    if (options.scopesSupported !== undefined) stringList(`${field}.scopesSupported`, options.scopesSupported, SCOPE_TOKEN);
    const format = options.accessTokenFormat ?? 'opaque';
    if (format !== 'opaque' && format !== 'jwt') throw new InvalidRequestError(`${field}.accessTokenFormat`, 'must be "opaque" or "jwt"');
    return { ...options, path: routePath, requireAudience: optionalFlag(`${field}.requireAudience`, options.requireAudience, true), accessTokenFormat: format };
  });
}

/** Checks the options of `createAuthorizationServer` (each failure names its field) and fills the defaults. */
export function resolveConfig<Env, User>(input: AuthorizationServerOptions<Env, User>): ServerConfig<Env, User> {
  const options = requireObject('options', input);
  if (!(options.store instanceof OAuthStore) && typeof options.store !== 'function') {
    throw new InvalidRequestError('options.store', 'must be an OAuthStore or a function of env returning one');
  }
  if (typeof options.authorize !== 'function') throw new InvalidRequestError('options.authorize', 'must be a function (your sign-in and consent page)');
  const paths = options.paths === undefined ? {} : requireObject('options.paths', options.paths);
  const hooks = options.hooks === undefined ? {} : requireObject('options.hooks', options.hooks);
  for (const name of ['onGrant', 'user', 'onEvent', 'onError']) optionalFunction(`options.hooks.${name}`, hooks[name]);
  const introspection = options.introspection;
  const now = optionalFunction<() => number>('options.now', options.now) ?? Date.now;
  const protect = resourcesOf<Env, User>(options.protect);
  const documents = documentsOf(options.clientIdMetadataDocuments);
  return {
    store: options.store as ServerConfig<Env, User>['store'],
    issuer: issuerOf(options.issuer),
    scopes: options.scopes === undefined ? undefined : stringList('options.scopes', options.scopes, SCOPE_TOKEN),
    authorize: options.authorize as ServerConfig<Env, User>['authorize'],
    autoApprove: optionalFunction('options.autoApprove', options.autoApprove),
    protect,
    fallback: optionalFunction('options.fallback', options.fallback),
    registration: registrationOf<Env>(options.registration),
    documents,
    introspection:
      introspection === false
        ? null
        : {
            resourceServers:
              introspection === undefined || (introspection as { resourceServers?: unknown }).resourceServers === undefined
                ? []
                : stringList('options.introspection.resourceServers', (introspection as { resourceServers?: unknown }).resourceServers),
          },
    pushedRequests: pushedRequestsOf(options.pushedAuthorizationRequests),
    deviceAuthorization: deviceAuthorizationOf(options.deviceAuthorization, callerAddress),
    clientAssertions: clientAssertionsOf(options.clientAssertions, documents),
    paths: {
      authorize: path('options.paths.authorize', paths.authorize, '/authorize'),
      token: path('options.paths.token', paths.token, '/token'),
      revoke: path('options.paths.revoke', paths.revoke, '/revoke'),
      introspect: path('options.paths.introspect', paths.introspect, '/introspect'),
      register: path('options.paths.register', paths.register, '/register'),
    },
    openidConfiguration: optionalFlag('options.openidConfiguration', options.openidConfiguration, false),
    maxBodyBytes: optionalInteger('options.maxBodyBytes', options.maxBodyBytes, 1024, 16 * 1024 * 1024) ?? DEFAULT_MAX_BODY_BYTES,
    errorPage: optionalFunction('options.errorPage', options.errorPage),
    hooks: hooks as Hooks<Env, User>,
    now,
    jwt: jwtAccessTokensOf(options.jwtAccessTokens, protect.some((resource) => resource.accessTokenFormat === 'jwt'), now),
    dpop: dpopOf(options.dpop, now),
  };
}
