import { InvalidRequestError } from '../../errors.js';
import { optionalInteger, requireObject } from '../../util/validate.js';
import { ServerDpop } from './dpop.js';

/** Algorithms a DPoP proof may use by default: asymmetric ones every runtime here verifies. */
export const DEFAULT_DPOP_ALGORITHMS = ['ES256', 'RS256', 'PS256'] as const;
const DPOP_ALGORITHMS = ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA', 'Ed25519'];

/** Checks the `dpop` option; null when DPoP is off. */
export function dpopOf(value: unknown, now: () => number): ServerDpop | null {
  if (value === undefined || value === false) return null;
  const options = value === true ? {} : requireObject('options.dpop', value);
  const field = (name: string) => `options.dpop.${name}`;
  let algorithms: string[] = [...DEFAULT_DPOP_ALGORITHMS];
  if (options.algorithms !== undefined) {
    if (!Array.isArray(options.algorithms) || options.algorithms.length === 0 || options.algorithms.some((alg) => !DPOP_ALGORITHMS.includes(alg as string))) {
      throw new InvalidRequestError(field('algorithms'), `must be a non-empty array of ${DPOP_ALGORITHMS.join(', ')}`);
    }
    algorithms = [...new Set(options.algorithms as string[])];
  }
  const nonce = options.nonce ?? true;
  if (typeof nonce !== 'boolean') throw new InvalidRequestError(field('nonce'), 'must be a boolean');
  return new ServerDpop(
    {
      algorithms,
      maxAgeMs: (optionalInteger(field('proofMaxAgeSeconds'), options.proofMaxAgeSeconds, 5, 600) ?? 60) * 1000,
      nonceWindowSeconds: nonce ? (optionalInteger(field('nonceLifetimeSeconds'), options.nonceLifetimeSeconds, 10, 86_400) ?? 300) : 0,
    },
    now,
  );
}
