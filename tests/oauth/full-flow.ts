import { expect } from 'vitest';
import { Keyring } from '../../src/crypto/keyring.js';
import { generateSecret } from '../../src/crypto/random.js';
import { OAuthStore } from '../../src/oauth/oauth-store.js';
import { createTestClock } from '../../src/storage/conformance/index.js';
import { pkcePair } from './oauth-store-helpers.js';
import type { OAuthStoreSuiteStorage } from './oauth-store-suite.js';

/**
 * One full OAuthStore flow on `storage` (register a confidential client,
 * issue a code, exchange it, refresh, validate, introspect) with unique
 * identifiers, returning every secret and identifier it used: what a raw
 * dump of the backend must not contain in any encoding.
 */
export async function fullFlow(storage: OAuthStoreSuiteStorage): Promise<Record<string, string>> {
  const clock = createTestClock();
  const store = new OAuthStore({
    keyring: await Keyring.fromSecret(generateSecret()),
    adapter: storage.adapter,
    ...(storage.singleUseAdapter && { singleUseAdapter: storage.singleUseAdapter }),
    now: clock.now,
  });
  const redirectUri = `https://client-${crypto.randomUUID()}.example/oauth/callback`;
  const scope = [`calendar.read.${crypto.randomUUID().slice(0, 8)}`, `contacts.write.${crypto.randomUUID().slice(0, 8)}`];
  const userId = `user-${crypto.randomUUID()}@example.com`;
  const { client, clientSecret } = await store.registerClient({ type: 'confidential', name: 'Dump test', redirectUris: [redirectUri], scope });
  const creds = { clientId: client.clientId, clientSecret: clientSecret! };
  const { verifier, challenge } = await pkcePair();
  const { code } = await store.createAuthorizationCode({ clientId: client.clientId, userId, redirectUri, scope, codeChallenge: challenge });
  const first = await store.exchangeAuthorizationCode({ ...creds, code, redirectUri, codeVerifier: verifier });
  const second = await store.refreshAccessToken({ ...creds, refreshToken: first.refreshToken! });
  expect(await store.validateAccessToken(second.accessToken)).toMatchObject({ userId });
  expect(await store.introspect(second.accessToken)).toMatchObject({ active: true });
  return {
    code,
    verifier,
    firstAccessToken: first.accessToken,
    firstRefreshToken: first.refreshToken!,
    secondAccessToken: second.accessToken,
    secondRefreshToken: second.refreshToken!,
    clientSecret: clientSecret!,
    userId,
    redirectUri,
    scope0: scope[0]!,
    scope1: scope[1]!,
  };
}
