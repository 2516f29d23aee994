import type { StorageAdapter } from '../adapter.js';
import type { Keyring } from '../crypto/keyring.js';

/**
 * Public option, parameter and result types of {@link OAuthStore}.
 *
 * Conventions: timestamps are epoch milliseconds (`...At`), durations given
 * as policy are seconds (`...Seconds`, like OAuth's `expires_in`), scopes are
 * arrays of RFC 6749 §3.3 scope tokens. Only `introspect` answers in the RFC
 * 7662 wire shape (snake_case, seconds).
 *
 * @module
 */

/** Client kind (RFC 6749 §2.1). Public clients have no secret and must use PKCE. */
export type ClientType = 'public' | 'confidential';

/** Grant types a client may use. */
export type GrantType = 'authorization_code' | 'refresh_token';

/** PKCE methods (RFC 7636). `plain` only when `allowPlainPkce` is set. */
export type PkceMethod = 'S256' | 'plain';

/** Refresh-token grace window: off unless given. Bounded and non-sliding. */
export interface RefreshGraceOptions {
  /** Seconds after a rotation during which the rotated token still answers with the same successor (1..60). */
  windowSeconds: number;
  /** How many retried refreshes the window answers before reuse revokes the grant (1..1000). */
  maxUses: number;
}

/** Policy knobs of an {@link OAuthStore}; every one has a safe default. */
export interface OAuthStorePolicy {
  /** Authorization code lifetime; default 60, at most 600. */
  codeTtlSeconds?: number;
  /** Access token lifetime; default 3600 (1 h), at most 86,400. */
  accessTokenTtlSeconds?: number;
  /** Refresh token idle expiry: a refresh token unused this long is dead; default 30 days. */
  refreshTokenIdleSeconds?: number;
  /** Absolute lifetime of a grant's refresh chain, from the code exchange; default 90 days. */
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
}

/** Options of `new OAuthStore(...)`. */
export interface OAuthStoreOptions extends OAuthStorePolicy {
  /** Keys that seal every record and compute every lookup id. */
  keyring: Keyring;
  /**
   * Storage for clients, sessions, the user/client grant indexes and the audit
   * trail. May be non-atomic (KV) when `singleUseAdapter` is atomic.
   */
  adapter: StorageAdapter;
  /**
   * Atomic storage for every record that belongs to a grant: the grant record
   * (code state, refresh family, revocation status) and its access tokens.
   * Defaults to `adapter`. Keys are partitioned by grant id.
   */
  singleUseAdapter?: StorageAdapter;
  /** Clock, epoch milliseconds (tests inject one). */
  now?: () => number;
  /**
   * Called when an audit event could not be written. Audit events are written
   * after the change they describe is committed, so the call that made the
   * change still succeeds. Default: `console.error` with the error's code or
   * class name only. Never receives a token or secret (the error may carry a
   * backend's message: log with care).
   */
  onAuditError?: (error: unknown, event: { type: AuditEventType; clientId?: string; grantId?: string }) => void;
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
  /** App data (JSON), stored encrypted. */
  metadata?: unknown;
  createdAt: number;
  updatedAt: number;
}

export interface RegisterClientParams {
  type: ClientType;
  /** Absolute `https` URIs, or `http` on a loopback host; no fragment. 1..20 entries. */
  redirectUris: string[];
  name?: string;
  /** Default `['authorization_code', 'refresh_token']`. */
  grantTypes?: GrantType[];
  /** Allowed scopes; default none listed (any scope). */
  scope?: string[];
  /** App data (JSON, at most 16 KiB), stored encrypted. */
  metadata?: unknown;
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
  metadata?: unknown;
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
  resource?: string;
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
  resource?: string;
  /** Session lifetime; default the store's `sessionTtlSeconds`. */
  ttlSeconds?: number;
}

export interface UpdateSessionParams {
  userId?: string;
  scope?: string[];
  props?: unknown;
  /** Mark the session complete (audited as `session_completed`). */
  completed?: boolean;
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
  /** Resource indicator (RFC 8707), an absolute URI. */
  resource?: string;
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
}

export interface ExchangeAuthorizationCodeParams extends ClientCredentials {
  code: string;
  /**
   * Must equal the redirect URI the code was issued for, exactly. Required
   * unless the code was issued with `redirectUriExplicit: false` (RFC 6749
   * §4.1.3); when given it must match either way.
   */
  redirectUri?: string;
  /** PKCE verifier: required iff a challenge was stored. */
  codeVerifier?: string;
}

export interface RefreshAccessTokenParams extends ClientCredentials {
  refreshToken: string;
  /** Narrower scope for the new access token (subset of the grant's). */
  scope?: string[];
}

/** Tokens issued by an exchange or a refresh. */
export interface TokenResult {
  accessToken: string;
  tokenType: 'Bearer';
  /** Seconds until the access token expires. */
  expiresIn: number;
  /** Present when the client may use `refresh_token`. */
  refreshToken?: string;
  /** Seconds until the refresh token expires (idle or absolute, whichever first). */
  refreshTokenExpiresIn?: number;
  scope: string[];
  grantId: string;
}

