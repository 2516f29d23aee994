import type { OAuthStore } from '../oauth/oauth-store.js';
import type { AccessTokenInfo, CleanupResult, ClientInfo } from '../oauth/types.js';

/**
 * Public types of `oauth-vault/server`: the options of
 * {@link createAuthorizationServer}, what the app's handlers receive, and the
 * events the server reports.
 *
 * @module
 */

/** The part of a Worker's `ExecutionContext` the server uses. */
export interface WaitUntil {
  waitUntil(promise: Promise<unknown>): void;
}

/** A handler of the app: its UI pages, its API, its static assets. */
export type AppHandler<Env> = (request: Request, env: Env, context: ServerContext) => Response | Promise<Response>;

/** A protected route's handler: the request passed the guard, `auth` says who it is for. */
export type ProtectedHandler<Env, User = unknown> = (
  request: Request,
  env: Env,
  auth: AuthContext<User>,
  context: ServerContext,
) => Response | Promise<Response>;

/** What a handler of the app gets besides the request and env: the store, and the authorization helpers. */
export interface ServerContext {
  /** The store this server runs on (built once per env and isolate). */
  store(): Promise<OAuthStore>;
  /** This server's issuer identifier (RFC 8414), e.g. `https://auth.example.com`. */
  readonly issuer: string;
  /** The pending authorization behind a handle, or null when it is unknown, expired or already used. */
  getAuthorization(handle: string): Promise<PendingAuthorization | null>;
  /**
   * Completes a pending authorization: the user `userId` approved `scope`.
   * Single use (of two concurrent completions one wins, the other throws).
   * Answers the redirect back to the client with `code`, `state` and `iss`
   * (RFC 9207), or with `error` when the `onGrant` hook vetoed the grant.
   *
   * @throws InvalidRequestError (field `handle`) when the handle is unknown, expired or already used; (field `scope`) for a scope outside the request's.
   */
  completeAuthorization(handle: string, decision: AuthorizationDecision): Promise<Response>;
  /**
   * Ends a pending authorization without a grant: the redirect back to the
   * client with `error` (default `access_denied`), `state` and `iss`.
   *
   * @throws InvalidRequestError (field `handle`) when the handle is unknown, expired or already used.
   */
  denyAuthorization(handle: string, denial?: AuthorizationDenial): Promise<Response>;
  /** Hands a promise to the runtime to finish after the response (Workers' `waitUntil`), or awaits nothing. */
  waitUntil(promise: Promise<unknown>): void;
  /**
   * The device authorization a user typed the code of (RFC 8628 §3.3), for
   * your approval page; null when the code is unknown or expired. A wrong
   * code counts against the caller (`deviceAuthorization.attemptKey`).
   *
   * @throws InvalidRequestError (field `userCode`) when it cannot be a user code; SlowDownError after too many wrong codes from this caller.
   * @throws InvalidRequestError (field `options.deviceAuthorization`) when the device flow is off.
   */
  getDeviceAuthorization(userCode: string): Promise<PendingDeviceAuthorization | null>;
  /**
   * The user `userId` approves a user code: once (of two concurrent
   * approvals one wins, the other throws). The device's next poll gets the tokens.
   *
   * @throws InvalidRequestError (field `userCode`) when the code is unknown, expired or already decided; (field `scope`) for a scope outside the request's.
   */
  approveDeviceAuthorization(userCode: string, decision: AuthorizationDecision): Promise<void>;
  /** The user refuses a user code: the device's next poll gets `access_denied`. Same errors as approval. */
  denyDeviceAuthorization(userCode: string): Promise<void>;
}

/** What a user code asks for (RFC 8628), as your approval page shows it. */
export interface PendingDeviceAuthorization {
  /** The code as the user should see it (`XXXX-XXXX`). */
  userCode: string;
  client: { clientId: string; name?: string; type: 'public' | 'confidential' };
  scope: string[];
  resources: string[];
  expiresAt: number;
  /** Already approved or denied. */
  decided: boolean;
}

