/**
 * oauth-vault: OAuth 2.x data encrypted and integrity-bound at rest, on Web
 * Crypto only. This entry point holds the core: keys, records, errors, the
 * authorization-server domain (`OAuthStore`) and the SPA's `TokenVault`.
 * Adapters ship from their own subpaths (`oauth-vault/memory`,
 * `oauth-vault/indexeddb`, `oauth-vault/cloudflare-d1`, ...), the kit for
 * writing one from `oauth-vault/storage`.
 *
 * @module
 */
export { Keyring, type KeyringEntry, type KeyringSecret, type PassphraseOptions } from './crypto/keyring.js';
export { generateSecret, randomToken } from './crypto/random.js';
export { timingSafeEqual } from './crypto/compare.js';
export { RecordStore, RecordCollection, RECORD_FORMAT_VERSION } from './records/record-store.js';
export type { RecordStoreOptions, RecordWriteOptions, StoredRecord } from './records/record-store.js';
export { migrateStorage, type MigrateStorageOptions, type MigrateStorageResult } from './records/migrate.js';
// What an OAuthStore or TokenVault is given; the rest of the contract ships from oauth-vault/storage.
export type { AdapterCapabilities, StorageAdapter } from './storage/contract.js';
export {
  VaultError,
  IntegrityError,
  KeyNotFoundError,
  ConsistencyError,
  InvalidRequestError,
  InvalidGrantError,
  InvalidClientError,
  UnauthorizedClientError,
  UnsupportedGrantTypeError,
  InvalidScopeError,
  AuthorizationPendingError,
  SlowDownError,
  AccessDeniedError,
  ExpiredTokenError,
  InvalidTargetError,
  StorageError,
  ConflictError,
  NotSupportedError,
  VaultLockedError,
  TimeoutError,
  type AnyVaultError,
  type OAuthErrorCode,
  type VaultErrorCode,
} from './errors.js';
export { TokenVault, type TokenVaultOptions, type TokenVaultChange, type RefreshFunction, type RefreshContext, type DpopSigner, type DpopProofClaims } from './client/token-vault.js';
export { memoryKeyStore, type KeyStore, type VaultStorage } from './client/key-store.js';
export type { TokenResponse, TokenSet } from './client/token-set.js';
export type { VaultKeyMode } from './client/vault-keys.js';
export type { LockManagerLike } from './client/tab-sync.js';
// Authorization-server domain (src/oauth).
export { OAuthStore } from './oauth/oauth-store.js';
export { computePkceChallenge, generatePkce, type PkcePair } from './oauth/pkce.js';
export { AUDIT_EVENT_TYPES, BUILT_IN_GRANT_TYPES } from './oauth/types.js';
export type { GrantHandler, GrantTools, IssueGrantOptions } from './oauth/grants/handler.js';
export type { RecordKind } from './oauth/record-kinds.js';
export { REQUEST_URI_PREFIX } from './oauth/pushed-requests.js';
export { DEVICE_CODE_GRANT, MAX_USER_CODE_ATTEMPTS } from './oauth/grants/device-code.js';
export { SIGNING_ALGORITHMS, jwkThumbprint, type PublicJwk, type SigningAlgorithm, type SigningKey } from './oauth/signing-keys.js';
export type { Revocation } from './oauth/revocation-list.js';
export type { ClientJwks } from './oauth/client-keys.js';
export type {
  AccessTokenInfo,
  ApproveDeviceAuthorizationParams,
  AuditEvent,
  AuditEventType,
  AuditMode,
  CleanupResult,
  ClientCredentials,
  ClientCredentialsParams,
  ClientInfo,
  ClientType,
  CreateAuthorizationCodeParams,
  CreateAuthorizationCodeResult,
  CreateSessionParams,
  CreateDeviceAuthorizationParams,
  DeviceAuthorizationInfo,
  DeviceAuthorizationResult,
  DpopBinding,
  ExchangeAuthorizationCodeParams,
  GrantInfo,
  GrantType,
  HealthCheckResult,
  IntrospectionResult,
  ListClientsResult,
  ListGrantsResult,
  OAuthStoreOptions,
  OAuthStorePolicy,
  PageOptions,
  PkceMethod,
  PushAuthorizationRequestParams,
  PushAuthorizationRequestResult,
  PushedAuthorizationRequest,
  QueryAuditParams,
  QueryAuditResult,
  RefreshAccessTokenParams,
  RefreshGraceOptions,
  RegisterClientParams,
  RegisterClientResult,
  ResealResult,
  RevokeTokenParams,
  SessionInfo,
  SessionDecision,
  DecideSession,
  CompleteAuthorizationResult,
  StatsResult,
  TokenRequest,
  TokenResult,
  TokenTypeHint,
  UpdateClientParams,
  UpdateClientResult,
  UpdateSessionParams,
  ValidateAccessTokenOptions,
} from './oauth/types.js';
