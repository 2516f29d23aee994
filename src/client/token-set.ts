import { InvalidRequestError } from '../errors.js';
import { requireObject, requireString, optionalString } from '../util/validate.js';

/**
 * A token endpoint's successful response (RFC 6749 §5.1), as JSON-decoded.
 * Other members (e.g. `refresh_expires_in`) are allowed and ignored.
 */
export interface TokenResponse {
  access_token: string;
  token_type: string;
  /** Lifetime of the access token in seconds; RECOMMENDED by RFC 6749. A decimal string is accepted too. */
  expires_in?: number | string;
  refresh_token?: string;
  scope?: string;
  /** OpenID Connect ID token. */
  id_token?: string;
  [member: string]: unknown;
}

/** The tokens a {@link TokenVault} holds, as returned by `get()`. */
export interface TokenSet {
  readonly accessToken: string;
  /** e.g. `"Bearer"` or `"DPoP"`, as the server sent it. */
  readonly tokenType: string;
  /** Epoch milliseconds when the access token expires; absent when the server gave no `expires_in`. */
  readonly expiresAt?: number;
  readonly refreshToken?: string;
  readonly scope?: string;
  readonly idToken?: string;
}

// Generous caps: JWT access tokens with many claims run to several KiB.
const MAX_TOKEN_LENGTH = 16_384;
const MAX_EXPIRES_IN = 10 * 365 * 24 * 3600;

/**
 * Validates a token response and turns it into a {@link TokenSet}, with
 * `expires_in` anchored at `now`. Throws `InvalidRequestError` naming the
 * offending member (`<field>.access_token`, ...); never echoes a value.
 */
export function parseTokenResponse(value: unknown, now: number, field: string): TokenSet {
  const response = requireObject(field, value);
  const accessToken = requireString(`${field}.access_token`, response.access_token, { max: MAX_TOKEN_LENGTH });
  const tokenType = requireString(`${field}.token_type`, response.token_type, { max: 64, pattern: /^[\x21-\x7e]+$/ });
  let expiresAt: number | undefined;
  if (response.expires_in !== undefined) {
    // Some servers (Azure AD v1, older Spring) send the number as a decimal string: accept exactly that.
    const raw = response.expires_in;
    const expiresIn = typeof raw === 'string' && /^\d{1,10}$/.test(raw) ? Number(raw) : raw;
    if (typeof expiresIn !== 'number' || !Number.isSafeInteger(expiresIn) || expiresIn < 0 || expiresIn > MAX_EXPIRES_IN) {
      throw new InvalidRequestError(`${field}.expires_in`, `must be an integer number of seconds between 0 and ${MAX_EXPIRES_IN}`);
    }
    expiresAt = now + expiresIn * 1000;
  }
  const refreshToken = optionalString(`${field}.refresh_token`, response.refresh_token, { max: MAX_TOKEN_LENGTH });
  const scope = optionalString(`${field}.scope`, response.scope, { min: 0, max: MAX_TOKEN_LENGTH });
  const idToken = optionalString(`${field}.id_token`, response.id_token, { max: MAX_TOKEN_LENGTH });
  return {
    accessToken,
    tokenType,
    ...(expiresAt !== undefined && { expiresAt }),
    ...(refreshToken !== undefined && { refreshToken }),
    ...(scope !== undefined && { scope }),
    ...(idToken !== undefined && { idToken }),
  };
}

/** Whether the access token expires within `withinMs` of `now` (never, without an expiry). */
export function expiresWithin(tokens: TokenSet, now: number, withinMs: number): boolean {
  return tokens.expiresAt !== undefined && tokens.expiresAt - now <= withinMs;
}
