import { describe, expect, test } from 'vitest';
import { memoryAdapter } from '../../adapters/memory/index.js';
import { Keyring, OAuthStore, generateSecret, type OAuthStorePolicy } from '../../src/index.js';
import { createTestClock } from '../../src/storage/conformance/index.js';
import { pkcePair } from '../oauth/oauth-store-helpers.js';

async function issued(policy: OAuthStorePolicy) {
  const clock = createTestClock();
  const store = new OAuthStore({ keyring: await Keyring.fromSecret(generateSecret()), adapter: memoryAdapter({ now: clock.now }), now: clock.now, ...policy });
  const { client } = await store.registerClient({ type: 'public', redirectUris: ['https://app.example/cb'] });
  const { verifier, challenge } = await pkcePair();
  const { code } = await store.createAuthorizationCode({ clientId: client.clientId, userId: 'edge-user', redirectUri: 'https://app.example/cb', codeChallenge: challenge });
  const tokens = await store.exchangeAuthorizationCode({ clientId: client.clientId, code, redirectUri: 'https://app.example/cb', codeVerifier: verifier });
  return { clock, store, tokens };
}

describe('edge validation (validationCacheSeconds)', () => {
  test('off by default: a revocation takes effect at the next validation', async () => {
    const { store, tokens } = await issued({});
    expect(await store.validateAccessToken(tokens.accessToken)).not.toBeNull();
    await store.revokeGrant(tokens.grantId);
    expect(await store.validateAccessToken(tokens.accessToken)).toBeNull();
  });

  test('with N = 30: a token validated in this isolate keeps validating after its revocation for at most 30 s, never longer', async () => {
    const { clock, store, tokens } = await issued({ validationCacheSeconds: 30 });
    expect(await store.validateAccessToken(tokens.accessToken)).toMatchObject({ userId: 'edge-user' });
    await store.revokeGrant(tokens.grantId);
    clock.advance(29_000);
    expect(await store.validateAccessToken(tokens.accessToken)).toMatchObject({ userId: 'edge-user' }); // the bounded delay
    clock.advance(1_000);
    expect(await store.validateAccessToken(tokens.accessToken)).toBeNull();
    expect(await store.validateAccessToken(tokens.accessToken)).toBeNull(); // and it stays refused
  });

  test('the cache never outlives the token, and never answers for a token it has not seen valid', async () => {
    const { clock, store, tokens } = await issued({ validationCacheSeconds: 300, accessTokenTtlSeconds: 60 });
    expect(await store.validateAccessToken(tokens.accessToken)).not.toBeNull();
    clock.advance(60_000);
    expect(await store.validateAccessToken(tokens.accessToken)).toBeNull();
    const other = await issued({ validationCacheSeconds: 300 });
    await other.store.revokeGrant(other.tokens.grantId);
    expect(await other.store.validateAccessToken(other.tokens.accessToken)).toBeNull();
  });

  test('the bound is checked: more than 300 s is refused', async () => {
    await expect(issued({ validationCacheSeconds: 301 })).rejects.toMatchObject({ field: 'options.validationCacheSeconds' });
  });
});
