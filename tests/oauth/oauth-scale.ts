import { describe, expect, test } from 'vitest';
import { Keyring } from '../../src/crypto/keyring.js';
import { generateSecret } from '../../src/crypto/random.js';
import { InvalidGrantError, VaultError } from '../../src/errors.js';
import { OAuthStore } from '../../src/oauth/oauth-store.js';
import { createTestClock, type TestClock } from '../../src/storage/conformance/index.js';
import { pkcePair } from './oauth-store-helpers.js';
import type { OAuthStoreSuiteStorage } from './oauth-store-suite.js';

/**
 * The scale races, for any storage: 2,000 concurrent redemptions over 200
 * codes, and 200 refresh families under 10 concurrent rotations each.
 * Exactly one winner per code and per family, never two. Counts and wall
 * times are printed as `[scale] {...}` lines for the report. Web APIs and
 * vitest only: runs in workerd and in Node.
 */

export const SCALE_CODES = 200;
export const SCALE_PER_TARGET = 10;
export const SCALE_REDIRECT = 'https://client.example/callback';

/** A store on `storage` with one confidential client and `codes` fresh codes (PKCE), issued 50 at a time. */
export async function setupScale(storage: OAuthStoreSuiteStorage, clock: TestClock = createTestClock(), codes = SCALE_CODES) {
  const keyring = await Keyring.fromSecret(generateSecret());
  const store = new OAuthStore({
    keyring,
    adapter: storage.adapter,
    ...(storage.singleUseAdapter && { singleUseAdapter: storage.singleUseAdapter }),
    now: clock.now,
  });
  const { client, clientSecret } = await store.registerClient({ type: 'confidential', redirectUris: [SCALE_REDIRECT], scope: ['read'] });
  const creds = { clientId: client.clientId, clientSecret: clientSecret! };
  const { verifier, challenge } = await pkcePair();
  const issued: string[] = [];
  for (let index = 0; index < codes; index += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, codes - index) }, (_, offset) =>
        store.createAuthorizationCode({ clientId: creds.clientId, userId: `user-${index + offset}`, redirectUri: SCALE_REDIRECT, scope: ['read'], codeChallenge: challenge }),
      ),
    );
    issued.push(...batch.map((code) => code.code));
  }
  const exchange = (code: string) => store.exchangeAuthorizationCode({ ...creds, code, redirectUri: SCALE_REDIRECT, codeVerifier: verifier });
  return { store, keyring, creds, verifier, codes: issued, exchange };
}

export interface RaceCount {
  calls: number;
  winners: number;
  /** Targets with more than one winner. */
  doubleSpent: number;
  targetsWithoutWinner: number;
  invalidGrant: number;
  /** Retriable errors other than invalid_grant (a backend that failed). */
  retriable: number;
  other: number;
  wallMs: number;
  sampleOther: string[];
  /** A few retriable errors, with their causes. */
  sampleRetriable: string[];
  /** Winners per target, in the order of `targets`. */
  winnersPer: number[];
  /** Retriable errors per target, in the order of `targets`. */
  retriablePer: number[];
}

/** Runs `perTarget` concurrent calls per target, all at once; counts winners per target and error kinds. */
export async function raceAll<T>(targets: readonly string[], call: (target: string) => Promise<T>, perTarget = SCALE_PER_TARGET): Promise<RaceCount> {
  const started = Date.now();
  const settled = await Promise.allSettled(targets.flatMap((target) => Array.from({ length: perTarget }, () => call(target))));
  const wallMs = Date.now() - started;
  const slice = (index: number) => settled.slice(index * perTarget, (index + 1) * perTarget);
  const isRetriable = (error: unknown) => error instanceof VaultError && !(error instanceof InvalidGrantError) && error.retriable;
  const winnersPer = targets.map((_, index) => slice(index).filter((result) => result.status === 'fulfilled').length);
  const retriablePer = targets.map((_, index) => slice(index).filter((result) => result.status === 'rejected' && isRetriable(result.reason)).length);
  const errors = settled.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
  const invalidGrant = errors.filter((error) => error instanceof InvalidGrantError).length;
  const retriable = errors.filter(isRetriable).length;
  return {
    calls: settled.length,
    winners: winnersPer.reduce((sum, count) => sum + count, 0),
    doubleSpent: winnersPer.filter((count) => count > 1).length,
    targetsWithoutWinner: winnersPer.filter((count) => count === 0).length,
    invalidGrant,
    retriable,
    other: errors.length - invalidGrant - retriable,
    wallMs,
    sampleOther: errors.filter((error) => !(error instanceof InvalidGrantError) && !isRetriable(error)).slice(0, 3).map(String),
    sampleRetriable: [...new Set(errors.filter(isRetriable).map((error) => `${String(error)} (${String((error as Error).cause)})`))].slice(0, 3),
    winnersPer,
    retriablePer,
  };
}

/** The printable part of a count (without the per-target arrays). */
export function summary({ winnersPer: _w, retriablePer: _r, ...count }: RaceCount): Omit<RaceCount, 'winnersPer' | 'retriablePer'> {
  return count;
}

/** The two scale races on storage from `create`, labelled `configuration` in the `[scale]` lines. */
export function describeScaleRaces(configuration: string, create: (clock: TestClock) => Promise<OAuthStoreSuiteStorage>): void {
  describe(`scale on ${configuration}`, () => {
    test(`${SCALE_CODES * SCALE_PER_TARGET} concurrent redemptions over ${SCALE_CODES} codes: exactly ${SCALE_CODES} winners, no double spend`, async () => {
      const clock = createTestClock();
      const { codes, exchange } = await setupScale(await create(clock), clock);
      const result = await raceAll(codes, exchange);
      console.log(`[scale] ${JSON.stringify({ configuration, scenario: 'redemption', ...summary(result) })}`);
      expect(result.doubleSpent).toBe(0);
      expect(result.other).toBe(0);
      // A lost race is invalid_grant; a retriable backend error would leave a code without winner.
      expect(result.winners + result.targetsWithoutWinner).toBe(SCALE_CODES);
      expect(result.winners).toBe(SCALE_CODES);
    }, 300_000);

    test(`${SCALE_CODES} refresh families, ${SCALE_PER_TARGET} concurrent rotations each: exactly one successor per family`, async () => {
      const clock = createTestClock();
      const { store, creds, codes, exchange } = await setupScale(await create(clock), clock);
      const refreshTokens: string[] = [];
      for (let index = 0; index < codes.length; index += 50) {
        const tokens = await Promise.all(codes.slice(index, index + 50).map(exchange));
        refreshTokens.push(...tokens.map((token) => token.refreshToken!));
      }
      const result = await raceAll(refreshTokens, (refreshToken) => store.refreshAccessToken({ ...creds, refreshToken }));
      console.log(`[scale] ${JSON.stringify({ configuration, scenario: 'rotation', ...summary(result) })}`);
      expect(result.doubleSpent).toBe(0);
      expect(result.other).toBe(0);
      expect(result.winners).toBe(SCALE_CODES);
    }, 300_000);
  });
}
