import type { StorageAdapter } from '../adapter.js';
import { Keyring } from '../crypto/keyring.js';
import { ConsistencyError, InvalidRequestError } from '../errors.js';
import { optionalInteger, requireBoolean, requireObject } from '../util/validate.js';
import type { AuditErrorHandler } from './audit.js';
import { onlyKeys } from './input.js';
import type { OAuthStoreOptions } from './types.js';

/** Policy with every default filled in; durations in milliseconds. */
export interface ResolvedPolicy {
  codeTtlMs: number;
  accessTokenTtlMs: number;
  refreshIdleMs: number;
  grantLifetimeMs: number;
  sessionTtlMs: number;
  allowPlainPkce: boolean;
  requirePkce: boolean;
  rotateRefreshTokens: boolean;
  grace: { windowMs: number; maxUses: number } | undefined;
  auditRetentionMs: number;
}

const DAY = 86_400;
export const MAX_CODE_TTL_SECONDS = 600;
export const MAX_SESSION_TTL_SECONDS = 3600;

function seconds(options: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  return (optionalInteger(`options.${name}`, options[name], min, max) ?? fallback) * 1000;
}

function optionalFlag(options: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const value = options[name];
  return value === undefined ? fallback : requireBoolean(`options.${name}`, value);
}

function checkAdapter(field: string, value: unknown): StorageAdapter {
  const adapter = requireObject(field, value);
  for (const method of ['get', 'put', 'compareAndSet', 'delete', 'list'] as const) {
    if (typeof adapter[method] !== 'function') throw new InvalidRequestError(field, `must be a StorageAdapter (no "${method}")`);
  }
  requireObject(`${field}.capabilities`, adapter.capabilities);
  return value as StorageAdapter;
}

export interface ResolvedOptions {
  keyring: Keyring;
  adapter: StorageAdapter;
  singleUseAdapter: StorageAdapter;
  now: () => number;
  policy: ResolvedPolicy;
  onAuditError: AuditErrorHandler | undefined;
}

const OPTION_KEYS = [
  'keyring', 'adapter', 'singleUseAdapter', 'now', 'onAuditError', 'codeTtlSeconds', 'accessTokenTtlSeconds',
  'refreshTokenIdleSeconds', 'grantLifetimeSeconds', 'sessionTtlSeconds', 'allowPlainPkce', 'requirePkce',
  'rotateRefreshTokens', 'refreshGrace', 'auditRetentionSeconds',
] as const;

/**
 * Checks the constructor options. Refuses a single-use store that is not
 * atomic: exactly-once codes and rotation cannot be built on it, and saying
 * so at construction beats finding out at the first race.
 */
export function resolveOptions(input: OAuthStoreOptions): ResolvedOptions {
  const options = requireObject('options', input);
  // A typo (`refreshGraceSeconds`) must not silently fall back to a default.
  onlyKeys('options', options, OPTION_KEYS);
  if (!(options.keyring instanceof Keyring)) throw new InvalidRequestError('options.keyring', 'must be a Keyring');
  const adapter = checkAdapter('options.adapter', options.adapter);
  const singleUseAdapter =
    options.singleUseAdapter === undefined ? adapter : checkAdapter('options.singleUseAdapter', options.singleUseAdapter);
  if (!singleUseAdapter.capabilities.atomic) {
    throw new ConsistencyError(
      options.singleUseAdapter === undefined
        ? `adapter "${adapter.name}" has no atomic compare-and-set; pass an atomic "singleUseAdapter" (e.g. a Durable Object) for codes and refresh tokens`
        : `singleUseAdapter "${singleUseAdapter.name}" has no atomic compare-and-set`,
    );
  }
  if (options.now !== undefined && typeof options.now !== 'function') throw new InvalidRequestError('options.now', 'must be a function');
  if (options.onAuditError !== undefined && typeof options.onAuditError !== 'function') {
    throw new InvalidRequestError('options.onAuditError', 'must be a function');
  }
  let grace: ResolvedPolicy['grace'];
  if (options.refreshGrace !== undefined) {
    const g = requireObject('options.refreshGrace', options.refreshGrace);
    onlyKeys('options.refreshGrace', g, ['windowSeconds', 'maxUses']);
    grace = {
      windowMs: seconds(g, 'windowSeconds', NaN, 1, 60),
      maxUses: optionalInteger('options.refreshGrace.maxUses', g.maxUses, 1, 1000) ?? NaN,
    };
    if (Number.isNaN(grace.windowMs)) throw new InvalidRequestError('options.refreshGrace.windowSeconds', 'is required');
    if (Number.isNaN(grace.maxUses)) throw new InvalidRequestError('options.refreshGrace.maxUses', 'is required');
  }
  const policy: ResolvedPolicy = {
    codeTtlMs: seconds(options, 'codeTtlSeconds', 60, 1, MAX_CODE_TTL_SECONDS),
    accessTokenTtlMs: seconds(options, 'accessTokenTtlSeconds', 3600, 1, DAY),
    refreshIdleMs: seconds(options, 'refreshTokenIdleSeconds', 30 * DAY, 60, 400 * DAY),
    grantLifetimeMs: seconds(options, 'grantLifetimeSeconds', 90 * DAY, 60, 400 * DAY),
    sessionTtlMs: seconds(options, 'sessionTtlSeconds', 600, 1, MAX_SESSION_TTL_SECONDS),
    allowPlainPkce: optionalFlag(options, 'allowPlainPkce', false),
    requirePkce: optionalFlag(options, 'requirePkce', false),
    rotateRefreshTokens: optionalFlag(options, 'rotateRefreshTokens', true),
    grace,
    auditRetentionMs: seconds(options, 'auditRetentionSeconds', 90 * DAY, 60, 3650 * DAY),
  };
  return {
    keyring: options.keyring,
    adapter,
    singleUseAdapter,
    now: (options.now as (() => number) | undefined) ?? Date.now,
    policy,
    onAuditError: options.onAuditError as AuditErrorHandler | undefined,
  };
}
