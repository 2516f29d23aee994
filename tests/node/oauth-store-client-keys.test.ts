// OAuthStore's private_key_jwt clients (RFC 7523): registered with public
// keys (jwks or jwksUri) instead of a secret, sealed with the client record,
// authenticated only with the caller's verdict on an assertion
// (`clientAssertionVerified`), and never by a secret; a secret client never
// by an assertion verdict. Bad keys are typed errors naming the field.
import { describe, expect, test } from 'vitest';
import { InvalidClientError, InvalidRequestError, Keyring, OAuthStore, generateSecret } from '../../src/index.js';
import { memoryAdapter } from '../../adapters/memory/index.js';
import { dumpAdapter, findSecrets } from '../oauth/oauth-store-helpers.js';

const PUBLIC_KEY = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0', kid: 'k1' };

async function newStore() {
  const adapter = memoryAdapter();
  return { adapter, store: new OAuthStore({ keyring: await Keyring.fromSecret(generateSecret()), adapter }) };
}

describe('OAuthStore: clients with keys (private_key_jwt)', () => {
  test('a keyed client gets no secret, keeps its keys sealed, and authenticates only with a verified assertion', async () => {
    const { store, adapter } = await newStore();
    const registered = await store.registerClient({ type: 'confidential', grantTypes: ['client_credentials'], jwks: { keys: [PUBLIC_KEY] } });
    expect(registered.clientSecret).toBeUndefined();
    expect(registered.client.jwks).toEqual({ keys: [PUBLIC_KEY] });
    const id = registered.client.clientId;
    expect((await store.authenticateClient(id, undefined, { clientAssertionVerified: true })).clientId).toBe(id);
    await expect(store.authenticateClient(id)).rejects.toBeInstanceOf(InvalidClientError);
    await expect(store.authenticateClient(id, 'a-guessed-secret')).rejects.toBeInstanceOf(InvalidClientError);
    await expect(store.authenticateClient(id, 'a-guessed-secret', { clientAssertionVerified: true })).rejects.toBeInstanceOf(InvalidClientError);
    const tokens = await store.requestToken({ grantType: 'client_credentials', clientId: id, clientAssertionVerified: true });
    expect(tokens.accessToken).toBeTruthy();
    await expect(store.requestToken({ grantType: 'client_credentials', clientId: id })).rejects.toBeInstanceOf(InvalidClientError);
    // Sealed like the rest of the client: the key's coordinates are nowhere in storage in plaintext.
    expect(findSecrets([await dumpAdapter(adapter)], { x: PUBLIC_KEY.x, y: PUBLIC_KEY.y })).toEqual([]);
  });

  test('a secret client, and a public one, are never authenticated by an assertion verdict', async () => {
    const { store } = await newStore();
    const secretClient = await store.registerClient({ type: 'confidential', grantTypes: ['client_credentials'] });
    const id = secretClient.client.clientId;
    await expect(store.authenticateClient(id, undefined, { clientAssertionVerified: true })).rejects.toBeInstanceOf(InvalidClientError);
    await expect(store.authenticateClient(id, secretClient.clientSecret, { clientAssertionVerified: true })).rejects.toBeInstanceOf(InvalidClientError);
    expect((await store.authenticateClient(id, secretClient.clientSecret)).clientId).toBe(id);
    const publicClient = await store.registerClient({ type: 'public', redirectUris: ['https://app.example.test/cb'] });
    await expect(store.authenticateClient(publicClient.client.clientId, undefined, { clientAssertionVerified: true })).rejects.toBeInstanceOf(InvalidClientError);
  });

  test('keys are checked at the boundary with errors naming the field; updates replace keys, never switch methods', async () => {
    const { store } = await newStore();
    const field = async (promise: Promise<unknown>) => {
      const error = await promise.then(
        () => null,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(InvalidRequestError);
      return (error as InvalidRequestError).field;
    };
    const base = { type: 'confidential' as const, grantTypes: ['client_credentials'] };
    expect(await field(store.registerClient({ ...base, type: 'public', jwks: { keys: [PUBLIC_KEY] } }))).toBe('jwks');
    expect(await field(store.registerClient({ ...base, jwks: { keys: [{ ...PUBLIC_KEY, d: 'private' }] } }))).toBe('jwks.keys[0]');
    expect(await field(store.registerClient({ ...base, jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } }))).toBe('jwks.keys[0].kty');
    expect(await field(store.registerClient({ ...base, jwks: { keys: [] } }))).toBe('jwks.keys');
    expect(await field(store.registerClient({ ...base, jwksUri: 'http://keys.example.test/jwks' }))).toBe('jwksUri');
    expect(await field(store.registerClient({ ...base, jwks: { keys: [PUBLIC_KEY] }, jwksUri: 'https://keys.example.test/jwks' }))).toBe('jwksUri');

    const keyed = await store.registerClient({ ...base, jwksUri: 'https://keys.example.test/jwks' });
    const updated = await store.updateClient(keyed.client.clientId, { jwks: { keys: [PUBLIC_KEY] } });
    expect(updated.client.jwks).toEqual({ keys: [PUBLIC_KEY] });
    expect(updated.client.jwksUri).toBeUndefined();
    expect(await field(store.updateClient(keyed.client.clientId, { rotateSecret: true }))).toBe('rotateSecret');
    const secretClient = await store.registerClient(base);
    expect(await field(store.updateClient(secretClient.client.clientId, { jwks: { keys: [PUBLIC_KEY] } }))).toBe('jwks');
  });
});
