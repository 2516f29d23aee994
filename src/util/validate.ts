import { InvalidRequestError } from '../errors.js';

/**
 * Boundary checks shared by every public entry point. Each throws
 * `InvalidRequestError` naming the field; none echoes the offending value,
 * since it may be a secret.
 */

/** Default cap for identifiers and secrets passed as strings. */
export const MAX_STRING_LENGTH = 8192;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

export interface StringRules {
  /** Minimum length (default 1: empty strings are refused). */
  min?: number;
  /** Maximum length (default {@link MAX_STRING_LENGTH}). */
  max?: number;
  /** A pattern the whole string must match. */
  pattern?: RegExp;
}

// In a `u` regexp a surrogate pair is one code point, so this matches only lone surrogates.
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * True when `text` is well-formed Unicode (no lone surrogate). Strings that
 * are not would encode to the same UTF-8 as others (each lone surrogate
 * becomes U+FFFD), so two different ids could share one lookup id or key.
 */
export function isWellFormed(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

export function requireString(field: string, value: unknown, rules: StringRules = {}): string {
  if (typeof value !== 'string') throw new InvalidRequestError(field, `must be a string, got ${describe(value)}`);
  const min = rules.min ?? 1;
  const max = rules.max ?? MAX_STRING_LENGTH;
  if (value.length < min) {
    throw new InvalidRequestError(field, min === 1 ? 'must not be empty' : `must be at least ${min} characters`);
  }
  if (value.length > max) throw new InvalidRequestError(field, `must be at most ${max} characters, got ${value.length}`);
  if (!isWellFormed(value)) throw new InvalidRequestError(field, 'must be well-formed Unicode (it has a lone surrogate)');
  if (rules.pattern && !rules.pattern.test(value)) throw new InvalidRequestError(field, 'has an invalid format');
  return value;
}

export function optionalString(field: string, value: unknown, rules: StringRules = {}): string | undefined {
  return value === undefined ? undefined : requireString(field, value, rules);
}

export function requireBytes(field: string, value: unknown, max?: number): Uint8Array<ArrayBuffer> {
  if (!(value instanceof Uint8Array)) throw new InvalidRequestError(field, `must be a Uint8Array, got ${describe(value)}`);
  if (max !== undefined && value.byteLength > max) {
    throw new InvalidRequestError(field, `must be at most ${max} bytes, got ${value.byteLength}`);
  }
  return value as Uint8Array<ArrayBuffer>;
}

export function requireInteger(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new InvalidRequestError(field, `must be an integer, got ${describe(value)}`);
  }
  if (value < min || value > max) throw new InvalidRequestError(field, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

export function optionalInteger(field: string, value: unknown, min: number, max: number): number | undefined {
  return value === undefined ? undefined : requireInteger(field, value, min, max);
}

export function requireBoolean(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new InvalidRequestError(field, `must be a boolean, got ${describe(value)}`);
  return value;
}

export function requireObject(field: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidRequestError(field, `must be an object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

/**
 * An array of `min`..`max` entries with no holes: `[, x]` is refused naming
 * the missing index, since `forEach` and `map` would skip it unchecked.
 */
export function requireArray(field: string, value: unknown, min: number, max: number): unknown[] {
  if (!Array.isArray(value)) throw new InvalidRequestError(field, `must be an array, got ${describe(value)}`);
  if (value.length < min || value.length > max) {
    throw new InvalidRequestError(field, `must have between ${min} and ${max} entries, got ${value.length}`);
  }
  for (let index = 0; index < value.length; index++) {
    if (!(index in value)) throw new InvalidRequestError(`${field}[${index}]`, 'is missing (the array has a hole)');
  }
  return value;
}

/** A JSON-serializable value of at most `maxBytes` once encoded. */
export function requireJson(field: string, value: unknown, maxBytes: number): unknown {
  let encoded: string | undefined;
  try {
    encoded = JSON.stringify(value);
  } catch (cause) {
    throw new InvalidRequestError(field, 'must be JSON-serializable', { cause });
  }
  if (encoded === undefined) throw new InvalidRequestError(field, 'must be JSON-serializable');
  if (encoded.length > maxBytes) throw new InvalidRequestError(field, `must be at most ${maxBytes} bytes as JSON`);
  return JSON.parse(encoded) as unknown;
}
