import type { ClientJwks } from './client-keys.js';
import type { StorageAdapter } from '../storage/contract.js';
import type { Keyring } from '../crypto/keyring.js';
import type { GrantHandler } from './grants/handler.js';
import type { RecordKind } from './record-kinds.js';

/**
 * Public option, parameter and result types of {@link OAuthStore}.
 *
 * Conventions: timestamps are epoch milliseconds (`...At`), durations given
 * as policy are seconds (`...Seconds`, like OAuth's `expires_in`), scopes are
 * arrays of RFC 6749 §3.3 scope tokens, resources are RFC 8707 absolute URIs.
 * Only `introspect` answers in the RFC 7662 wire shape (snake_case, seconds).
 *
 * @module
 */

/** Client kind (RFC 6749 §2.1). Public clients have no secret and must use PKCE. */
export type ClientType = 'public' | 'confidential';

/** The grant types of the built-in handlers. A store may register more (`grants` option). */
export const BUILT_IN_GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code'] as const;
/** A grant type a client may be registered for: a built-in one, or one a registered handler adds. */
export type GrantType = (typeof BUILT_IN_GRANT_TYPES)[number] | (string & {});

/** PKCE methods (RFC 7636). `plain` only when `allowPlainPkce` is set. */
export type PkceMethod = 'S256' | 'plain';

/** Refresh-token grace window: off unless given. Bounded and non-sliding. */
export interface RefreshGraceOptions {
  /** Seconds after a rotation during which the rotated token still answers with the same successor (1..60). */
  windowSeconds: number;
  /** How many retried refreshes the window answers before reuse revokes the grant (1..1000). */
  maxUses: number;
}

/** How much of the audit trail is kept: every operation as one sealed record, or nothing. */
export type AuditMode = 'events' | 'off';

/** Policy knobs of an {@link OAuthStore}; every one has a safe default. */
export interface OAuthStorePolicy {
  /** Authorization code lifetime; default 60, at most 600. */
  codeTtlSeconds?: number;
  /** Access token lifetime; default 3600 (1 h), at most 86,400. */
  accessTokenTtlSeconds?: number;
  /** Refresh token idle expiry: a refresh token unused this long is dead; default 30 days. */
  refreshTokenIdleSeconds?: number;
  /** Absolute lifetime of a grant (its refresh chain), from the authorization; default 90 days. */
  grantLifetimeSeconds?: number;
  /** Authorization session lifetime; default 600, at most 3600. */
  sessionTtlSeconds?: number;
  /** Allow the PKCE `plain` method (not recommended); default false. */
  allowPlainPkce?: boolean;
  /** Require PKCE for confidential clients too (always required for public clients); default false. */
  requirePkce?: boolean;
  /**
   * Rotate refresh tokens on every use; default true. When false, confidential
   * clients keep their refresh token; public clients always rotate (RFC 9700 §2.2.2).
   */
  rotateRefreshTokens?: boolean;
  /** Refresh retry grace window; off by default. */
  refreshGrace?: RefreshGraceOptions;
  /** Age after which `cleanupExpired` drops audit events; default 90 days. */
  auditRetentionSeconds?: number;
  /** `"events"` (default): one sealed record per operation, written in the same transaction; `"off"`: none. */
  audit?: AuditMode;
  /**
   * The resources (RFC 8707 audiences) this server issues tokens for. When
   * given, a request naming any other gets `InvalidTargetError`
   * (`invalid_target`). Default: any absolute URI.
   */
  resources?: string[];
  /**
   * How long a client record is reused within this isolate, in seconds
   * (0..3600); default 60. Saves a read on every validation and client
   * authentication. What it delays: a rotated secret still works, and a
   * deleted client still authenticates, for up to this long in an isolate
   * that had read it. (Its grants are revoked at once by `deleteClient`; a
   * grant issued while the deletion ran stops validating within this time.)
   * On KV the record itself may be stale for about 60 s anyway.
   */
  clientCacheSeconds?: number;
  /**
   * Edge validation: how long a successful `validateAccessToken` answer is
   * reused within this isolate, in seconds (0..300); default 0, so every
   * validation reads storage and a revocation takes effect at once. With N,
   * a revoked token may still validate in an isolate for up to N seconds.
   */
  validationCacheSeconds?: number;
  /** How long a signing key (JWT access tokens) signs before the next one takes over; default 30 days. */
  signingKeyRotationSeconds?: number;
  /**
   * How long a key that stopped signing stays published in the JWKS, so the
   * tokens it signed keep verifying; default the access token lifetime plus
   * one hour, and never less than the access token lifetime.
   */
  signingKeyOverlapSeconds?: number;
}

