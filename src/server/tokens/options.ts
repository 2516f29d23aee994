import { InvalidRequestError } from '../../errors.js';
import { optionalInteger, requireObject } from '../../util/validate.js';
import { JWT_ALGORITHMS, JwtAccessTokens } from './jwt-access-token.js';

/**
 * Checks the `jwtAccessTokens` option (each failure names its field); null
 * when no protected route asks for JWT access tokens.
 */
export function jwtAccessTokensOf(value: unknown, anyJwtResource: boolean, now: () => number): JwtAccessTokens | null {
  const options = value === undefined ? {} : requireObject('options.jwtAccessTokens', value);
  if (!anyJwtResource) return null;
  const field = (name: string) => `options.jwtAccessTokens.${name}`;
  const algorithm = options.signingAlgorithm ?? 'ES256';
  if (!JWT_ALGORITHMS.includes(algorithm as 'ES256')) throw new InvalidRequestError(field('signingAlgorithm'), `must be one of ${JWT_ALGORITHMS.join(', ')}`);
  return new JwtAccessTokens(
    {
      algorithm: algorithm as 'ES256' | 'RS256',
      revocationCacheMs: (optionalInteger(field('revocationCacheSeconds'), options.revocationCacheSeconds, 0, 300) ?? 10) * 1000,
      jwksMaxAgeSeconds: optionalInteger(field('jwksMaxAgeSeconds'), options.jwksMaxAgeSeconds, 0, 86_400) ?? 300,
    },
    now,
  );
}