/** An authorization request the library validated: who asks, for what, and where the answer goes. */
export interface AuthorizationRequest {
  client: {
    clientId: string;
    /** Its display name (from registration or its metadata document); may be absent. */
    name?: string;
    type: 'public' | 'confidential';
    /** True when the client id is the URL of a Client ID Metadata Document. */
    metadataDocument: boolean;
  };
  /** Where the user goes back to: one of the client's registered URIs. */
  redirectUri: string;
  /** The scope the client asked for (empty: none named). */
  scope: string[];
  /** The resources (RFC 8707 audiences) the client asked for. */
  resources: string[];
}

/** An authorization request the library validated and keeps in a single-use session until the app decides. */
export interface PendingAuthorization extends AuthorizationRequest {
  /**
   * The session handle: secret (256 random bits), single use, valid about ten
   * minutes. Put it in your consent form (a POST body, not a URL).
   */
  handle: string;
  expiresAt: number;
}

/** The app's answer to a pending authorization. */
export interface AuthorizationDecision {
  /** Your user's id (any string up to 256 characters; stored only sealed or as a lookup id). */
  userId: string;
  /**
   * The scope granted: default the scope requested. Must be within the
   * request's scope; when the request named none, within the server's `scopes`.
   */
  scope?: string[];
  /** App data (JSON, at most 16 KiB), stored sealed, handed to protected routes as `auth.props`. */
  props?: unknown;
}

export interface AuthorizationDenial {
  /** RFC 6749 §4.1.2.1 error code; default `access_denied`. */
  error?: 'access_denied' | 'login_required' | 'consent_required' | 'interaction_required' | 'temporarily_unavailable';
  description?: string;
}

/** Who a request to a protected route is for (the bearer token's grant). */
export interface AuthContext<User = unknown> {
  /** The subject: the user, or for `client_credentials` the client itself. */
  userId: string;
  clientId: string;
  grantType: string;
  grantId: string;
  scope: string[];
  /** The token's audiences (RFC 8707). */
  resources: string[];
  /** The resource identifier of the route that was called. */
  resource: string;
  /** The app data given when the grant was made (`completeAuthorization({ props })`). */
  props: unknown;
  /** Expiry of the access token, epoch ms. */
  expiresAt: number;
  /** What the `user` hook made of `userId` (undefined without the hook). */
  user: User;
  /** Whether the token carries every one of `scopes`. */
  hasScope(...scopes: string[]): boolean;
  /** The 403 `insufficient_scope` answer naming `scopes` (RFC 6750 §3.1), for step-up authorization inside a route. */
  insufficientScope(scopes: string[]): Response;
}

/** A protected API route (a resource server, RFC 6750 / RFC 9728). */
export interface ProtectedResourceOptions<Env, User = unknown> {
  /** Path it serves: the path itself and everything under it (`/mcp` matches `/mcp` and `/mcp/x`). */
  path: string;
  handler: ProtectedHandler<Env, User>;
  /** Its resource identifier (RFC 8707, RFC 9728): default the issuer's origin + `path`. */
  resource?: string;
  /** Scopes every request needs; a token without them gets 403 `insufficient_scope`. Default none. */
  scopes?: string[];
  /** `scopes_supported` in its metadata (RFC 9728); default the server's `scopes`. */
  scopesSupported?: string[];
  /**
   * Whether a token must name this resource as its audience (RFC 8707); default
   * true (what MCP requires). With false, a token issued without `resource` is
   * accepted too (a token for another resource never is).
   */
  requireAudience?: boolean;
  /** `resource_name` in its metadata. */
  name?: string;
  /**
   * `jwt`: access tokens issued for this resource (its only audience) are
   * RFC 9068 JWTs signed with the store's keys, validated here with no
   * storage read per token (see `jwtAccessTokens`); `auth.props` is then
   * undefined (props stay sealed in the grant). Default `opaque`.
   */
  accessTokenFormat?: 'opaque' | 'jwt';
}

/** Who may register clients at /register (RFC 7591). */
export type RegistrationMode = 'open' | 'initial-access-token' | 'off';