/** Options of `new OAuthStore(...)`. */
export interface OAuthStoreOptions extends OAuthStorePolicy {
  /** Keys that seal every record and compute every lookup id. */
  keyring: Keyring;
  /**
   * Storage for clients. May be non-atomic (KV) when `singleUseAdapter` is
   * atomic.
   */
  adapter: StorageAdapter;
  /**
   * Atomic storage with atomic batches for everything that changes with a
   * grant or a session: grants, codes, tokens, sessions, the grant indexes
   * and the audit trail. Defaults to `adapter`. Keys are partitioned by
   * grant (or session) id.
   */
  singleUseAdapter?: StorageAdapter;
  /** Clock, epoch milliseconds (tests inject one). */
  now?: () => number;
  /** Grant handlers besides the built-in ones (see `GrantHandler`); a handler for a built-in type replaces it. */
  grants?: readonly GrantHandler[];
  /** Record kinds besides the built-in ones (custom grants' own records): re-sealed and cleaned up like the others. */
  records?: readonly RecordKind[];
}

/** A registered client as returned to callers (never holds the secret). */
export interface ClientInfo {
  clientId: string;
  type: ClientType;
  name?: string;
  redirectUris: string[];
  grantTypes: GrantType[];
  /** Scopes the client may request; empty means any. */
  scope: string[];
  /** Resources (RFC 8707) the client may request tokens for; empty means any the store allows. */
  resources: string[];
  /** App data (JSON), stored encrypted. */
  metadata?: unknown;
  /** `private_key_jwt` (RFC 7523): the client's public keys; such a client has no secret. */
  jwks?: ClientJwks;
  /** `private_key_jwt`: where the client's public keys are published (https). */
  jwksUri?: string;
  createdAt: number;
  updatedAt: number;
}

export interface RegisterClientParams {
  /**
   * An id of the caller's choosing (printable ASCII, at most 256 characters),
   * e.g. the URL of a Client ID Metadata Document; default a random one. The
   * client is created only if the id is free, else `InvalidRequestError`
   * (field `clientId`). Atomic on an atomic `adapter`; on KV two concurrent
   * registrations of one id may both succeed, the last write winning.
   */
  clientId?: string;
  type: ClientType;
  /** Absolute `https` URIs, or `http` on a loopback host; no fragment. 0..20 entries (at least 1 for `authorization_code`). */
  redirectUris?: string[];
  name?: string;
  /** Default `['authorization_code', 'refresh_token']`. */
  grantTypes?: GrantType[];
  /** Allowed scopes; default none listed (any scope). */
  scope?: string[];
  /** Allowed resources (RFC 8707); default none listed (any the store allows). */
  resources?: string[];
  /** App data (JSON, at most 16 KiB), stored encrypted. */
  metadata?: unknown;
  /**
   * `private_key_jwt` (RFC 7523): a confidential client that authenticates
   * with assertions signed by one of these public keys (at most 20; EC, RSA
   * or OKP), instead of a secret: none is issued. At most one of `jwks` and `jwksUri`.
   */
  jwks?: ClientJwks;
  /** `private_key_jwt`: an https URL where the client publishes its JWK Set. */
  jwksUri?: string;
}

export interface RegisterClientResult {
  client: ClientInfo;
  /** Confidential clients only. Returned once; stored only as a lookup id. */
  clientSecret?: string;
}

export interface UpdateClientParams {
  name?: string;
  redirectUris?: string[];
  grantTypes?: GrantType[];
  scope?: string[];
  resources?: string[];
  metadata?: unknown;
  /** Replace a `private_key_jwt` client's keys (one of the two). */
  jwks?: ClientJwks;
  jwksUri?: string;
  /** Issue a new secret (confidential clients); the old one stops working. */
  rotateSecret?: boolean;
}

export type UpdateClientResult = RegisterClientResult;

export interface PageOptions {
  /** Cursor from the previous page. */
  cursor?: string;
  /** Page size, 1..1000; default 100. */
  limit?: number;
}

