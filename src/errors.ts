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

/** The RFC 6749 / RFC 7009 error codes our domain errors map to. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'server_error'
  | 'temporarily_unavailable';

interface VaultErrorOptions {
  cause?: unknown;
}

/** Base class of every error oauth-vault throws. */
export class VaultError extends Error {
  static readonly code: string = 'ERR_VAULT';
  /** Stable machine-readable code, e.g. `ERR_INTEGRITY`. */
  readonly code: string = 'ERR_VAULT';
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
  static override readonly code: string = 'ERR_INTEGRITY';
  override readonly code: string = 'ERR_INTEGRITY';
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
  static override readonly code = 'ERR_KEY_NOT_FOUND';
  override readonly code = 'ERR_KEY_NOT_FOUND';
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
  static override readonly code = 'ERR_CONSISTENCY';
  override readonly code = 'ERR_CONSISTENCY';
}

/** Bad input at a public boundary. `field` names the offending parameter. */
export class InvalidRequestError extends VaultError {
  static override readonly code = 'ERR_INVALID_REQUEST';
  override readonly code = 'ERR_INVALID_REQUEST';
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
  static override readonly code = 'ERR_INVALID_GRANT';
  override readonly code = 'ERR_INVALID_GRANT';
  override readonly oauthError: OAuthErrorCode = 'invalid_grant';
}

/** Client authentication failed, or the client is unknown. */
export class InvalidClientError extends VaultError {
  static override readonly code = 'ERR_INVALID_CLIENT';
  override readonly code = 'ERR_INVALID_CLIENT';
  override readonly oauthError: OAuthErrorCode = 'invalid_client';
}

/** The client is not allowed to use this grant type or operation. */
export class UnauthorizedClientError extends VaultError {
  static override readonly code = 'ERR_UNAUTHORIZED_CLIENT';
  override readonly code = 'ERR_UNAUTHORIZED_CLIENT';
  override readonly oauthError: OAuthErrorCode = 'unauthorized_client';
}

/** The requested scope exceeds what the client or grant allows. */
export class InvalidScopeError extends VaultError {
  static override readonly code = 'ERR_INVALID_SCOPE';
  override readonly code = 'ERR_INVALID_SCOPE';
  override readonly oauthError: OAuthErrorCode = 'invalid_scope';
}

/** The storage backend failed or refused an operation. `adapter` names it. */
export class StorageError extends VaultError {
  static override readonly code = 'ERR_STORAGE';
  override readonly code = 'ERR_STORAGE';
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
  static override readonly code = 'ERR_CONFLICT';
  override readonly code = 'ERR_CONFLICT';
  override readonly oauthError: OAuthErrorCode = 'temporarily_unavailable';
  override readonly retriable = true;
}

/** A platform feature is missing here (IndexedDB in a private mode, Web Locks, ...). */
export class NotSupportedError extends VaultError {
  static override readonly code = 'ERR_NOT_SUPPORTED';
  override readonly code = 'ERR_NOT_SUPPORTED';
}

/** The vault is in passphrase mode and has not been unlocked. */
export class VaultLockedError extends VaultError {
  static override readonly code = 'ERR_VAULT_LOCKED';
  override readonly code = 'ERR_VAULT_LOCKED';
  constructor(options?: VaultErrorOptions) {
    super('vault is locked; call unlock(passphrase) first', options);
  }
}

/** Waiting for a lock or a backend took longer than the configured timeout. */
export class TimeoutError extends VaultError {
  static override readonly code = 'ERR_TIMEOUT';
  override readonly code = 'ERR_TIMEOUT';
  override readonly retriable = true;
}
