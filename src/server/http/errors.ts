import { VaultError, errorName } from '../../errors.js';

/**
 * An error answer in the RFC 6749 §5.2 shape (`error`, `error_description`),
 * with its HTTP status and any headers it needs. Endpoints throw it; the
 * dispatcher turns it into the JSON answer.
 */
export class OAuthHttpError extends Error {
  constructor(
    readonly error: string,
    readonly description: string,
    readonly status = 400,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(description);
    this.name = 'OAuthHttpError';
  }
}

// One message per refusal, so a refused token or code cannot tell an attacker why.
const GENERIC: Record<string, string> = {
  invalid_grant: 'the grant is invalid, expired, revoked or already used',
  unauthorized_client: 'the client may not use this grant',
  invalid_scope: 'the requested scope is not allowed',
  invalid_target: 'the requested resource is not one this client may get tokens for',
  unsupported_grant_type: 'the grant type is not supported',
  // RFC 8628 §3.5: what a polling device hears.
  authorization_pending: 'the user has not decided yet; poll again after the interval',
  slow_down: 'polling too fast; wait the interval plus 5 seconds between polls',
  expired_token: 'the device code expired; start again',
  access_denied: 'the request was denied',
};

/** `invalid_client` (401). The Basic challenge is added by the dispatcher, only where the client used that header. */
export const invalidClient = (): OAuthHttpError => new OAuthHttpError('invalid_client', 'client authentication failed', 401);

/**
 * Maps anything thrown to an RFC error. oauth-vault's errors carry their
 * OAuth code (`oauthError`), so there is no table of our own; messages of
 * `InvalidRequestError` name the field and never hold a secret. Anything
 * else is a `server_error` (500) whose details stay out of the answer.
 */
export function toOAuthError(error: unknown): OAuthHttpError {
  if (error instanceof OAuthHttpError) return error;
  if (error instanceof VaultError) {
    const code = error.oauthError;
    switch (code) {
      case 'invalid_client':
        return invalidClient();
      case 'invalid_request':
        return new OAuthHttpError('invalid_request', error.message);
      case 'temporarily_unavailable':
        return new OAuthHttpError('temporarily_unavailable', 'the server is busy; retry shortly', 503, { 'Retry-After': '1' });
      case 'server_error':
        break;
      default:
        return new OAuthHttpError(code, GENERIC[code] ?? code);
    }
  }
  return new OAuthHttpError('server_error', `unexpected error (${errorName(error)})`, 500);
}
