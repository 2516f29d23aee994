import { VaultError } from '../../../src/index.js';
import { OAuthHttpError, invalidClient } from './http.js';

const GENERIC: Record<string, string> = {
  invalid_grant: 'the grant is invalid, expired, revoked or already used',
  unauthorized_client: 'the client may not use this grant',
  invalid_scope: 'the requested scope is not allowed',
};

/**
 * Maps any thrown error to an RFC 6749 §5.2 error. oauth-vault's errors
 * carry their OAuth code, so no table of our own is needed; messages of
 * InvalidRequestError name the field and never hold a secret.
 */
export function toOAuthError(error: unknown): OAuthHttpError {
  if (error instanceof OAuthHttpError) return error;
  if (error instanceof VaultError) {
    switch (error.oauthError) {
      case 'invalid_client':
        return invalidClient();
      case 'invalid_request':
        return new OAuthHttpError('invalid_request', error.message);
      case 'invalid_grant':
      case 'unauthorized_client':
      case 'invalid_scope':
        return new OAuthHttpError(error.oauthError, GENERIC[error.oauthError]!);
      case 'temporarily_unavailable':
        return new OAuthHttpError('temporarily_unavailable', 'try again', 503, { 'Retry-After': '1' });
      default:
        break;
    }
  }
  console.error('unexpected error', error instanceof Error ? error.name : typeof error);
  return new OAuthHttpError('server_error', 'unexpected error', 500);
}
