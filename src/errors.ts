/**
 * Typed errors with stable codes.
 *
 * Every error thrown by oauth-vault is a {@link VaultError}. Switch on `code`
 * (stable across releases), not on the message. Domain errors additionally
 * carry `oauthError`, the RFC 6749 error code an endpoint should answer with,
 * so an HTTP layer needs no mapping table of its own.
 *
 * Messages never contain a token, code, key, secret or ciphertext.
 *
 * @module
 */

/** The RFC 6749 / RFC 7009 / RFC 8707 error codes our domain errors map to. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'authorization_pending'
  | 'slow_down'
  | 'access_denied'
  | 'expired_token'
  | 'server_error'
  | 'temporarily_unavailable';

/** Every stable `code` a {@link VaultError} can carry: `switch (error.code)` narrows. */
export type VaultErrorCode =
  | 'ERR_VAULT'
  | 'ERR_INTEGRITY'
  | 'ERR_KEY_NOT_FOUND'
  | 'ERR_CONSISTENCY'
  | 'ERR_INVALID_REQUEST'
  | 'ERR_INVALID_GRANT'
  | 'ERR_INVALID_CLIENT'
  | 'ERR_UNAUTHORIZED_CLIENT'
  | 'ERR_UNSUPPORTED_GRANT_TYPE'
  | 'ERR_INVALID_SCOPE'
  | 'ERR_INVALID_TARGET'
  | 'ERR_AUTHORIZATION_PENDING'
  | 'ERR_SLOW_DOWN'
  | 'ERR_ACCESS_DENIED'
  | 'ERR_EXPIRED_TOKEN'
  | 'ERR_STORAGE'
  | 'ERR_CONFLICT'
  | 'ERR_NOT_SUPPORTED'
  | 'ERR_VAULT_LOCKED'
  | 'ERR_TIMEOUT';

interface VaultErrorOptions {
  cause?: unknown;
}

/** Base class of every error oauth-vault throws. */
export class VaultError extends Error {
  static readonly code: VaultErrorCode = 'ERR_VAULT';
  /** Stable machine-readable code, e.g. `ERR_INTEGRITY`. */
  readonly code: VaultErrorCode = 'ERR_VAULT';
  /** The OAuth error code an endpoint should return for this error. */
  readonly oauthError: OAuthErrorCode = 'server_error';
  /** Whether retrying the same call may succeed (lost race, busy backend). */
  readonly retriable: boolean = false;

  constructor(message: string, options?: VaultErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }
}

/**
 * A sealed record or envelope failed to authenticate: tampered, truncated,
 * moved to another key, or opened under the wrong AAD. The message is the same
 * for every cause so it cannot serve as an oracle.
 */
export class IntegrityError extends VaultError {
  static override readonly code: 'ERR_INTEGRITY' | 'ERR_KEY_NOT_FOUND' = 'ERR_INTEGRITY';
  override readonly code: 'ERR_INTEGRITY' | 'ERR_KEY_NOT_FOUND' = 'ERR_INTEGRITY';
  constructor(options?: VaultErrorOptions, message = 'sealed data failed integrity check') {
    super(message, options);
  }
}

/**
 * An envelope names a key id that is not in the keyring (retired or foreign).
 * It is a kind of `IntegrityError` (the data cannot be authenticated), with its
 * own code so that a missed key rotation is easy to tell apart from tampering.
 */
export class KeyNotFoundError extends IntegrityError {
  static override readonly code = 'ERR_KEY_NOT_FOUND' as const;
  override readonly code = 'ERR_KEY_NOT_FOUND' as const;
  /** The key id named by the envelope (key ids are not secret). */
  readonly keyId: string;
  constructor(keyId: string, options?: VaultErrorOptions) {
    super(options, `key "${keyId}" is not in the keyring`);
    this.keyId = keyId;
  }
}

/**
 * The storage cannot give the consistency an operation needs, e.g. an
 * `OAuthStore` built on an adapter whose compare-and-set is not atomic.
 */
export class ConsistencyError extends VaultError {
  static override readonly code = 'ERR_CONSISTENCY' as const;
  override readonly code = 'ERR_CONSISTENCY' as const;
}

/** Bad input at a public boundary. `field` names the offending parameter. */
export class InvalidRequestError extends VaultError {
  static override readonly code = 'ERR_INVALID_REQUEST' as const;
  override readonly code = 'ERR_INVALID_REQUEST' as const;
  override readonly oauthError: OAuthErrorCode = 'invalid_request';
  /** Dotted path of the offending field, e.g. `"redirectUris[0]"`. */
  readonly field: string;
  constructor(field: string, problem: string, options?: VaultErrorOptions) {
    super(`"${field}" ${problem}`, options);
    this.field = field;
  }
}

/** A code, refresh token or grant is invalid, expired, revoked or already used. */
export class InvalidGrantError extends VaultError {
  static override readonly code = 'ERR_INVALID_GRANT' as const;
  override readonly code = 'ERR_INVALID_GRANT' as const;
  override readonly oauthError: OAuthErrorCode = 'invalid_grant';
}

/** Client authentication failed, or the client is unknown. */
export class InvalidClientError extends VaultError {
  static override readonly code = 'ERR_INVALID_CLIENT' as const;
  override readonly code = 'ERR_INVALID_CLIENT' as const;
  override readonly oauthError: OAuthErrorCode = 'invalid_client';
}

/** The client is not allowed to use this grant type or operation. */
export class UnauthorizedClientError extends VaultError {
  static override readonly code = 'ERR_UNAUTHORIZED_CLIENT' as const;
  override readonly code = 'ERR_UNAUTHORIZED_CLIENT' as const;
  override readonly oauthError: OAuthErrorCode = 'unauthorized_client';
}

