import { InvalidRequestError } from '../errors.js';
import { optionalInteger, requireObject } from '../util/validate.js';
import { introspect, validateAccessToken } from './access.js';
import { authenticateClient, deleteClient, getClient, listClients, registerClient, updateClient } from './clients.js';
import { createContext, type StoreContext } from './context.js';
import { listClientGrants, listGrants, revokeGrant } from './grant-admin.js';
import { createAuthorizationCode } from './grants/authorization-code.js';
import type { GrantHandler } from './grants/handler.js';
import { BUILT_IN_GRANTS } from './grants/index.js';
import { requestToken } from './grants/run.js';
import { onlyKeys, requireId, requireUserId } from './input.js';
import { cleanupExpired, healthCheck, stats } from './lifecycle.js';
import { resolveOptions } from './options.js';
import { readPageOptions } from './paging.js';
import { resealAll } from './reseal.js';
import { revokeToken } from './revocation.js';
import { completeAuthorization, createSession, deleteSession, getSession, updateSession } from './sessions.js';
import { approveDeviceAuthorization, createDeviceAuthorization, denyDeviceAuthorization, getDeviceAuthorization } from './grants/device-code.js';
import { pushAuthorizationRequest, takePushedAuthorizationRequest } from './pushed-requests.js';
import { listRevocations, recordRevocation, type Revocation } from './revocation-list.js';
import { SigningKeys, type PublicJwk, type SigningAlgorithm, type SigningKey } from './signing-keys.js';
import { consumeOnce } from './single-use.js';
import {
  AUDIT_EVENT_TYPES,
  type AccessTokenInfo,
  type ApproveDeviceAuthorizationParams,
  type CreateDeviceAuthorizationParams,
  type DeviceAuthorizationInfo,
  type DeviceAuthorizationResult,
  type PushAuthorizationRequestParams,
  type PushAuthorizationRequestResult,
  type PushedAuthorizationRequest,
  type AuditEventType,
  type CleanupResult,
  type ClientCredentials,
  type ClientCredentialsParams,
  type ClientInfo,
  type CreateAuthorizationCodeParams,
  type CreateAuthorizationCodeResult,
  type CreateSessionParams,
  type ExchangeAuthorizationCodeParams,
  type HealthCheckResult,
  type IntrospectionResult,
  type ListClientsResult,
  type ListGrantsResult,
  type OAuthStoreOptions,
  type PageOptions,
  type QueryAuditParams,
  type QueryAuditResult,
  type RefreshAccessTokenParams,
  type RegisterClientParams,
  type RegisterClientResult,
  type ResealResult,
  type RevokeTokenParams,
  type SessionInfo,
  type StatsResult,
  type TokenRequest,
  type TokenResult,
  type UpdateClientParams,
  type UpdateClientResult,
  type UpdateSessionParams,
  type ValidateAccessTokenOptions,
  type CompleteAuthorizationResult,
  type DecideSession,
} from './types.js';

/**
 * The authorization-server domain: clients, sessions, single-use codes with
 * PKCE, rotated refresh tokens with reuse detection, client credentials,
 * audience binding (RFC 8707), revocation, introspection, grants per user
 * and per client, and an audit trail, all sealed at rest. Every transition
 * (a code issued or redeemed, a refresh rotated, a grant revoked) is one
 * atomic batch in the grant's partition of the single-use store, with its
 * audit record inside.
 *
 * Construction throws `ConsistencyError` unless `singleUseAdapter ?? adapter`
 * is atomic with atomic batches. On Cloudflare, pass KV as `adapter` and a
 * Durable Object adapter as `singleUseAdapter` (or D1 for both).
 *
 * Grant types are handlers (see {@link GrantHandler}): the built-in
 * `authorization_code`, `refresh_token` and `client_credentials`, plus any
 * given in `grants`, all reachable through {@link OAuthStore.requestToken}.
 *
 * Ships from `oauth-vault`.
 *
 * @example
 * ```ts
 * import { Keyring, OAuthStore, generatePkce } from 'oauth-vault';
 * import { memoryAdapter } from 'oauth-vault/memory';
 * const store = new OAuthStore({ keyring: await Keyring.fromSecret(secret), adapter: memoryAdapter() });
 * const { client } = await store.registerClient({ type: 'public', redirectUris: ['https://app.example/cb'] });
 * const { codeVerifier, codeChallenge } = await generatePkce();
 * const { code } = await store.createAuthorizationCode({
 *   clientId: client.clientId, userId: 'user-1', redirectUri: 'https://app.example/cb', scope: ['read'], codeChallenge,
 * });
 * const tokens = await store.exchangeAuthorizationCode({
 *   code, clientId: client.clientId, redirectUri: 'https://app.example/cb', codeVerifier,
 * });
 * const info = await store.validateAccessToken(tokens.accessToken); // { userId: 'user-1', ... }
 * ```
 */
