import { InvalidRequestError } from '../../src/errors.js';

/** The few D1 prepared-statement methods the adapter calls. */
export interface D1StatementLike {
  bind(...values: unknown[]): D1StatementLike;
  first<T = Record<string, unknown>>(): Promise<T | null>;
  all<T = Record<string, unknown>>(): Promise<{ results: T[] }>;
  run(): Promise<{ meta: { changes?: number } }>;
}

/** The few D1 binding methods the adapter calls (a real `D1Database` fits). */
export interface D1DatabaseLike {
  prepare(query: string): D1StatementLike;
  batch(statements: D1StatementLike[]): Promise<{ meta: { changes?: number }; results?: unknown[] }[]>;
}

/**
 * Refuses anything that is not a D1 binding (a KV namespace, a Durable Object
 * namespace, `undefined` from a missing binding) before the first query.
 */
export function requireD1(field: string, value: unknown): D1DatabaseLike {
  const candidate = value as Partial<D1DatabaseLike> | null | undefined;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.prepare !== 'function' ||
    typeof candidate.batch !== 'function'
  ) {
    throw new InvalidRequestError(field, 'must be a D1Database binding (with prepare() and batch()); check the d1_databases binding in wrangler.toml');
  }
  return candidate as D1DatabaseLike;
}