export interface ListClientsResult {
  clients: ClientInfo[];
  cursor?: string;
  /** Records on this page that could not be opened (a dropped key); present only when > 0. */
  unreadable?: number;
}

/** An authorization session: the state between /authorize and the code. */
export interface SessionInfo {
  /** Opaque handle (secret: ≥ 256 bits); stored only as a lookup id. */
  sessionId: string;
  clientId: string;
  redirectUri: string;
  /** `false` when the authorization request left `redirect_uri` out (see {@link CreateSessionParams}). */
  redirectUriExplicit?: false;
  scope: string[];
  state?: string;
  codeChallenge?: string;
  codeChallengeMethod?: PkceMethod;
  /** Resources (RFC 8707) the authorization request named. */
  resources?: string[];
  /** Set once the user authenticated. */
  userId?: string;
  /** App data (JSON), stored encrypted. */
  props?: unknown;
  completed: boolean;
  createdAt: number;
  expiresAt: number;
}

export interface CreateSessionParams {
  clientId: string;
  /** Must be one of the client's registered redirect URIs, exactly. */
  redirectUri: string;
  /**
   * `false` when the authorization request did not include `redirect_uri`
   * (allowed only for a client with exactly one registered URI, which is then
   * `redirectUri`): the token request may then leave it out too (RFC 6749
   * §4.1.3). Default `true`.
   */
  redirectUriExplicit?: boolean;
  scope?: string[];
  state?: string;
  codeChallenge?: string;
  /** Default `S256` when a challenge is given. */
  codeChallengeMethod?: PkceMethod;
  /** Resources (RFC 8707): one or more absolute URIs the tokens will be for. */
  resources?: string[];
  /** Session lifetime; default the store's `sessionTtlSeconds`. */
  ttlSeconds?: number;
}

/** A pushed authorization request (RFC 9126): what `createSession` takes, and how long the `request_uri` lives. */
export type PushAuthorizationRequestParams = Omit<CreateSessionParams, 'ttlSeconds'> & {
  /** Lifetime of the request_uri; default 60, at most 600. */
  ttlSeconds?: number;
};

export interface PushAuthorizationRequestResult {
  /** `urn:ietf:params:oauth:request_uri:…`: single use, a 256-bit secret handle. */
  requestUri: string;
  /** Seconds until it expires. */
  expiresIn: number;
}

/** A pushed request as taken: the checked authorization request, ready for `createSession`. */
export type PushedAuthorizationRequest = Omit<SessionInfo, 'sessionId' | 'userId' | 'props' | 'completed' | 'createdAt' | 'expiresAt'>;

export interface UpdateSessionParams {
  userId?: string;
  scope?: string[];
  props?: unknown;
  /** Mark the session complete (audited as `session_completed`). */
  completed?: boolean;
}

/** What the app decided for an authorization session ({@link OAuthStore.completeAuthorization}). */
export interface SessionDecision {
  /** The user who approved. */
  userId: string;
  /** The scope granted: default the session's (or its draft's); within the session's scope when it named one, and within the client's. */
  scope?: string[];
  /** App data (JSON), stored sealed with the grant. */
  props?: unknown;
}

/**
 * Decides a session once it has been read and before anything is written:
 * what it throws leaves the session as it was.
 */
export type DecideSession = (session: SessionInfo, client: ClientInfo) => SessionDecision | Promise<SessionDecision>;

export interface CompleteAuthorizationResult extends CreateAuthorizationCodeResult {
  /** The session as completed (its `state` and `redirectUri` are where the code goes). */
  session: SessionInfo;
}

export interface CreateAuthorizationCodeParams {
  clientId: string;
  userId: string;
  /** Must be one of the client's registered redirect URIs, exactly. */
  redirectUri: string;
  /** As in {@link CreateSessionParams}: `false` when the authorization request left `redirect_uri` out. */
  redirectUriExplicit?: boolean;
  scope?: string[];
  /** PKCE challenge (RFC 7636): 43..128 characters. Required for public clients. */
  codeChallenge?: string;
  /** Default `S256`; `plain` only with `allowPlainPkce`. */
  codeChallengeMethod?: PkceMethod;
  /** Resources (RFC 8707): the audiences of the grant's tokens. */
  resources?: string[];
  /** App data (JSON, at most 16 KiB), stored encrypted, returned by `validateAccessToken`. */
  props?: unknown;
  /** Code lifetime; default the store's `codeTtlSeconds`, at most 600. */
  ttlSeconds?: number;
}