export class OAuthStore {
  readonly #ctx: StoreContext;
  readonly #signingKeys: SigningKeys;

  /** @throws ConsistencyError when the single-use store is not atomic with atomic batches. */
  constructor(options: OAuthStoreOptions) {
    const resolved = resolveOptions(options);
    this.#ctx = createContext(resolved, registerGrants(resolved.grants));
    this.#signingKeys = new SigningKeys(this.#ctx, resolved.policy.signingKeyRotationMs, resolved.policy.signingKeyOverlapMs);
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
  /** Deletes a client and revokes every grant (and token) it holds. Returns whether it existed. */
  deleteClient(clientId: string): Promise<boolean> {
    return deleteClient(this.#ctx, clientId);
  }
  listClients(options?: PageOptions): Promise<ListClientsResult> {
    return listClients(this.#ctx, options);
  }
  /**
   * Constant-time client authentication; every failure is the same
   * `InvalidClientError`. A `private_key_jwt` client (registered with keys)
   * passes `{ clientAssertionVerified: true }` once its assertion is verified
   * (see {@link ClientCredentials}).
   */
  authenticateClient(clientId: string, clientSecret?: string, options?: { clientAssertionVerified?: boolean }): Promise<ClientInfo> {
    return authenticateClient(this.#ctx, clientId, clientSecret, options?.clientAssertionVerified);
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
  /**
   * Completes a session and issues its code, in one atomic call after one
   * read: `decide(session, client)` runs in between and names the user, the
   * scope (within the request's) and props; what it throws leaves the session
   * open. Single use: of concurrent completions exactly one gets the code, the
   * others `InvalidRequestError` (field `sessionId`, "is already completed").
   * The code is bound to the session's client, redirect URI and PKCE challenge.
   */
  completeAuthorization(sessionId: string, decide: DecideSession): Promise<CompleteAuthorizationResult> {
    return completeAuthorization(this.#ctx, sessionId, decide);
  }

  /** Issues a single-use code (default 60 s) bound to client, redirect URI and PKCE challenge: one atomic call. */
  createAuthorizationCode(params: CreateAuthorizationCodeParams): Promise<CreateAuthorizationCodeResult> {
    return createAuthorizationCode(this.#ctx, params);
  }
  /**
   * Redeems a code exactly once (one atomic call). Client, redirect URI and
   * PKCE are checked first; an authenticated second redemption revokes the grant.
   * @throws InvalidGrantError, InvalidClientError, UnauthorizedClientError, InvalidTargetError
   */
  exchangeAuthorizationCode(params: ExchangeAuthorizationCodeParams): Promise<TokenResult> {
    return requestToken(this.#ctx, { ...params, grantType: 'authorization_code' });
  }
  /**
   * Rotates a refresh token (one atomic call); reuse of a rotated one revokes the grant.
   * @throws InvalidGrantError, InvalidClientError, InvalidScopeError, InvalidTargetError, UnauthorizedClientError
   */
  refreshAccessToken(params: RefreshAccessTokenParams): Promise<TokenResult> {
    return requestToken(this.#ctx, { ...params, grantType: 'refresh_token' });
  }
  /**
   * The client credentials grant (RFC 6749 §4.4): a confidential client gets
   * an access token for itself, within its registered scope; no refresh token.
   * @throws InvalidClientError, UnauthorizedClientError (public clients, or not registered for it), InvalidScopeError, InvalidTargetError
   */
  issueClientCredentials(params: ClientCredentialsParams): Promise<TokenResult> {
    return requestToken(this.#ctx, { ...params, grantType: 'client_credentials' });
  }
  /**
   * A token request for any registered grant type (built-in or from the
   * `grants` option): the generic entry of a token endpoint.
   * @throws UnsupportedGrantTypeError for a grant type no handler answers.
   */
  requestToken(request: TokenRequest): Promise<TokenResult> {
    return requestToken(this.#ctx, request);
  }

  /**
   * What a live access token stands for, or null (unknown, expired, revoked,
   * or for another resource than `options.resource`).
   */
  validateAccessToken(accessToken: string, options?: ValidateAccessTokenOptions): Promise<AccessTokenInfo | null> {
    return validateAccessToken(this.#ctx, accessToken, options);
  }
  /** RFC 7662 introspection; `{ active: false }` carries no reason. */
  introspect(token: string): Promise<IntrospectionResult> {
    return introspect(this.#ctx, token);
  }
  /** RFC 7009 revocation: one atomic call. */
  revokeToken(params: RevokeTokenParams): Promise<void> {
    return revokeToken(this.#ctx, params);
  }

  /** A user's active grants (through the user index, never a scan). */
  listGrants(userId: string, options?: PageOptions): Promise<ListGrantsResult> {
    return listGrants(this.#ctx, userId, options);
  }
  /** A client's active grants, client credentials included. */
  listClientGrants(clientId: string, options?: PageOptions): Promise<ListGrantsResult> {
    return listClientGrants(this.#ctx, clientId, options);
  }
  /** Revokes a grant and every token of it. Returns whether this call revoked it. */
  revokeGrant(grantId: string): Promise<boolean> {
    return revokeGrant(this.#ctx, grantId);
  }

  /**
   * Marks a single-use identifier (a DPoP proof's or a client assertion's
   * `jti`) as used until `expiresAt`: true the first time, false ever after,
   * exactly once under concurrency on the atomic store.
   */
  consumeOnce(namespace: string, id: string, options: { expiresAt: number }): Promise<boolean> {
    return consumeOnce(this.#ctx, namespace, id, options?.expiresAt);
  }

  /** RFC 9126: checks and keeps an authorization request; returns its single-use `request_uri`. */
  pushAuthorizationRequest(params: PushAuthorizationRequestParams): Promise<PushAuthorizationRequestResult> {
    return pushAuthorizationRequest(this.#ctx, params);
  }
  /** RFC 9126: the pushed request, once, for the client that pushed it; `InvalidGrantError` otherwise. */
  takePushedAuthorizationRequest(requestUri: string, clientId: string): Promise<PushedAuthorizationRequest> {
    return takePushedAuthorizationRequest(this.#ctx, requestUri, clientId);
  }

  /** RFC 8628: starts a device authorization for an authenticated client. */
  createDeviceAuthorization(params: CreateDeviceAuthorizationParams): Promise<DeviceAuthorizationResult> {
    return createDeviceAuthorization(this.#ctx, params);
  }
  /** What a user code asks for (the approval screen); wrong codes count against `attemptKey`. */
  getDeviceAuthorization(userCode: string, options?: { attemptKey?: string }): Promise<DeviceAuthorizationInfo | null> {
    return getDeviceAuthorization(this.#ctx, userCode, options);
  }
  /** Approves a user code, once: of concurrent approvals exactly one makes the grant. */
  approveDeviceAuthorization(userCode: string, params: ApproveDeviceAuthorizationParams): Promise<void> {
    return approveDeviceAuthorization(this.#ctx, userCode, params);
  }
  denyDeviceAuthorization(userCode: string, options?: { attemptKey?: string }): Promise<void> {
    return denyDeviceAuthorization(this.#ctx, userCode, options);
  }

  /** The key that signs JWT access tokens now (created, and rotated, as needed); its private half is non-extractable. */
  signingKey(alg?: SigningAlgorithm): Promise<SigningKey> {
    return this.#signingKeys.current(alg);
  }
  /** The published public keys: a JWKS document. */
  async jwks(): Promise<{ keys: PublicJwk[] }> {
    return { keys: await this.#signingKeys.publicKeys() };
  }
  /** Recent revocations a JWT access token validator must honour (grant ids, and `jti`s of single tokens). */
  listRevocations(): Promise<Revocation[]> {
    return listRevocations(this.#ctx);
  }
  /** Records the revocation of one JWT access token (`jti`) until it would have expired. */
  recordRevocation(id: string, expiresAt: number): Promise<void> {
    return recordRevocation(this.#ctx, id, expiresAt);
  }

  /** Audit events, newest first, filtered by type, client, user and time. */
  async queryAudit(params: QueryAuditParams = {}): Promise<QueryAuditResult> {
    const p = requireObject('params', params);
    onlyKeys('params', p, ['type', 'clientId', 'userId', 'since', 'until', 'cursor', 'limit']);
    if (p.type !== undefined && !AUDIT_EVENT_TYPES.includes(p.type as AuditEventType)) {
      throw new InvalidRequestError('type', 'must be an audit event type');
    }
    const { cursor, limit } = readPageOptions({ cursor: p.cursor, limit: p.limit }, null);
    const clientId = p.clientId === undefined ? undefined : requireId('clientId', p.clientId);
    const userId = p.userId === undefined ? undefined : requireUserId('userId', p.userId);
    const since = optionalInteger('since', p.since, 0, Number.MAX_SAFE_INTEGER);
    const until = optionalInteger('until', p.until, 0, Number.MAX_SAFE_INTEGER);
    const ctx = this.#ctx;
    let user: { userLookupIds: string[]; userGrantIds: Set<string> } | undefined;
    if (userId !== undefined) {
      const userLookupIds = await ctx.audit.userLookupIds(userId);
      // Operations that did not name the user (a redemption, a refresh) are found through the user's grants.
      const userGrantIds = new Set<string>();
      for (const lookup of userLookupIds) {
        for await (const id of ctx.records.userGrant.ids(`${lookup}/`)) userGrantIds.add(id.slice(id.lastIndexOf('/~') + 2));
      }
      user = { userLookupIds, userGrantIds };
    }
    return ctx.audit.query({
      ...(p.type !== undefined && { type: p.type as AuditEventType }),
      ...(clientId !== undefined && { clientId }),
      ...user,
      ...(since !== undefined && { since }),
      ...(until !== undefined && { until }),
      limit,
      ...(cursor !== undefined && { cursor }),
    });
  }

  /** Removes expired and revoked data (scans; run it from a cron). Returns counts. */
  cleanupExpired(): Promise<CleanupResult> {
    return cleanupExpired(this.#ctx);
  }
  /**
   * The re-encryption sweep: re-seals every record sealed under an older key
   * of the ring with the current one. Run it after putting a new key first in
   * the rotation, before dropping the old key; see reseal.ts for what a key's
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

/** The grant registry: the built-in handlers, then the app's (a handler for a built-in type replaces it). */
function registerGrants(extra: readonly GrantHandler[]): Map<string, GrantHandler> {
  const grants = new Map<string, GrantHandler>();
  for (const handler of BUILT_IN_GRANTS) grants.set(handler.type, handler);
  extra.forEach((handler, index) => {
    const field = `options.grants[${index}]`;
    if (typeof handler !== 'object' || handler === null) throw new InvalidRequestError(field, 'must be a GrantHandler');
    if (typeof handler.type !== 'string' || !/^[\x21-\x7e]{1,256}$/.test(handler.type)) {
      throw new InvalidRequestError(`${field}.type`, 'must be a grant type name (printable ASCII)');
    }
    if (!Array.isArray(handler.parameters) || handler.parameters.some((name) => typeof name !== 'string')) {
      throw new InvalidRequestError(`${field}.parameters`, 'must be an array of parameter names');
    }
    if (typeof handler.parse !== 'function' || typeof handler.issue !== 'function') {
      throw new InvalidRequestError(field, 'must have parse() and issue()');
    }
    grants.set(handler.type, handler);
  });
  return grants;
}