/** The requested scope exceeds what the client or grant allows. */
export class InvalidScopeError extends VaultError {
  static override readonly code = 'ERR_INVALID_SCOPE' as const;
  override readonly code = 'ERR_INVALID_SCOPE' as const;
  override readonly oauthError: OAuthErrorCode = 'invalid_scope';
}

/** The grant type is not one this store (or this endpoint) handles. */
export class UnsupportedGrantTypeError extends VaultError {
  static override readonly code = 'ERR_UNSUPPORTED_GRANT_TYPE' as const;
  override readonly code = 'ERR_UNSUPPORTED_GRANT_TYPE' as const;
  override readonly oauthError: OAuthErrorCode = 'unsupported_grant_type';
}

/** A requested resource (RFC 8707 audience) is unknown, not allowed for the client, or not part of the grant. */
export class InvalidTargetError extends VaultError {
  static override readonly code = 'ERR_INVALID_TARGET' as const;
  override readonly code = 'ERR_INVALID_TARGET' as const;
  override readonly oauthError: OAuthErrorCode = 'invalid_target';
}

/** RFC 8628: the user has not yet approved or denied the device authorization; poll again later. */
export class AuthorizationPendingError extends VaultError {
  static override readonly code = 'ERR_AUTHORIZATION_PENDING' as const;
  override readonly code = 'ERR_AUTHORIZATION_PENDING' as const;
  override readonly oauthError: OAuthErrorCode = 'authorization_pending';
  override readonly retriable = true;
}

/** Too fast: device polling before its interval (RFC 8628 `slow_down`), or too many wrong user codes. Retry later. */
export class SlowDownError extends VaultError {
  static override readonly code = 'ERR_SLOW_DOWN' as const;
  override readonly code = 'ERR_SLOW_DOWN' as const;
  override readonly oauthError: OAuthErrorCode = 'slow_down';
  override readonly retriable = true;
}

/** RFC 8628: the user denied the device authorization. */
export class AccessDeniedError extends VaultError {
  static override readonly code = 'ERR_ACCESS_DENIED' as const;
  override readonly code = 'ERR_ACCESS_DENIED' as const;
  override readonly oauthError: OAuthErrorCode = 'access_denied';
}

/** RFC 8628: the device code expired before it was approved; start over. */
export class ExpiredTokenError extends VaultError {
  static override readonly code = 'ERR_EXPIRED_TOKEN' as const;
  override readonly code = 'ERR_EXPIRED_TOKEN' as const;
  override readonly oauthError: OAuthErrorCode = 'expired_token';
}

/** The storage backend failed or refused an operation. `adapter` names it. */
export class StorageError extends VaultError {
  static override readonly code = 'ERR_STORAGE' as const;
  override readonly code = 'ERR_STORAGE' as const;
  override readonly oauthError: OAuthErrorCode = 'temporarily_unavailable';
  /** Name of the adapter that failed, e.g. `"cloudflare-d1"`. */
  readonly adapter: string;
  constructor(adapter: string, message: string, options?: VaultErrorOptions & { retriable?: boolean }) {
    super(`${adapter}: ${message}`, options);
    this.adapter = adapter;
    this.retriable = options?.retriable ?? false;
  }
  override readonly retriable: boolean;
}

/** A concurrent writer won; the same call may succeed when retried. */
export class ConflictError extends VaultError {
  static override readonly code = 'ERR_CONFLICT' as const;
  override readonly code = 'ERR_CONFLICT' as const;
  override readonly oauthError: OAuthErrorCode = 'temporarily_unavailable';
  override readonly retriable = true;
}

/** A platform feature is missing here (IndexedDB in a private mode, Web Locks, ...). */
export class NotSupportedError extends VaultError {
  static override readonly code = 'ERR_NOT_SUPPORTED' as const;
  override readonly code = 'ERR_NOT_SUPPORTED' as const;
}

/** The vault is in passphrase mode and has not been unlocked. */
export class VaultLockedError extends VaultError {
  static override readonly code = 'ERR_VAULT_LOCKED' as const;
  override readonly code = 'ERR_VAULT_LOCKED' as const;
  constructor(options?: VaultErrorOptions) {
    super('vault is locked; call unlock(passphrase) first', options);
  }
}

/** Waiting for a lock or a backend took longer than the configured timeout. */
export class TimeoutError extends VaultError {
  static override readonly code = 'ERR_TIMEOUT' as const;
  override readonly code = 'ERR_TIMEOUT' as const;
  override readonly retriable = true;
}

/** An error's stable code, or its class name: never its message (a backend's message may carry details). */
export function errorName(error: unknown): string {
  if (error instanceof VaultError) return error.code;
  return error instanceof Error ? error.name : 'unknown';
}

/**
 * Every concrete error class, as a union discriminated by `code`: type a
 * caught `VaultError` as this and a `switch (error.code)` narrows it to the
 * class (e.g. `case 'ERR_STORAGE':` gives `error.adapter`).
 */
export type AnyVaultError =
  | IntegrityError
  | KeyNotFoundError
  | ConsistencyError
  | InvalidRequestError
  | InvalidGrantError
  | InvalidClientError
  | UnauthorizedClientError
  | UnsupportedGrantTypeError
  | InvalidScopeError
  | InvalidTargetError
  | AuthorizationPendingError
  | SlowDownError
  | AccessDeniedError
  | ExpiredTokenError
  | StorageError
  | ConflictError
  | NotSupportedError
  | VaultLockedError
  | TimeoutError;
