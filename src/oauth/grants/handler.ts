import type { RecordCollection } from '../../records/record-store.js';
import type { RecordKind } from '../record-kinds.js';
import type { ClientInfo, GrantType, TokenResult } from '../types.js';

/**
 * A grant type: one file, registered in one list (the built-in ones in
 * `grants/index.ts`; an app's own through the `grants` option of
 * `OAuthStore`). `OAuthStore.requestToken` runs the shared prologue
 * (authenticate the client, check it may use this grant type, refuse unknown
 * parameters, `parse`) and hands the handler the tools for the rest.
 *
 * Ships from `oauth-vault` (types).
 *
 * @example
 * ```ts
 * const trustedDevice: GrantHandler<{ deviceUser: string }> = {
 *   type: 'urn:example:trusted-device',
 *   parameters: ['deviceUser'],
 *   parse: (params) => ({ deviceUser: String(params.deviceUser) }),
 *   issue: (tools, client, { deviceUser }) =>
 *     tools.issueGrant({ client, userId: deviceUser, scope: tools.allowedScope(client, undefined) }),
 * };
 * const store = new OAuthStore({ keyring, adapter, grants: [trustedDevice] });
 * await store.requestToken({ grantType: 'urn:example:trusted-device', clientId, clientSecret, deviceUser: 'u-1' });
 * ```
 */
export interface GrantHandler<P = unknown> {
  /** The `grant_type` it answers, e.g. `urn:ietf:params:oauth:grant-type:device_code`. */
  readonly type: GrantType;
  /** Request parameters it reads besides `grantType`, `clientId` and `clientSecret`; any other is refused. */
  readonly parameters: readonly string[];
  /** Whether public clients may use it; default true. */
  readonly publicClients?: boolean;
  /** Record kinds it keeps: registered with the store, so re-sealing and cleanup cover them. */
  readonly records?: readonly RecordKind[];
  /** Checks the request's own parameters before anything is read; throws `InvalidRequestError` naming the field. */
  parse(params: Readonly<Record<string, unknown>>): P;
  /** Issues tokens for an authenticated client that may use this grant type. */
  issue(tools: GrantTools, client: ClientInfo, params: P): Promise<TokenResult>;
}

/** What a grant handler may do. One `GrantTools` per token request. */
export interface GrantTools {
  /** The request's time, epoch ms. */
  readonly now: number;
  /** The scope to grant: `requested` (default: the client's registered scope), checked against the client's; `InvalidScopeError` otherwise. */
  allowedScope(client: ClientInfo, requested: readonly string[] | undefined): string[];
  /** The resources to grant: `requested`, checked against the store's and the client's; `InvalidTargetError` otherwise. */
  allowedResources(client: ClientInfo, requested: readonly string[] | undefined): string[];
  /**
   * Creates an active grant and issues its first access token (and a refresh
   * token when asked and the client may refresh), atomically, in one call to
   * the grant's store; audited as `access_token_issued`.
   */
  issueGrant(options: IssueGrantOptions): Promise<TokenResult>;
  /** A record collection of a registered kind (for a handler's own records). */
  records<T>(kind: string): RecordCollection<T>;
}

export interface IssueGrantOptions {
  client: ClientInfo;
  /** The subject: a user id (or the client id when the client acts for itself). */
  userId: string;
  scope: string[];
  resources?: string[];
  /** App data (JSON, at most 16 KiB), stored encrypted, returned by validation. */
  props?: unknown;
  /** How the grant began; default `{ type: <the handler's type> }`. */
  origin?: { type: GrantType; [field: string]: unknown };
  /** Issue a refresh token too (only if the client may use `refresh_token`); default false. */
  refreshToken?: boolean;
  /** Lifetime of the grant; default: the access token's when there is no refresh token, else `grantLifetimeSeconds`. */
  lifetimeSeconds?: number;
  /** RFC 9449: bind the access token (and a public client's refresh token) to this DPoP key thumbprint. */
  dpopJkt?: string;
}