/** What a valid access token stands for. */
export interface AccessTokenInfo {
  clientId: string;
  userId: string;
  scope: string[];
  grantId: string;
  issuedAt: number;
  expiresAt: number;
  resource?: string;
  props?: unknown;
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
      token_type?: 'Bearer';
      aud?: string;
    };

export type TokenTypeHint = 'access_token' | 'refresh_token';

export interface RevokeTokenParams extends ClientCredentials {
  token: string;
  tokenTypeHint?: TokenTypeHint;
}

/** An active grant as listed for a user. */
export interface GrantInfo {
  grantId: string;
  clientId: string;
  userId: string;
  scope: string[];
  resource?: string;
  props?: unknown;
  createdAt: number;
  /** Absolute end of the refresh chain. */
  expiresAt: number;
}

export interface ListGrantsResult {
  grants: GrantInfo[];
  cursor?: string;
  /** Records on this page that could not be opened (a dropped key); present only when > 0. */
  unreadable?: number;
}

/** Audit event types: every change to clients, codes, tokens and sessions, cleanup, and detected attacks. */
export type AuditEventType =
  | 'client_registered'
  | 'client_updated'
  | 'client_deleted'
  | 'code_issued'
  | 'code_used'
  | 'access_token_issued'
  | 'access_token_revoked'
  | 'refresh_token_issued'
  | 'refresh_token_used'
  | 'refresh_token_revoked'
  | 'session_created'
  | 'session_completed'
  | 'cleanup'
  | 'security_violation';

export interface AuditEvent {
  id: string;
  type: AuditEventType;
  at: number;
  clientId?: string;
  /** Lookup id of the user (HMAC), never the user id. */
  userLookupId?: string;
  grantId?: string;
  /** Event details (stored encrypted). Never contains a token or secret. */
  details: Record<string, unknown>;
}

export interface QueryAuditParams extends PageOptions {
  type?: AuditEventType;
  clientId?: string;
  /** Matched through its lookup id. */
  userId?: string;
  /** Inclusive lower bound, epoch ms. */
  since?: number;
  /** Exclusive upper bound, epoch ms. */
  until?: number;
}

export interface QueryAuditResult {
  /** Newest first. */
  events: AuditEvent[];
  cursor?: string;
  /** Events that could not be opened (a dropped key); present only when > 0. */
  unreadable?: number;
}

export interface CleanupResult {
  grants: number;
  accessTokens: number;
  sessions: number;
  indexEntries: number;
  auditEvents: number;
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
  /** Client and grant records that could not be opened (a dropped key, tampering). */
  unreadable: number;
}

export interface HealthCheckResult {
  ok: boolean;
  checks: { name: string; ok: boolean; error?: string }[];
}

/**
 * The entry points of `OAuthStore` (implemented by the class in
 * `oauth-store.ts`). Every method refuses bad input with
 * `InvalidRequestError` naming the field, leaving the store unchanged.
 */
export interface OAuthStoreApi {
  registerClient(params: RegisterClientParams): Promise<RegisterClientResult>;
  getClient(clientId: string): Promise<ClientInfo | null>;
  updateClient(clientId: string, params: UpdateClientParams): Promise<UpdateClientResult>;
  /** Revokes every grant of the client, then deletes it. Returns whether it existed. */
  deleteClient(clientId: string): Promise<boolean>;
  listClients(options?: PageOptions): Promise<ListClientsResult>;
  /** @throws InvalidClientError (same error for unknown client and bad secret). */
  authenticateClient(clientId: string, clientSecret?: string): Promise<ClientInfo>;

  createSession(params: CreateSessionParams): Promise<SessionInfo>;
  getSession(sessionId: string): Promise<SessionInfo | null>;
  updateSession(sessionId: string, params: UpdateSessionParams): Promise<SessionInfo>;
  deleteSession(sessionId: string): Promise<boolean>;

  createAuthorizationCode(params: CreateAuthorizationCodeParams): Promise<CreateAuthorizationCodeResult>;
  /** @throws InvalidGrantError, InvalidClientError */
  exchangeAuthorizationCode(params: ExchangeAuthorizationCodeParams): Promise<TokenResult>;
  /** @throws InvalidGrantError, InvalidClientError, InvalidScopeError, UnauthorizedClientError */
  refreshAccessToken(params: RefreshAccessTokenParams): Promise<TokenResult>;
  validateAccessToken(accessToken: string): Promise<AccessTokenInfo | null>;
  introspect(token: string): Promise<IntrospectionResult>;
  /** RFC 7009: unknown token is success. @throws InvalidClientError, UnauthorizedClientError */
  revokeToken(params: RevokeTokenParams): Promise<void>;

  listGrants(userId: string, options?: PageOptions): Promise<ListGrantsResult>;
  /** Returns whether an active grant was revoked. */
  revokeGrant(grantId: string): Promise<boolean>;

  queryAudit(params?: QueryAuditParams): Promise<QueryAuditResult>;
  cleanupExpired(): Promise<CleanupResult>;
  /** Re-encryption sweep: moves every record sealed under an older key to the current one. */
  resealAll(): Promise<ResealResult>;
  stats(): Promise<StatsResult>;
  healthCheck(): Promise<HealthCheckResult>;
}
