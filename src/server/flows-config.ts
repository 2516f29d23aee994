import { InvalidRequestError } from '../errors.js';
import { optionalInteger, requireObject } from '../util/validate.js';
import type { ResolvedDocuments } from './config.js';
import { endpointPath, optionalFunction } from './option-checks.js';

/**
 * The options of the opt-in flows (pushed authorization requests, the device
 * grant, `private_key_jwt`), checked once at construction with each failure
 * naming its field. Each is null when off, so an endpoint, a grant type or a
 * metadata entry exists exactly when its option is on.
 */

export interface ResolvedPushedRequests {
  path: string;
  /** Every authorization request must be pushed (else per client). */
  required: boolean;
  lifetimeSeconds: number;
}

export interface ResolvedDeviceAuthorization {
  path: string;
  /** A path on the issuer's origin, or an absolute URL. */
  verificationUri: string;
  attemptKey: (request: Request) => string;
}

export interface ResolvedClientAssertions {
  algorithms: readonly string[];
  maxLifetimeSeconds: number;
  /** Fetching a client's `jwks_uri`: the metadata documents' rules and limits. */
  keys: ResolvedDocuments;
  /** Fetched key sets of this server (per isolate), by URL. */
  cache: Map<string, { jwks: unknown; fetchedAt: number; expiresAt: number }>;
}

export const DEFAULT_ASSERTION_ALGORITHMS = ['ES256', 'RS256', 'PS256', 'EdDSA'] as const;

export function pushedRequestsOf(value: unknown): ResolvedPushedRequests | null {
  if (value === undefined || value === false) return null;
  const options = value === true ? {} : requireObject('options.pushedAuthorizationRequests', value);
  const field = (name: string) => `options.pushedAuthorizationRequests.${name}`;
  if (options.required !== undefined && typeof options.required !== 'boolean') throw new InvalidRequestError(field('required'), 'must be a boolean');
  return {
    path: endpointPath(field('path'), options.path, '/par'),
    required: options.required === true,
    lifetimeSeconds: optionalInteger(field('lifetimeSeconds'), options.lifetimeSeconds, 1, 600) ?? 60,
  };
}

export function deviceAuthorizationOf(value: unknown, callerAddress: (request: Request) => string): ResolvedDeviceAuthorization | null {
  if (value === undefined || value === false) return null;
  const options = requireObject('options.deviceAuthorization', value);
  const field = (name: string) => `options.deviceAuthorization.${name}`;
  const uri = options.verificationUri;
  let valid = typeof uri === 'string' && !uri.includes('#') && !uri.includes('?');
  if (valid && !(uri as string).startsWith('/')) {
    try {
      valid = ['https:', 'http:'].includes(new URL(uri as string).protocol);
    } catch {
      valid = false;
    }
  }
  if (!valid) throw new InvalidRequestError(field('verificationUri'), 'must be a path ("/device") or an http(s) URL, without query or fragment');
  return {
    path: endpointPath(field('path'), options.path, '/device_authorization'),
    verificationUri: uri as string,
    attemptKey: optionalFunction<(request: Request) => string>(field('attemptKey'), options.attemptKey) ?? callerAddress,
  };
}

export function clientAssertionsOf(value: unknown, documents: ResolvedDocuments | null): ResolvedClientAssertions | null {
  if (value === undefined || value === false) return null;
  const options = value === true ? {} : requireObject('options.clientAssertions', value);
  const field = (name: string) => `options.clientAssertions.${name}`;
  let algorithms: string[] = [...DEFAULT_ASSERTION_ALGORITHMS];
  if (options.algorithms !== undefined) {
    const list = options.algorithms;
    // Asymmetric only: a client_secret_jwt (HS256) assertion would need the secret in plaintext.
    if (!Array.isArray(list) || list.length === 0 || list.some((alg) => typeof alg !== 'string' || !/^(ES|RS|PS)(256|384|512)$|^EdDSA$|^Ed25519$/.test(alg))) {
      throw new InvalidRequestError(field('algorithms'), 'must be a non-empty list of asymmetric JWS algorithms (ES256, RS256, PS256, EdDSA, ...)');
    }
    algorithms = [...new Set(list as string[])];
  }
  const maxLifetimeSeconds = optionalInteger(field('maxLifetimeSeconds'), options.maxLifetimeSeconds, 10, 3600) ?? 300;
  const fetch_ = optionalFunction<ResolvedDocuments['fetch']>(field('fetch'), options.fetch);
  const allow = optionalFunction<ResolvedDocuments['allow']>(field('allow'), options.allow);
  const keys: ResolvedDocuments = {
    fetch: fetch_ ?? documents?.fetch ?? ((url, init) => fetch(url, init)),
    allow: allow ?? documents?.allow ?? (() => true),
    maxBytes: Math.max(documents?.maxBytes ?? 0, 16 * 1024),
    timeoutMs: documents?.timeoutMs ?? 5000,
    cacheMs: documents?.cacheMs ?? 3_600_000,
    maxCacheMs: documents?.maxCacheMs ?? 86_400_000,
  };
  return { algorithms, maxLifetimeSeconds, keys, cache: new Map() };
}
