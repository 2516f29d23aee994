import { memoryAdapter } from '../../adapters/memory/index.js';
import { Keyring } from '../../src/crypto/keyring.js';
import { generateSecret } from '../../src/crypto/random.js';
import { OAuthStore } from '../../src/oauth/oauth-store.js';
import type { OAuthStoreOptions, RegisterClientParams } from '../../src/oauth/types.js';
import type { StorageAdapter } from '../../src/storage/contract.js';
import { createTestClock } from '../../src/storage/conformance/index.js';
import { pkcePair } from './oauth-store-helpers.js';

/**
 * A small OAuthStore on the memory adapter for the focused tests that kill surviving mutants
 * (tests/node/*-mutation.test.ts): a clock, one client, and helpers for a code and a full flow.
 */

export const REDIRECT = 'https://app.example/cb';

export async function oauthSetup(policy: Omit<OAuthStoreOptions, 'keyring' | 'adapter'> = {}, client: Partial<RegisterClientParams> = {}, wrap: (adapter: StorageAdapter) => StorageAdapter = (adapter) => adapter) {
  const clock = createTestClock();
  const adapter = memoryAdapter({ now: clock.now });
  const keyring = await Keyring.fromSecret(generateSecret());
  const store = new OAuthStore({ keyring, adapter: wrap(adapter), now: clock.now, ...policy });
  const registered = await store.registerClient({ type: 'confidential', redirectUris: [REDIRECT], scope: ['read', 'write'], ...client } as RegisterClientParams);
  const creds = { clientId: registered.client.clientId, ...(registered.clientSecret !== undefined && { clientSecret: registered.clientSecret }) };
  const issueCode = async (extra: { scope?: string[]; resources?: string[]; props?: unknown; userId?: string } = {}) => {
    const { verifier, challenge } = await pkcePair();
    const issued = await store.createAuthorizationCode({ clientId: creds.clientId, userId: extra.userId ?? 'user-1', redirectUri: REDIRECT, codeChallenge: challenge, scope: extra.scope ?? ['read'], ...(extra.resources && { resources: extra.resources }), ...(extra.props !== undefined && { props: extra.props }) });
    return { ...issued, verifier };
  };
  const authorize = async (extra: Parameters<typeof issueCode>[0] & { dpopJkt?: string } = {}) => {
    const { code, verifier } = await issueCode(extra);
    return store.exchangeAuthorizationCode({ ...creds, code, redirectUri: REDIRECT, codeVerifier: verifier, ...(extra.dpopJkt && { dpopJkt: extra.dpopJkt }) });
  };
  return { clock, adapter, keyring, store, creds, client: registered.client, issueCode, authorize };
}