export interface RegistrationOptions<Env> {
  /** `open` (default): anyone, within the limits below; `initial-access-token`: a bearer token `initialAccessToken` accepts (RFC 7591 §3); `off`: no endpoint. */
  mode?: RegistrationMode;
  /** Checks an initial access token (constant time: compare with `timingSafeEqual`). Required for `initial-access-token`. */
  initialAccessToken?: (token: string, env: Env) => boolean | Promise<boolean>;
  /** Redirect URI schemes allowed; default `['https', 'http']` (plain `http` only ever for loopback hosts). */
  redirectUriSchemes?: ('https' | 'http')[];
  /** Redirect URI hosts allowed: exact names or `*.example.com`; default any. */
  redirectUriHosts?: string[];
  /** Whether public clients (`token_endpoint_auth_method: none`) may register; default true. */
  publicClients?: boolean;
  /** Whether confidential clients (with a secret) may register; default true. */
  confidentialClients?: boolean;
  /**
   * A registered client that has no active grant this long after its
   * registration is deleted by `maintain()` / `scheduled()`. Default 7 days;
   * 0 keeps them.
   */
  unusedClientLifetimeSeconds?: number;
  /**
   * Registrations per caller in a window, counted per isolate (so a caller
   * spread over many Workers isolates gets more); default 20 per hour. The
   * caller is `key(request)`, default the `CF-Connecting-IP` header. False: no limit.
   */
  rateLimit?: { max: number; windowSeconds: number; key?: (request: Request) => string } | false;
}

/** Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document). */
export interface ClientIdMetadataDocumentOptions<Env = unknown> {
  /**
   * How documents are fetched; default the global `fetch`. Whatever it is,
   * the client id must be a public `https` URL, redirects are not followed,
   * and the size and time limits hold. Tests inject one that serves
   * documents from 127.0.0.1.
   */
  fetch?: (url: string, init: RequestInit, env: Env) => Promise<Response>;
  /** Which document URLs to trust at all; default every public https URL. */
  allow?: (url: URL) => boolean;
  /** Largest document, in bytes; default 5,120. */
  maxBytes?: number;
  /** Time limit for fetching a document (headers and body), in ms; default 5,000. */
  timeoutMs?: number;
  /** How long a document is used before it is fetched again, when it says nothing (`Cache-Control: max-age`); default 3,600 s. */
  cacheSeconds?: number;
  /** The longest a document is used, whatever it says; default 86,400 s (at least 60 s is always used). */
  maxCacheSeconds?: number;
}

export interface IntrospectionOptions {
  /**
   * Client ids (confidential clients, typically resource servers) that may
   * introspect any token. Every other confidential client learns only about
   * its own tokens; anything else is `{ active: false }`.
   */
  resourceServers?: string[];
}

/** What a grant is about to be: the `onGrant` hook may veto or shape it. */
export interface GrantRequest {
  grantType: 'authorization_code' | 'client_credentials' | 'urn:ietf:params:oauth:grant-type:device_code';
  client: ClientInfo;
  /** The user (for `client_credentials`, the client id). */
  userId: string;
  scope: string[];
  resources: string[];
  props?: unknown;
}

/** `false` vetoes the grant; an object replaces its scope and/or props; nothing keeps it as asked. */
export type GrantDecision = void | undefined | false | { scope?: string[]; props?: unknown };

/** What the server reports for every request it answers itself, and for maintenance. */
export interface ServerEvent {
  /** Which endpoint answered. */
  endpoint: EndpointName | 'resource' | 'authorization' | 'maintenance';
  /** `ok`, or the OAuth error code of the answer (`invalid_grant`, `invalid_token`, `access_denied`, ...). */
  outcome: string;
  status: number;
  method: string;
  path: string;
  at: number;
  durationMs: number;
  clientId?: string;
  grantType?: string;
  /** Maintenance: what was removed. */
  cleanup?: MaintenanceResult;
}

