import { optionalInteger, optionalString } from '../util/validate.js';
import { onlyKeys, params } from './input.js';

/** Checks `{ cursor?, limit? }`; `field` prefixes the names in errors (`options.limit`, or `limit` when null). */
export function readPageOptions(options: unknown, field: string | null = 'options'): { cursor?: string; limit: number } {
  if (options === undefined) return { limit: 100 };
  const name = (key: string): string => (field === null ? key : `${field}.${key}`);
  const input = params(field ?? 'params', options);
  if (field !== null) onlyKeys(field, input, ['cursor', 'limit']);
  const cursor = optionalString(name('cursor'), input.cursor, { max: 4096 });
  const limit = optionalInteger(name('limit'), input.limit, 1, 1000) ?? 100;
  return { ...(cursor !== undefined && { cursor }), limit };
}
