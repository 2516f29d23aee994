import { introspect, revokeToken, validateAccessToken } from './access.js';
import { AuditLog } from './audit.js';
import { authenticateClient, deleteClient, getClient, listClients, registerClient, updateClient } from './clients.js';
import { createContext, type StoreContext } from './context.js';
import { listGrants, revokeGrant } from './grant-admin.js';
import { createAuthorizationCode, exchangeAuthorizationCode } from './codes.js';
import { refreshAccessToken } from './refresh.js';
import { cleanupExpired, healthCheck, stats } from './lifecycle.js';
import { resealAll } from './reseal.js';
import { resolveOptions } from './policy.js';
import { createSession, deleteSession, getSession, updateSession } from './sessions.js';
import { readPageOptions } from './clients.js';
import { optionalInteger, requireObject } from '../util/validate.js';
import { InvalidRequestError } from '../errors.js';
import { onlyKeys, requireId, requireUserId } from './input.js';
import type {
  AccessTokenInfo,
  AuditEventType,
  CleanupResult,
  ClientInfo,
  CreateAuthorizationCodeParams,
  CreateAuthorizationCodeResult,
  CreateSessionParams,
  ExchangeAuthorizationCodeParams,
  HealthCheckResult,
  IntrospectionResult,
  ListClientsResult,
  ListGrantsResult,
  OAuthStoreApi,
  OAuthStoreOptions,
  PageOptions,
  QueryAuditParams,
  QueryAuditResult,
  RefreshAccessTokenParams,
  RegisterClientParams,
  RegisterClientResult,
  ResealResult,
  RevokeTokenParams,
  SessionInfo,
  StatsResult,
  TokenResult,
  UpdateClientParams,
  UpdateClientResult,
  UpdateSessionParams,
} from './types.js';

const AUDIT_TYPES: readonly AuditEventType[] = [
  'client_registered', 'client_updated', 'client_deleted', 'code_issued', 'code_used', 'access_token_issued',
  'access_token_revoked', 'refresh_token_issued', 'refresh_token_used', 'refresh_token_revoked', 'session_created',
  'session_completed', 'cleanup', 'security_violation',
];

/**
 * The authorization-server domain: clients, sessions, single-use codes with
 * PKCE, rotated refresh tokens with reuse detection, revocation,
 * introspection, grants per user and an audit trail, all sealed at rest.
 *
 * Single-use transitions need an atomic compare-and-set: construction throws
 * `ConsistencyError` unless `singleUseAdapter ?? adapter` is atomic. On
 * Cloudflare, pass KV as `adapter` and a Durable Object adapter as
 * `singleUseAdapter`.
 *
 * Ships from `oauth-vault`.
 *
 * @example
 * ```ts
 * import { Keyring, OAuthStore, memoryAdapter } from 'oauth-vault';
 * const store = new OAuthStore({ keyring: await Keyring.fromSecret(secret), adapter: memoryAdapter() });
 * const { client } = await store.registerClient({ type: 'public', redirectUris: ['https://app.example/cb'] });
 * const { code } = await store.createAuthorizationCode({
 *   clientId: client.clientId, userId: 'user-1', redirectUri: 'https://app.example/cb',
 *   scope: ['read'], codeChallenge,
 * });
 * const tokens = await store.exchangeAuthorizationCode({
 *   code, clientId: client.clientId, redirectUri: 'https://app.example/cb', codeVerifier,
 * });
 * const info = await store.validateAccessToken(tokens.accessToken); // { userId: 'user-1', ... }
 * ```
 */
export class OAuthStore implements OAuthStoreApi {
  readonly #ctx: StoreContext;

