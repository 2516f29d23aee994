import { env } from 'cloudflare:workers';
import { describe, expect, test } from 'vitest';
import { kvAdapter } from '../../adapters/cloudflare-kv/index.js';
import { Keyring } from '../../src/crypto/keyring.js';
import { generateSecret } from '../../src/crypto/random.js';
import { ConsistencyError, InvalidGrantError, VaultError } from '../../src/errors.js';
import { OAuthStore } from '../../src/oauth/oauth-store.js';
import { createTestClock } from '../../src/storage/conformance/index.js';
import { racyAdapterClaimingAtomicity, pkcePair } from '../oauth/oauth-store-helpers.js';
import { createStorage, type Configuration } from './oauth-storage.js';

/**
 * Scale: 2,000 concurrent redemptions over 200 codes, and 200 refresh
 * families under 10 concurrent rotations each, on every atomic Cloudflare
 * configuration. Exactly one winner per code and per family, never two.
 * Counts and wall times are printed as `[scale] {...}` lines for the report.
 */

const CODES = 200;
const PER_CODE = 10;
const REDIRECT = 'https://client.example/callback';

async function setup(configuration: Configuration) {
  const clock = createTestClock();
  const storage = await createStorage(configuration, clock.now);
  const store = new OAuthStore({
    keyring: await Keyring.fromSecret(generateSecret()),
    adapter: storage.adapter,
    ...(storage.singleUseAdapter && { singleUseAdapter: storage.singleUseAdapter }),
    now: clock.now,
  });
  const { client, clientSecret } = await store.registerClient({ type: 'confidential', redirectUris: [REDIRECT], scope: ['read'] });
  const creds = { clientId: client.clientId, clientSecret: clientSecret! };
  const { verifier, challenge } = await pkcePair();
  const codes: string[] = [];
  for (let index = 0; index < CODES; index += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, CODES - index) }, (_, offset) =>
        store.createAuthorizationCode({ clientId: creds.clientId, userId: `user-${index + offset}`, redirectUri: REDIRECT, scope: ['read'], codeChallenge: challenge }),
      ),
    );
    codes.push(...batch.map((issued) => issued.code));
  }
  return { store, creds, verifier, codes };
}

/** Runs `PER_CODE` concurrent calls per target, all at once; counts winners per target and error kinds. */
async function raceAll<T>(targets: string[], call: (target: string) => Promise<T>) {
  const started = Date.now();
  const settled = await Promise.allSettled(targets.flatMap((target) => Array.from({ length: PER_CODE }, () => call(target))));
  const wallMs = Date.now() - started;
  const winnersPer = targets.map((_, index) => settled.slice(index * PER_CODE, (index + 1) * PER_CODE).filter((result) => result.status === 'fulfilled').length);
  const errors = settled.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
  const invalidGrant = errors.filter((error) => error instanceof InvalidGrantError).length;
  const retriable = errors.filter((error) => error instanceof VaultError && !(error instanceof InvalidGrantError) && error.retriable).length;
  const other = errors.length - invalidGrant - retriable;
  return {
    calls: settled.length,
    winners: winnersPer.reduce((sum, count) => sum + count, 0),
    doubleSpent: winnersPer.filter((count) => count > 1).length,
    targetsWithoutWinner: winnersPer.filter((count) => count === 0).length,
    invalidGrant,
    retriable,
    other,
    wallMs,
    sampleOther: errors.filter((error) => !(error instanceof InvalidGrantError) && !(error instanceof VaultError && error.retriable)).slice(0, 3).map(String),
  };
}

for (const configuration of ['d1', 'durable-object', 'kv+durable-object'] as const) {
  describe(`scale on ${configuration}`, () => {
    test(`${CODES * PER_CODE} concurrent redemptions over ${CODES} codes: exactly ${CODES} winners, no double spend`, async () => {
      const { store, creds, verifier, codes } = await setup(configuration);
      const result = await raceAll(codes, (code) => store.exchangeAuthorizationCode({ ...creds, code, redirectUri: REDIRECT, codeVerifier: verifier }));
      console.log(`[scale] ${JSON.stringify({ configuration, scenario: 'redemption', ...result })}`);
      expect(result.doubleSpent).toBe(0);
      expect(result.other).toBe(0);
      // A lost race is invalid_grant; a retriable backend error would leave a code without winner.
      expect(result.winners + result.targetsWithoutWinner).toBe(CODES);
      expect(result.winners).toBe(CODES);
    }, 300_000);

    test(`${CODES} refresh families, ${PER_CODE} concurrent rotations each: exactly one successor per family`, async () => {
      const { store, creds, verifier, codes } = await setup(configuration);
      const refreshTokens: string[] = [];
      for (let index = 0; index < codes.length; index += 50) {
        const tokens = await Promise.all(
          codes.slice(index, index + 50).map((code) => store.exchangeAuthorizationCode({ ...creds, code, redirectUri: REDIRECT, codeVerifier: verifier })),
        );
        refreshTokens.push(...tokens.map((token) => token.refreshToken!));
      }
      const result = await raceAll(refreshTokens, (refreshToken) => store.refreshAccessToken({ ...creds, refreshToken }));
      console.log(`[scale] ${JSON.stringify({ configuration, scenario: 'rotation', ...result })}`);
      expect(result.doubleSpent).toBe(0);
      expect(result.other).toBe(0);
      expect(result.winners).toBe(CODES);
    }, 300_000);
  });
}

test('negative control: KV that lies about being atomic double-spends under the same race', async () => {
  const clock = createTestClock();
  const kv = kvAdapter({ namespace: env.KV, keyPrefix: `liar-${crypto.randomUUID()}:`, now: clock.now });
  // KV's own read-then-write, as batches and compare-and-sets, declared atomic.
  const lying = racyAdapterClaimingAtomicity(kv);
  const store = new OAuthStore({ keyring: await Keyring.fromSecret(generateSecret()), adapter: lying, now: clock.now });
  const { client, clientSecret } = await store.registerClient({ type: 'confidential', redirectUris: [REDIRECT], scope: ['read'] });
  const creds = { clientId: client.clientId, clientSecret: clientSecret! };
  const { verifier, challenge } = await pkcePair();
  const codes = await Promise.all(
    Array.from({ length: 20 }, (_, index) =>
      store.createAuthorizationCode({ clientId: creds.clientId, userId: `user-${index}`, redirectUri: REDIRECT, scope: ['read'], codeChallenge: challenge }),
    ),
  );
  const result = await raceAll(
    codes.map((issued) => issued.code),
    (code) => store.exchangeAuthorizationCode({ ...creds, code, redirectUri: REDIRECT, codeVerifier: verifier }),
  );
  console.log(`[scale] ${JSON.stringify({ configuration: 'kv claiming atomic (negative control)', scenario: 'redemption', ...result })}`);
  expect(result.doubleSpent).toBeGreaterThan(0);
}, 120_000);

test('KV without single-use routing is refused by OAuthStore with ConsistencyError, at construction', async () => {
  const keyring = await Keyring.fromSecret(generateSecret());
  expect(() => new OAuthStore({ keyring, adapter: kvAdapter({ namespace: env.KV }) })).toThrow(ConsistencyError);
  expect(
    () => new OAuthStore({ keyring, adapter: kvAdapter({ namespace: env.KV }), singleUseAdapter: kvAdapter({ namespace: env.KV }) }),
  ).toThrow(ConsistencyError);
});
