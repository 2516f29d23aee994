// The single-use steps of oauth-vault/server's opt-in flows inside workerd, on
// D1, on a Durable Object and on KV + Durable Object: a pushed request_uri used 50 ways at once
// (RFC 9126), a device user code approved 50 ways at once (RFC 8628), and a
// client assertion replayed 50 ways at once (RFC 7523). Each: exactly one wins.
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { describe, expect, test } from 'vitest';
import { Keyring, OAuthStore, generateSecret } from '../../src/index.js';
import { ISSUER, testServer, type TestServerOptions } from '../server/test-app.js';
import { createStorage } from './oauth-storage.js';

const REDIRECT = 'https://client.example.test/cb';
const CONTENDERS = 50;
const form = (body: Record<string, string>, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
  body: new URLSearchParams(body),
});

async function setup(storage: 'd1' | 'durable-object' | 'kv+durable-object', overrides: TestServerOptions) {
  const { adapter, singleUseAdapter } = await createStorage(storage, Date.now);
  const store = new OAuthStore({ keyring: await Keyring.fromSecret(generateSecret()), adapter, ...(singleUseAdapter && { singleUseAdapter }) });
  return { store, server: testServer(store, overrides) };
}

async function challenge(): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode('a-verifier-of-enough-length-for-pkce-0123456789')));
  return btoa(String.fromCharCode(...digest)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

for (const storage of ['d1', 'durable-object', 'kv+durable-object'] as const) {
  describe(`oauth-vault/server flows on ${storage}`, () => {
    test(`${CONTENDERS} concurrent uses of one pushed request_uri: exactly one consent page`, async () => {
      const { store, server } = await setup(storage, { pushedAuthorizationRequests: true });
      const { client } = await store.registerClient({ type: 'public', redirectUris: [REDIRECT] });
      for (let round = 0; round < 2; round++) {
        const pushed = await server.fetch(
          new Request(`${ISSUER}/par`, form({ client_id: client.clientId, response_type: 'code', redirect_uri: REDIRECT, code_challenge: await challenge(), code_challenge_method: 'S256' })),
        );
        expect(pushed.status).toBe(201);
        const { request_uri } = (await pushed.json()) as { request_uri: string };
        const url = `${ISSUER}/authorize?${new URLSearchParams({ client_id: client.clientId, request_uri })}`;
        const responses = await Promise.all(Array.from({ length: CONTENDERS }, () => server.fetch(new Request(url))));
        await Promise.all(responses.map((response) => response.arrayBuffer()));
        expect(responses.map((response) => response.status).sort()).toEqual([200, ...Array(CONTENDERS - 1).fill(400)]);
      }
    });

    test(`${CONTENDERS} concurrent approvals of one device user code: exactly one accepted, one grant`, async () => {
      const { store, server } = await setup(storage, {
        deviceAuthorization: { verificationUri: '/device' },
        fallback: async (request, _env, context) => {
          const form = new URLSearchParams(await request.text());
          try {
            await context.approveDeviceAuthorization(form.get('user_code')!, { userId: form.get('user')! });
            return new Response('approved');
          } catch {
            return new Response('refused', { status: 400 });
          }
        },
      });
      const { client } = await store.registerClient({ type: 'public', grantTypes: ['urn:ietf:params:oauth:grant-type:device_code'] });
      const started = await server.fetch(new Request(`${ISSUER}/device_authorization`, form({ client_id: client.clientId })));
      const { user_code, device_code } = (await started.json()) as { user_code: string; device_code: string };
      const responses = await Promise.all(
        Array.from({ length: CONTENDERS }, (_, index) => server.fetch(new Request(`${ISSUER}/device`, form({ user_code, user: `user-${index}` }, { 'CF-Connecting-IP': `192.0.2.${index}` })))),
      );
      await Promise.all(responses.map((response) => response.arrayBuffer()));
      expect(responses.map((response) => response.status).sort()).toEqual([200, ...Array(CONTENDERS - 1).fill(400)]);
      const tokens = await server.fetch(new Request(`${ISSUER}/token`, form({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code, client_id: client.clientId })));
      expect(tokens.status).toBe(200);
      expect((await store.listClientGrants(client.clientId)).grants).toHaveLength(1);
    });

    test(`one private_key_jwt assertion presented ${CONTENDERS} times at once: exactly one authenticates`, async () => {
      const { store, server } = await setup(storage, { clientAssertions: true });
      const { privateKey, publicKey } = await generateKeyPair('ES256');
      const jwk = { ...(await exportJWK(publicKey)), kid: 'k1' };
      const { client } = await store.registerClient({ type: 'confidential', grantTypes: ['client_credentials'], jwks: { keys: [jwk] } });
      const assertion = await new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer(client.clientId)
        .setSubject(client.clientId)
        .setAudience(ISSUER)
        .setIssuedAt()
        .setExpirationTime('1m')
        .setJti(crypto.randomUUID())
        .sign(privateKey);
      const body = { grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion };
      const responses = await Promise.all(Array.from({ length: CONTENDERS }, () => server.fetch(new Request(`${ISSUER}/token`, form(body)))));
      await Promise.all(responses.map((response) => response.arrayBuffer()));
      expect(responses.map((response) => response.status).sort()).toEqual([200, ...Array(CONTENDERS - 1).fill(401)]);
    });
  });
}