export interface Hooks<Env, User> {
  /** Vetoes or shapes a grant before it is made (authorization completion, client credentials, device approval: a veto denies the device). */
  onGrant?: (grant: GrantRequest, env: Env) => GrantDecision | Promise<GrantDecision>;
  /** Maps a token's subject to your user for protected routes; null refuses the token (401), e.g. for a deleted user. */
  user?: (info: AccessTokenInfo, env: Env) => User | null | Promise<User | null>;
  /** Every endpoint outcome (see {@link ServerEvent}); never holds a token, code, secret or user id. Runs after the response (waitUntil). */
  onEvent?: (event: ServerEvent, env: Env) => void | Promise<void>;
  /** Unexpected errors (answered as 500 `server_error`; a failed maintenance run has no request), for your logs. */
  onError?: (error: unknown, request?: Request) => void;
}

/** The endpoints the library answers itself. */
export type EndpointName =
  | 'metadata'
  | 'authorize'
  | 'token'
  | 'revoke'
  | 'introspect'
  | 'register'
  | 'resource_metadata'
  | 'jwks'
  | 'par'
  | 'device_authorization';

/** Options of {@link createAuthorizationServer}. */
export interface AuthorizationServerOptions<Env = unknown, User = unknown> {
  /** The store, or how to build it from the Worker's env (built once per env object and isolate). */
  store: OAuthStore | ((env: Env) => OAuthStore | Promise<OAuthStore>);
  /** The issuer identifier (RFC 8414): an https URL without query or fragment. Default: the origin of each request. */
  issuer?: string;
  /** `scopes_supported`: when given, a request or registration naming any other scope is refused. */
  scopes?: string[];
  /**
   * Your sign-in and consent UI, called with a validated authorization
   * request (already kept in a single-use session). Answer with your page;
   * later call `context.completeAuthorization(handle, { userId, scope })` or
   * `context.denyAuthorization(handle)` from the route your page posts to.
   */
  authorize: (request: Request, authorization: PendingAuthorization, env: Env, context: ServerContext) => Response | Promise<Response>;
  /**
   * The fast path for a user who needs no page (already signed in, consent
   * on record, a first-party client): called with the validated request
   * before any session is kept. Return a decision and the server issues the
   * code at once (one atomic call to the store, no session) and redirects
   * back to the client; return null to go on to `authorize`. The decision is
   * checked as `completeAuthorization`'s is, and `onGrant` still runs.
   */
  autoApprove?: (request: Request, authorization: AuthorizationRequest, env: Env) => AuthorizationDecision | null | Promise<AuthorizationDecision | null>;
  /** Your protected API routes, each behind the bearer-token guard, each with its RFC 9728 metadata. */
  protect?: ProtectedResourceOptions<Env, User>[];
  /** Every other request (your pages, your consent form's POST, static assets). Default: 404. */
  fallback?: AppHandler<Env>;
  /** Dynamic client registration (RFC 7591) policy; default open with limits. */
  registration?: RegistrationOptions<Env>;
  /** Accept `client_id`s that are HTTPS URLs of Client ID Metadata Documents; default off. */
  clientIdMetadataDocuments?: boolean | ClientIdMetadataDocumentOptions<Env>;
  /** Token introspection (RFC 7662) policy, or false for no endpoint; default on for each client's own tokens. */
  introspection?: false | IntrospectionOptions;
  /** Pushed authorization requests (RFC 9126) at `/par`; default off. */
  pushedAuthorizationRequests?: boolean | PushedAuthorizationRequestOptions;
  /** The device authorization grant (RFC 8628); default off. */
  deviceAuthorization?: DeviceAuthorizationOptions;
  /** `private_key_jwt` client authentication (RFC 7523); default off. */
  clientAssertions?: boolean | ClientAssertionOptions<Env>;
  /** Endpoint paths; defaults `/authorize`, `/token`, `/revoke`, `/introspect`, `/register`. */
  paths?: Partial<Record<'authorize' | 'token' | 'revoke' | 'introspect' | 'register', string>>;
  /** Also serve the metadata at `/.well-known/openid-configuration` (for clients that only look there); default false. */
  openidConfiguration?: boolean;
  /** Largest request body, in bytes; default 65,536. */
  maxBodyBytes?: number;
  /** The page shown for an authorization request that cannot be sent back to the client; default a plain one. */
  errorPage?: (description: string, status: number, request: Request) => Response;
  hooks?: Hooks<Env, User>;
  /** JWT access tokens (RFC 9068) and the JWKS, for protected routes with `accessTokenFormat: 'jwt'`. */
  jwtAccessTokens?: JwtAccessTokenOptions;
  /** DPoP (RFC 9449) at the token endpoint and the protected routes; default off. */
  dpop?: boolean | DpopOptions;
  /** Clock, epoch ms, for the server's own timing (document cache, rate limits, upkeep); tests inject one. Default `Date.now`. */
  now?: () => number;
}