  /** @throws ConsistencyError when the single-use store is not atomic. */
  constructor(options: OAuthStoreOptions) {
    const resolved = resolveOptions(options);
    this.#ctx = createContext({
      ...resolved,
      audit: (main) => new AuditLog(main, resolved.keyring, resolved.now, resolved.policy.auditRetentionMs, resolved.onAuditError),
    });
  }

  /** Registers a client; a confidential client's secret is returned here only. */
  registerClient(params: RegisterClientParams): Promise<RegisterClientResult> {
    return registerClient(this.#ctx, params);
  }
  getClient(clientId: string): Promise<ClientInfo | null> {
    return getClient(this.#ctx, clientId);
  }
  updateClient(clientId: string, params: UpdateClientParams): Promise<UpdateClientResult> {
    return updateClient(this.#ctx, clientId, params);
  }
  /** Deletes a client and revokes every grant (and token) it holds. */
  deleteClient(clientId: string): Promise<boolean> {
    return deleteClient(this.#ctx, clientId);
  }
  listClients(options?: PageOptions): Promise<ListClientsResult> {
    return listClients(this.#ctx, options);
  }
  /** Constant-time client authentication; every failure is the same `InvalidClientError`. */
  authenticateClient(clientId: string, clientSecret?: string): Promise<ClientInfo> {
    return authenticateClient(this.#ctx, clientId, clientSecret);
  }

  createSession(params: CreateSessionParams): Promise<SessionInfo> {
    return createSession(this.#ctx, params);
  }
  getSession(sessionId: string): Promise<SessionInfo | null> {
    return getSession(this.#ctx, sessionId);
  }
  /**
   * Sets the user, scope or props of an open session, or completes it.
   * Completion is single-use: of concurrent completions exactly one succeeds,
   * and once completed every further call throws `InvalidRequestError` with
   * field `sessionId` ("is already completed").
   */
  updateSession(sessionId: string, params: UpdateSessionParams): Promise<SessionInfo> {
    return updateSession(this.#ctx, sessionId, params);
  }
  deleteSession(sessionId: string): Promise<boolean> {
    return deleteSession(this.#ctx, sessionId);
  }

  /** Issues a single-use code (default 60 s) bound to client, redirect URI and PKCE challenge. */
  createAuthorizationCode(params: CreateAuthorizationCodeParams): Promise<CreateAuthorizationCodeResult> {
    return createAuthorizationCode(this.#ctx, params);
  }
  /**
   * Redeems a code exactly once. Client, redirect URI and PKCE are checked
   * first; an authenticated second redemption revokes the grant.
   */
  exchangeAuthorizationCode(params: ExchangeAuthorizationCodeParams): Promise<TokenResult> {
    return exchangeAuthorizationCode(this.#ctx, params);
  }
  /** Rotates a refresh token; reuse of a rotated one revokes the grant. */
  refreshAccessToken(params: RefreshAccessTokenParams): Promise<TokenResult> {
    return refreshAccessToken(this.#ctx, params);
  }
  /** What a live access token stands for, or null (unknown, expired, revoked). */
  validateAccessToken(accessToken: string): Promise<AccessTokenInfo | null> {
    return validateAccessToken(this.#ctx, accessToken);
  }
  /** RFC 7662 introspection; `{ active: false }` carries no reason. */
  introspect(token: string): Promise<IntrospectionResult> {
    return introspect(this.#ctx, token);
  }
  /** RFC 7009 revocation. */
  revokeToken(params: RevokeTokenParams): Promise<void> {
    return revokeToken(this.#ctx, params);
  }

  listGrants(userId: string, options?: PageOptions): Promise<ListGrantsResult> {
    return listGrants(this.#ctx, userId, options);
  }
  revokeGrant(grantId: string): Promise<boolean> {
    return revokeGrant(this.#ctx, grantId);
  }

  /** Audit events, newest first, filtered by type, client, user and time. */
  async queryAudit(params: QueryAuditParams = {}): Promise<QueryAuditResult> {
    const p = requireObject('params', params);
    onlyKeys('params', p, ['type', 'clientId', 'userId', 'since', 'until', 'cursor', 'limit']);
    if (p.type !== undefined && !AUDIT_TYPES.includes(p.type as AuditEventType)) {
      throw new InvalidRequestError('type', 'must be an audit event type');
    }
    const { cursor, limit } = readPageOptions({ cursor: p.cursor, limit: p.limit }, null);
    const clientId = p.clientId === undefined ? undefined : requireId('clientId', p.clientId);
    const userId = p.userId === undefined ? undefined : requireUserId('userId', p.userId);
    const since = optionalInteger('since', p.since, 0, Number.MAX_SAFE_INTEGER);
    const until = optionalInteger('until', p.until, 0, Number.MAX_SAFE_INTEGER);
    const audit = this.#ctx.audit;
    return audit.query({
      ...(p.type !== undefined && { type: p.type as AuditEventType }),
      ...(clientId !== undefined && { clientId }),
      ...(userId !== undefined && { userLookupIds: await audit.userLookupIds(userId) }),
      ...(since !== undefined && { since }),
      ...(until !== undefined && { until }),
      ...(cursor !== undefined && { cursor }),
      limit,
    });
  }

  /** Removes expired and revoked data; returns counts. Run it on a schedule. */
  cleanupExpired(): Promise<CleanupResult> {
    return cleanupExpired(this.#ctx);
  }
  /**
   * Re-encryption sweep: re-seals every record sealed under an older key of
   * the ring with the current key (compare-and-set, both adapters) and moves
   * per-user grant index entries to the current lookup id. Run it after a
   * rotation, before dropping the old key; see reseal.ts for what a key's
   * lookup ids still need before it can go.
   */
  resealAll(): Promise<ResealResult> {
    return resealAll(this.#ctx);
  }
  /** Counts of clients, active grants and tokens, audit events (scans). */
  stats(): Promise<StatsResult> {
    return stats(this.#ctx);
  }
  /** Adapter round trips and a keyring check. */
  healthCheck(): Promise<HealthCheckResult> {
    return healthCheck(this.#ctx);
  }
}