export interface CreateAuthorizationCodeResult {
  /** The code (opaque, ≥ 256 bits of randomness). Stored only as a lookup id. */
  code: string;
  grantId: string;
  expiresAt: number;
}

/** Client credentials as presented at the token endpoint. */
export interface ClientCredentials {
  clientId: string;
  /** Confidential clients only. */
  clientSecret?: string;
  /**
   * RFC 7523: the caller verified a `private_key_jwt` client assertion for
   * `clientId` (signature by one of the client's registered keys, `aud`,
   * `exp`, single-use `jti`); the server subpath does this. Accepted only
   * for a client registered with `jwks` or `jwksUri`, and never with a secret.
   */
  clientAssertionVerified?: boolean;
}

export interface DpopBinding {
  /**
   * RFC 9449: the JWK thumbprint (RFC 7638) of the key of the request's
   * DPoP proof, verified by the caller (the server subpath does). The
   * access token is bound to it; so is a public client's refresh token.
   */
  dpopJkt?: string;
}

export interface ExchangeAuthorizationCodeParams extends ClientCredentials, DpopBinding {
  code: string;
  /**
   * Must equal the redirect URI the code was issued for, exactly. Required
   * unless the code was issued with `redirectUriExplicit: false` (RFC 6749
   * §4.1.3); when given it must match either way.
   */
  redirectUri?: string;
  /** PKCE verifier: required iff a challenge was stored. */
  codeVerifier?: string;
  /** Narrow the access token to these of the grant's resources (RFC 8707). */
  resources?: string[];
}

export interface RefreshAccessTokenParams extends ClientCredentials, DpopBinding {
  refreshToken: string;
  /** Narrower scope for the new access token (subset of the grant's). */
  scope?: string[];
  /** Narrower audience for the new access token (subset of the grant's resources). */
  resources?: string[];
}

export interface ClientCredentialsParams extends ClientCredentials, DpopBinding {
  /** Default: the client's registered scope. */
  scope?: string[];
  resources?: string[];
}

/** A token request for any registered grant type (`requestToken`). */
export interface TokenRequest extends ClientCredentials {
  grantType: GrantType;
  [parameter: string]: unknown;
}

export interface CreateDeviceAuthorizationParams extends ClientCredentials {
  scope?: string[];
  resources?: string[];
}

/** RFC 8628 §3.2: what the device shows and how it polls. */
export interface DeviceAuthorizationResult {
  /** The device's secret: it polls the token endpoint with it. */
  deviceCode: string;
  /** What the user types on another screen, `XXXX-XXXX` (20 consonants; case, spaces and dashes ignored). */
  userCode: string;
  expiresIn: number;
  /** Seconds the device waits between polls. */
  interval: number;
}

/** What a user code stands for, for the approval screen. */
export interface DeviceAuthorizationInfo {
  clientId: string;
  scope: string[];
  resources?: string[];
  expiresAt: number;
  /** Already approved or denied. */
  decided: boolean;
}

export interface ApproveDeviceAuthorizationParams {
  userId: string;
  /** The scope the user approved (default: what the device asked for). */
  scope?: string[];
  props?: unknown;
  /** Who is entering codes (an IP address, a session): wrong codes count against it. */
  attemptKey?: string;
}

/** Tokens issued by a grant. */
export interface TokenResult {
  accessToken: string;
  /** `DPoP` when the access token is bound to the request's DPoP key (RFC 9449). */
  tokenType: 'Bearer' | 'DPoP';
  /** Seconds until the access token expires. */
  expiresIn: number;
  /** Present when the client may use `refresh_token`. */
  refreshToken?: string;
  /** Seconds until the refresh token expires (idle or absolute, whichever first). */
  refreshTokenExpiresIn?: number;
  scope: string[];
  /** The access token's audiences (RFC 8707), when the grant has any. */
  resources?: string[];
  grantId: string;
}

/** What a valid access token stands for. */
export interface AccessTokenInfo {
  clientId: string;
  /** The subject: the user, or for `client_credentials` the client itself. */
  userId: string;
  grantType: GrantType;
  scope: string[];
  grantId: string;
  issuedAt: number;
  expiresAt: number;
  /** The token's audiences (RFC 8707). */
  resources?: string[];
  /** RFC 9449: the thumbprint of the DPoP key the token is bound to. */
  jkt?: string;
  props?: unknown;
}

