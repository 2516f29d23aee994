import { InvalidRequestError } from '../errors.js';

/** Checks shared by the server's option parsers (config.ts, flows-config.ts). */

const PATH = /^\/[\x21-\x7E]*$/;

/** An endpoint path: absolute, printable ASCII, no query or fragment; `fallback` when not given. */
export function endpointPath(field: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !PATH.test(value) || value.includes('?') || value.includes('#')) {
    throw new InvalidRequestError(field, 'must be an absolute path (starting with "/", no query or fragment)');
  }
  return value;
}

export function optionalFunction<T>(field: string, value: unknown): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw new InvalidRequestError(field, 'must be a function');
  return value as T;
}
