/**
 * oauth-vault: OAuth 2.x data encrypted and integrity-bound at rest, on Web
 * Crypto only. This entry point holds the core (keys, records, errors, the
 * adapter contract) and the memory adapter. IndexedDB ships from
 * `oauth-vault/idb`, the Cloudflare adapters from `oauth-vault/cloudflare`.
 *
 * @module
 */
export { Keyring, generateSecret, randomToken, timingSafeEqual } from './crypto/index.js';
export type { KeyringEntry, KeyringSecret, PassphraseOptions } from './crypto/index.js';
export { RecordStore, RecordCollection, RECORD_FORMAT_VERSION } from './records/index.js';
export type { RecordStoreOptions, RecordWriteOptions, StoredRecord } from './records/index.js';
export type {
  AdapterCapabilities,
  BatchOperation,
  ListOptions,
  ListResult,
  StorageAdapter,
  StoredEntry,
  WriteCondition,
  WriteOptions,
} from './adapter.js';
export {
  VaultError,
  IntegrityError,
  KeyNotFoundError,
  ConsistencyError,
  InvalidRequestError,
  InvalidGrantError,
  InvalidClientError,
  UnauthorizedClientError,
  InvalidScopeError,
  StorageError,
  ConflictError,
  NotSupportedError,
  VaultLockedError,
  TimeoutError,
  type OAuthErrorCode,
} from './errors.js';
export { memoryAdapter, type MemoryAdapterOptions } from '../adapters/memory/index.js';
export { TokenVault, memoryKeyStore } from './client/index.js';
export type {
  TokenVaultOptions,
  TokenVaultChange,
  RefreshFunction,
  TokenResponse,
  TokenSet,
  KeyStore,
  VaultStorage,
  VaultKeyMode,
  LockManagerLike,
} from './client/index.js';
// Authorization-server domain (src/oauth).
export { OAuthStore, computePkceChallenge, generatePkce } from './oauth/index.js';
export type {
  AccessTokenInfo,
  AuditEvent,
  AuditEventType,
  CleanupResult,
  ClientCredentials,
  ClientInfo,
  ClientType,
  CreateAuthorizationCodeParams,
  CreateAuthorizationCodeResult,
  CreateSessionParams,
  ExchangeAuthorizationCodeParams,
  GrantInfo,
  GrantType,
  HealthCheckResult,
  IntrospectionResult,
  ListClientsResult,
  ListGrantsResult,
  OAuthStoreApi,
  OAuthStoreOptions,
  OAuthStorePolicy,
  PageOptions,
  PkceMethod,
  PkcePair,
  QueryAuditParams,
  QueryAuditResult,
  RefreshAccessTokenParams,
  ResealResult,
  RefreshGraceOptions,
  RegisterClientParams,
  RegisterClientResult,
  RevokeTokenParams,
  SessionInfo,
  StatsResult,
  TokenResult,
  TokenTypeHint,
  UpdateClientParams,
  UpdateClientResult,
  UpdateSessionParams,
} from './oauth/index.js';