export interface ValidateAccessTokenOptions {
  /**
   * The resource being served (RFC 8707): a token whose audiences do not
   * include it validates as `null`. A token without audiences is accepted
   * only where the store has no `resources` configured.
   */
  resource?: string;
  /**
   * RFC 9449: the thumbprint of the key of the request's verified DPoP
   * proof. A DPoP-bound token validates only with its own key's thumbprint
   * (so a bound token presented as a bearer token is refused).
   */
  dpopJkt?: string;
}

/** RFC 7662 response: `{ active: false }` carries nothing else, ever. */
export type IntrospectionResult =
  | { active: false }
  | {
      active: true;
      scope: string;
      client_id: string;
      sub: string;
      /** Seconds since the epoch. */
      exp: number;
      iat: number;
      token_type?: 'Bearer' | 'DPoP';
      aud?: string | string[];
      /** RFC 9449 §6.2: the key a DPoP-bound token is bound to. */
      cnf?: { jkt: string };
    };

export type TokenTypeHint = 'access_token' | 'refresh_token';

export interface RevokeTokenParams extends ClientCredentials {
  token: string;
  tokenTypeHint?: TokenTypeHint;
}

/** An active grant as listed for a user or a client. */
export interface GrantInfo {
  grantId: string;
  grantType: GrantType;
  clientId: string;
  userId: string;
  scope: string[];
  resources?: string[];
  props?: unknown;
  /** When the grant became active (code exchanged, client credentials issued). */
  createdAt: number;
  /** Absolute end of the grant. */
  expiresAt: number;
}

export interface ListGrantsResult {
  grants: GrantInfo[];
  cursor?: string;
  /** Records on this page that could not be opened (a dropped key); present only when > 0. */
  unreadable?: number;
}

/** Audit event types: changes to clients, codes, tokens and sessions, cleanup, and detected attacks. */
export const AUDIT_EVENT_TYPES = [
  'client_registered',
  'client_updated',
  'client_deleted',
  'code_issued',
  'code_used',
  'access_token_issued',
  'access_token_revoked',
  'refresh_token_issued',
  'refresh_token_used',
  'refresh_token_revoked',
  'session_created',
  'session_completed',
  'device_authorization_created',
  'device_authorization_approved',
  'device_authorization_denied',
  'cleanup',
  'security_violation',
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

export interface AuditEvent {
  id: string;
  type: AuditEventType;
  at: number;
  clientId?: string;
  /** Lookup id of the user (HMAC), never the user id; absent where the operation did not name the user. */
  userLookupId?: string;
  grantId?: string;
  /** Event details (stored encrypted). Never contains a token or secret. */
  details: Record<string, unknown>;
}

export interface QueryAuditParams extends PageOptions {
  type?: AuditEventType;
  clientId?: string;
  /** Matched through its lookup id, and through the user's grants. */
  userId?: string;
  /** Inclusive lower bound, epoch ms. */
  since?: number;
  /** Exclusive upper bound, epoch ms. */
  until?: number;
}

export interface QueryAuditResult {
  /** Newest first. A page may hold fewer than `limit` events and still have a cursor (each page examines a bounded number of records). */
  events: AuditEvent[];
  cursor?: string;
  /** Events that could not be opened (a dropped key); present only when > 0. */
  unreadable?: number;
}

export interface CleanupResult {
  /** Grants removed (revoked, expired, or never redeemed), with every record of theirs. */
  grants: number;
  /** Records removed, per record kind (a grant's records included). */
  records: Record<string, number>;
  /** Entries removed by `adapter.deleteExpired` (both adapters). */
  adapterExpired: number;
  /** Records that could not be opened (a dropped key, tampering): left in place and counted. */
  unreadable: number;
}

export interface ResealResult {
  /** Records re-sealed under the current key (index entries moved to the current lookup id included). */
  resealed: number;
  /** Records that could not be opened (a key already dropped, tampering), or kept changing under the sweep. */
  failed: number;
}

export interface StatsResult {
  clients: number;
  activeGrants: number;
  activeAccessTokens: number;
  activeRefreshTokens: number;
  auditEvents: number;
  /** Records that could not be opened (a dropped key, tampering). */
  unreadable: number;
}

export interface HealthCheckResult {
  ok: boolean;
  checks: { name: string; ok: boolean; error?: string }[];
}
