import type { StorageAdapter } from '../storage/contract.js';
import { Keyring } from '../crypto/keyring.js';
import { ConsistencyError, InvalidRequestError } from '../errors.js';
import { optionalInteger, requireBoolean, requireObject } from '../util/validate.js';
import type { GrantHandler } from './grants/handler.js';
import { onlyKeys, requireResources } from './input.js';
import type { RecordKind } from './record-kinds.js';
import type { AuditMode, OAuthStoreOptions } from './types.js';

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
  audit: AuditMode;
  /** Resources the store issues tokens for; `undefined`: any absolute URI. */
  resources: readonly string[] | undefined;
  clientCacheMs: number;
  validationCacheMs: number;
  signingKeyRotationMs: number;
  signingKeyOverlapMs: number;
}

export interface ResolvedOptions {
  keyring: Keyring;
  adapter: StorageAdapter;
  singleUseAdapter: StorageAdapter;
  now: () => number;
  policy: ResolvedPolicy;
  grants: readonly GrantHandler[];
  records: readonly RecordKind[];
}

const DAY = 86_400;
export const MAX_CODE_TTL_SECONDS = 600;
export const MAX_SESSION_TTL_SECONDS = 3600;

// Every option once; `satisfies` fails to compile when this and OAuthStoreOptions disagree.
const OPTION_KEYS = {
  keyring: true,
  adapter: true,
  singleUseAdapter: true,
  now: true,
  grants: true,
  records: true,
  codeTtlSeconds: true,
  accessTokenTtlSeconds: true,
  refreshTokenIdleSeconds: true,
  grantLifetimeSeconds: true,
  sessionTtlSeconds: true,
  allowPlainPkce: true,
  requirePkce: true,
  rotateRefreshTokens: true,
  refreshGrace: true,
  auditRetentionSeconds: true,
  audit: true,
  resources: true,
  clientCacheSeconds: true,
  validationCacheSeconds: true,
  signingKeyRotationSeconds: true,
  signingKeyOverlapSeconds: true,
} as const satisfies Record<keyof OAuthStoreOptions, true>;

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

function optionalList<T>(field: string, value: unknown): readonly T[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new InvalidRequestError(field, 'must be an array');
  return value as T[];
}

/**
 * Checks the constructor options. Refuses a single-use store that is not
 * atomic or has no atomic batches: exactly-once codes and rotation are built
 * on them, and saying so at construction beats finding out at the first race.
 */
export function resolveOptions(input: OAuthStoreOptions): ResolvedOptions {
  const options = requireObject('options', input);
  // A typo (`refreshGraceSeconds`) must not silently fall back to a default.
  onlyKeys('options', options, Object.keys(OPTION_KEYS));
  if (!(options.keyring instanceof Keyring)) throw new InvalidRequestError('options.keyring', 'must be a Keyring');
  const adapter = checkAdapter('options.adapter', options.adapter);
  const singleUseAdapter = options.singleUseAdapter === undefined ? adapter : checkAdapter('options.singleUseAdapter', options.singleUseAdapter);
  const named = options.singleUseAdapter === undefined ? `adapter "${adapter.name}"` : `singleUseAdapter "${singleUseAdapter.name}"`;
  if (!singleUseAdapter.capabilities.atomic) {
    throw new ConsistencyError(
      options.singleUseAdapter === undefined
        ? `${named} has no atomic compare-and-set; pass an atomic "singleUseAdapter" (e.g. a Durable Object) for codes and refresh tokens`
        : `${named} has no atomic compare-and-set`,
    );
  }
  if (!singleUseAdapter.capabilities.atomicBatch || typeof singleUseAdapter.batch !== 'function') {
    throw new ConsistencyError(`${named} has no atomic batches; every grant transition is one`);
  }
  if (options.now !== undefined && typeof options.now !== 'function') throw new InvalidRequestError('options.now', 'must be a function');
  let grace: ResolvedPolicy['grace'];
  if (options.refreshGrace !== undefined) {
    const g = requireObject('options.refreshGrace', options.refreshGrace);
    onlyKeys('options.refreshGrace', g, ['windowSeconds', 'maxUses']);
    const windowSeconds = optionalInteger('options.refreshGrace.windowSeconds', g.windowSeconds, 1, 60);
    const maxUses = optionalInteger('options.refreshGrace.maxUses', g.maxUses, 1, 1000);
    if (windowSeconds === undefined) throw new InvalidRequestError('options.refreshGrace.windowSeconds', 'is required');
    if (maxUses === undefined) throw new InvalidRequestError('options.refreshGrace.maxUses', 'is required');
    grace = { windowMs: windowSeconds * 1000, maxUses };
  }
  const audit = options.audit ?? 'events';
  if (audit !== 'events' && audit !== 'off') throw new InvalidRequestError('options.audit', 'must be "events" or "off"');
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
    audit,
    resources: options.resources === undefined ? undefined : requireResources('options.resources', options.resources, 1),
    clientCacheMs: seconds(options, 'clientCacheSeconds', 60, 0, 3600),
    validationCacheMs: seconds(options, 'validationCacheSeconds', 0, 0, 300),
    signingKeyRotationMs: seconds(options, 'signingKeyRotationSeconds', 30 * DAY, 3600, 400 * DAY),
    signingKeyOverlapMs: 0,
  };
  policy.signingKeyOverlapMs = seconds(options, 'signingKeyOverlapSeconds', policy.accessTokenTtlMs / 1000 + 3600, policy.accessTokenTtlMs / 1000, 400 * DAY);
  return {
    keyring: options.keyring,
    adapter,
    singleUseAdapter,
    now: (options.now as (() => number) | undefined) ?? Date.now,
    policy,
    grants: optionalList<GrantHandler>('options.grants', options.grants),
    records: optionalList<RecordKind>('options.records', options.records),
  };
}