/** Pushed authorization requests (RFC 9126). */
export interface PushedAuthorizationRequestOptions {
  /** Refuse authorization requests that were not pushed, for every client; default false (then per client: `require_pushed_authorization_requests`). */
  required?: boolean;
  /** Lifetime of a `request_uri`, 1..600 s; default 60. */
  lifetimeSeconds?: number;
  /** Default `/par`. */
  path?: string;
}

/** The device authorization grant (RFC 8628). */
export interface DeviceAuthorizationOptions {
  /**
   * Where the user enters the code: your page (served by `fallback`), a path
   * on the issuer's origin (`/device`) or an absolute URL. It gets
   * `?user_code=…` in `verification_uri_complete`.
   */
  verificationUri: string;
  /** Who is typing user codes, for the brute-force limit; default the `CF-Connecting-IP` header. */
  attemptKey?: (request: Request) => string;
  /** Default `/device_authorization`. */
  path?: string;
}

/** `private_key_jwt` client authentication (RFC 7523 §2.2, RFC 7521). */
export interface ClientAssertionOptions<Env = unknown> {
  /** Signature algorithms accepted; default `['ES256', 'RS256', 'PS256', 'EdDSA']`. */
  algorithms?: string[];
  /** Longest an assertion may live (`exp` − now, and `exp` − `iat`), 10..3600 s; default 300. */
  maxLifetimeSeconds?: number;
  /** How `jwks_uri` is fetched; default the global `fetch`. Same rules as metadata documents: public https, no redirects, size and time limits. */
  fetch?: (url: string, init: RequestInit, env: Env) => Promise<Response>;
  /** Which `jwks_uri` URLs to trust at all; default every public https URL. */
  allow?: (url: URL) => boolean;
}

/** What a maintenance run removed. */
export interface MaintenanceResult {
  /** From `OAuthStore.cleanupExpired()`. */
  cleanup: CleanupResult;
  /** Registered clients deleted for having no active grant past `unusedClientLifetimeSeconds`. */
  clientsDeleted: number;
}

/** Options of JWT access tokens (RFC 9068); they apply to routes with `accessTokenFormat: 'jwt'`. */
export interface JwtAccessTokenOptions {
  /** The signing algorithm: `ES256` (default) or `RS256`. */
  signingAlgorithm?: 'ES256' | 'RS256';
  /**
   * How long an isolate trusts its copy of the store's revocation list: a
   * revoked JWT access token (or grant) is refused at most this long after
   * the revocation. Default 10 s; 0 reads the list for every request.
   */
  revocationCacheSeconds?: number;
  /** `Cache-Control: max-age` of the JWKS; keep it below the store's `signingKeyOverlapSeconds`. Default 300. */
  jwksMaxAgeSeconds?: number;
}

/** Options of DPoP (RFC 9449). */
export interface DpopOptions {
  /** Proof algorithms accepted (`dpop_signing_alg_values_supported`); default `ES256`, `RS256`, `PS256`. */
  algorithms?: string[];
  /** Whether proofs must carry a server nonce (`use_dpop_nonce`); default true. */
  nonce?: boolean;
  /** A nonce is accepted for one to two of these periods; default 300 s. */
  nonceLifetimeSeconds?: number;
  /** A proof's `iat` must be within this many seconds of the server's clock; default 60. */
  proofMaxAgeSeconds?: number;
}
