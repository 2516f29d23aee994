// oauth-vault/server driven end to end by oauth4webapi (an independent OAuth
// client library) inside workerd, on KV + Durable Object and on D1 + Durable
// Object: discovery, registration, code + PKCE + resource, protected calls,
// refresh with rotation, revocation, introspection, client credentials.
import * as oauth from 'oauth4webapi';
import { describe, expect, test } from 'vitest';
import { Keyring, OAuthStore, generateSecret } from '../../src/index.js';
import type { AuthorizationServer } from '../../src/server/index.js';
import { ISSUER, handleOf, testServer } from '../server/test-app.js';
import { createStorage } from './oauth-storage.js';

const REDIRECT_URI = 'https://client.example.test/callback';
const MCP = `${ISSUER}/mcp`;

async function newServer(storage: 'kv' | 'd1', graceSeconds = 0): Promise<AuthorizationServer> {
  const { adapter, singleUseAdapter } = await createStorage(storage === 'kv' ? 'kv+durable-object' : 'd1', Date.now);
  const store = new OAuthStore({
    keyring: await Keyring.fromSecret(generateSecret()),
    adapter,
    ...(singleUseAdapter && { singleUseAdapter }),
    ...(graceSeconds > 0 && { refreshGrace: { windowSeconds: graceSeconds, maxUses: 3 } }),
  });
  return testServer(store);
}

/** Every request oauth4webapi makes goes to the server's fetch, in-process. */
const transport = (server: AuthorizationServer) => ({ [oauth.customFetch]: (url: string, init: RequestInit) => server.fetch(new Request(url, init)) });

/** Plays the user: loads the consent page, approves as `user`; returns the redirect back. */
async function approve(server: AuthorizationServer, url: URL, user: string, scope?: string): Promise<URL> {
  const page = await server.fetch(new Request(url));
  expect(page.status).toBe(200);
  const handle = await handleOf(page);
  const decision = await server.fetch(
    new Request(`${ISSUER}/consent`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ handle, user, ...(scope !== undefined && { scope }) }),
    }),
  );
  expect(decision.status).toBe(302);
  return new URL(decision.headers.get('Location')!);
}

async function setup(storage: 'kv' | 'd1', authMethod: 'client_secret_basic' | 'none' = 'client_secret_basic', graceSeconds = 0, grantTypes?: string[]) {
  const server = await newServer(storage, graceSeconds);
  const options = transport(server);
  const as = await oauth.processDiscoveryResponse(new URL(ISSUER), await oauth.discoveryRequest(new URL(ISSUER), { ...options, algorithm: 'oauth2' }));
  const registered = await oauth.processDynamicClientRegistrationResponse(
    await oauth.dynamicClientRegistrationRequest(
      as,
      {
        redirect_uris: [REDIRECT_URI],
        token_endpoint_auth_method: authMethod,
        client_name: 'e2e client',
        scope: 'profile email notes',
        ...(grantTypes && { grant_types: grantTypes }),
      },
      options,
    ),
  );
  const client: oauth.Client = { client_id: registered.client_id, token_endpoint_auth_method: authMethod };
  const clientAuth = authMethod === 'none' ? oauth.None() : oauth.ClientSecretBasic(registered.client_secret as string);
  return { server, options, as, client, clientAuth, registered };
}

type Ctx = Awaited<ReturnType<typeof setup>>;

async function signIn(ctx: Ctx, user = 'alice', extra: { scope?: string; resource?: string } = {}) {
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(ctx.as.authorization_endpoint!);
  url.search = new URLSearchParams({
    client_id: ctx.client.client_id,
    redirect_uri: REDIRECT_URI,
    response_type: 'code',
    scope: extra.scope ?? 'profile',
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    ...(extra.resource !== undefined && { resource: extra.resource }),
  }).toString();
  const callback = await approve(ctx.server, url, user);
  const params = oauth.validateAuthResponse(ctx.as, ctx.client, callback, state);
  return { params, codeVerifier, callback };
}

/** Calls a protected route; a 401 comes back from oauth4webapi as a WWW-Authenticate challenge error. */
async function callApi(ctx: Ctx, accessToken: string, path = '/api/me'): Promise<Response> {
  try {
    return await oauth.protectedResourceRequest(accessToken, 'GET', new URL(`${ISSUER}${path}`), undefined, undefined, ctx.options);
  } catch (error) {
    if (!(error instanceof oauth.WWWAuthenticateChallengeError)) throw error;
    expect(error.cause[0]?.parameters.error).toBe('invalid_token');
    return error.response;
  }
}

async function exchange(ctx: Ctx, { params, codeVerifier }: { params: URLSearchParams; codeVerifier: string }, resource?: string) {
  return oauth.processAuthorizationCodeResponse(
    ctx.as,
    ctx.client,
    await oauth.authorizationCodeGrantRequest(ctx.as, ctx.client, ctx.clientAuth, params, REDIRECT_URI, codeVerifier, {
      ...ctx.options,
      ...(resource !== undefined && { additionalParameters: { resource } }),
    }),
  );
}

async function refresh(ctx: Ctx, refreshToken: string) {
  return oauth.processRefreshTokenResponse(ctx.as, ctx.client, await oauth.refreshTokenGrantRequest(ctx.as, ctx.client, ctx.clientAuth, refreshToken, ctx.options));
}

async function expectOAuthError(promise: Promise<unknown>, error: string): Promise<void> {
  const caught = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(caught).toBeInstanceOf(oauth.ResponseBodyError);
  expect((caught as oauth.ResponseBodyError).error).toBe(error);
}

for (const storage of ['kv', 'd1'] as const) {
  describe(`oauth-vault/server with oauth4webapi (${storage} + Durable Object)`, () => {
    test('discovery, registration, code + PKCE, protected call, refresh with rotation, revocation, introspection', async () => {
      const ctx = await setup(storage);
      expect(ctx.as.issuer).toBe(ISSUER);
      expect(ctx.as.code_challenge_methods_supported).toEqual(['S256']);
      expect(ctx.as.grant_types_supported).toEqual(['authorization_code', 'refresh_token', 'client_credentials']);
      expect(typeof ctx.registered.client_secret).toBe('string');

      const { params, codeVerifier, callback } = await signIn(ctx, 'alice');
      expect(callback.searchParams.get('iss')).toBe(ISSUER);
      const tokens = await exchange(ctx, { params, codeVerifier });
      expect(tokens.token_type).toBe('bearer');
      expect(tokens.scope).toBe('profile');
      expect(tokens.expires_in).toBe(3600);
      expect(tokens.refresh_token).toBeDefined();

      const me = await callApi(ctx, tokens.access_token);
      expect(me.status).toBe(200);
      expect(await me.json()).toMatchObject({ sub: 'alice', client_id: ctx.client.client_id, scope: 'profile', props: { plan: 'pro' } });

      const refreshed = await refresh(ctx, tokens.refresh_token!);
      expect(refreshed.refresh_token).toBeDefined();
      expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
      expect(refreshed.access_token).not.toBe(tokens.access_token);
      expect((await callApi(ctx, refreshed.access_token)).status).toBe(200);

      const active = await oauth.processIntrospectionResponse(
        ctx.as,
        ctx.client,
        await oauth.introspectionRequest(ctx.as, ctx.client, ctx.clientAuth, refreshed.access_token, ctx.options),
      );
      expect(active).toMatchObject({ active: true, client_id: ctx.client.client_id, sub: 'alice', scope: 'profile' });

      await oauth.processRevocationResponse(await oauth.revocationRequest(ctx.as, ctx.client, ctx.clientAuth, refreshed.refresh_token!, ctx.options));
      // Revoking the refresh token revokes its grant's access tokens (RFC 7009 §2.1).
      expect((await callApi(ctx, refreshed.access_token)).status).toBe(401);
      const inactive = await oauth.processIntrospectionResponse(
        ctx.as,
        ctx.client,
        await oauth.introspectionRequest(ctx.as, ctx.client, ctx.clientAuth, refreshed.access_token, ctx.options),
      );
      expect(inactive).toEqual({ active: false });
      await expectOAuthError(refresh(ctx, refreshed.refresh_token!), 'invalid_grant');
    });

    test('a public client (token_endpoint_auth_method none) completes the flow', async () => {
      const ctx = await setup(storage, 'none');
      expect(ctx.registered.client_secret).toBeUndefined();
      const { params, codeVerifier } = await signIn(ctx, 'bob');
      const tokens = await exchange(ctx, { params, codeVerifier });
      expect((await callApi(ctx, tokens.access_token)).status).toBe(200);
    });

    test('resource (RFC 8707): the token is bound to the audience-bound route and refused by it without one', async () => {
      const ctx = await setup(storage, 'none');
      const bound = await exchange(ctx, await signIn(ctx, 'carol', { scope: 'notes', resource: MCP }), MCP);
      const mcp = await callApi(ctx, bound.access_token, '/mcp');
      expect(mcp.status).toBe(200);
      expect(await mcp.json()).toEqual({ sub: 'carol', resource: MCP, resources: [MCP] });
      // A token issued without resource has no audience: the MCP route refuses it.
      const unbound = await exchange(ctx, await signIn(ctx, 'carol', { scope: 'notes' }));
      expect((await callApi(ctx, unbound.access_token, '/mcp')).status).toBe(401);
      expect((await callApi(ctx, unbound.access_token)).status).toBe(200);
    });

    test('a replayed code gets invalid_grant and the first tokens stop working', async () => {
      const ctx = await setup(storage);
      const { params, codeVerifier } = await signIn(ctx);
      const redeem = () => oauth.authorizationCodeGrantRequest(ctx.as, ctx.client, ctx.clientAuth, params, REDIRECT_URI, codeVerifier, ctx.options);
      const tokens = await oauth.processAuthorizationCodeResponse(ctx.as, ctx.client, await redeem());
      expect((await callApi(ctx, tokens.access_token)).status).toBe(200);
      await expectOAuthError(oauth.processAuthorizationCodeResponse(ctx.as, ctx.client, await redeem()), 'invalid_grant');
      expect((await callApi(ctx, tokens.access_token)).status).toBe(401);
      await expectOAuthError(refresh(ctx, tokens.refresh_token!), 'invalid_grant');
    });

    test('with a grace window, a retried refresh gets the same successor; past its use limit, reuse revokes', async () => {
      const ctx = await setup(storage, 'client_secret_basic', 30);
      const { params, codeVerifier } = await signIn(ctx);
      const first = await exchange(ctx, { params, codeVerifier });
      const second = await refresh(ctx, first.refresh_token!);
      const retried = await refresh(ctx, first.refresh_token!);
      expect(retried.refresh_token).toBe(second.refresh_token);
      expect((await callApi(ctx, retried.access_token)).status).toBe(200);
      await refresh(ctx, first.refresh_token!);
      await refresh(ctx, first.refresh_token!);
      await expectOAuthError(refresh(ctx, first.refresh_token!), 'invalid_grant');
      expect((await callApi(ctx, second.access_token)).status).toBe(401);
    });

    test('a reused rotated refresh token gets invalid_grant and revokes the grant', async () => {
      const ctx = await setup(storage);
      const { params, codeVerifier } = await signIn(ctx);
      const first = await exchange(ctx, { params, codeVerifier });
      const second = await refresh(ctx, first.refresh_token!);
      await expectOAuthError(refresh(ctx, first.refresh_token!), 'invalid_grant');
      expect((await callApi(ctx, second.access_token)).status).toBe(401);
      await expectOAuthError(refresh(ctx, second.refresh_token!), 'invalid_grant');
    });

    test('client credentials end to end: register for the grant, get a token for the client itself, call, introspect, revoke', async () => {
      const ctx = await setup(storage, 'client_secret_basic', 0, ['client_credentials']);
      expect(ctx.registered.grant_types).toEqual(['client_credentials']);
      const tokens = await oauth.processClientCredentialsResponse(
        ctx.as,
        ctx.client,
        await oauth.clientCredentialsGrantRequest(ctx.as, ctx.client, ctx.clientAuth, new URLSearchParams({ scope: 'notes', resource: MCP }), ctx.options),
      );
      expect(tokens.refresh_token).toBeUndefined();
      expect(tokens.scope).toBe('notes');
      const call = await callApi(ctx, tokens.access_token, '/mcp');
      expect(call.status).toBe(200);
      expect(await call.json()).toMatchObject({ sub: ctx.client.client_id });
      const info = await oauth.processIntrospectionResponse(
        ctx.as,
        ctx.client,
        await oauth.introspectionRequest(ctx.as, ctx.client, ctx.clientAuth, tokens.access_token, ctx.options),
      );
      expect(info).toMatchObject({ active: true, client_id: ctx.client.client_id, sub: ctx.client.client_id, aud: MCP });
      await oauth.processRevocationResponse(await oauth.revocationRequest(ctx.as, ctx.client, ctx.clientAuth, tokens.access_token, ctx.options));
      expect((await callApi(ctx, tokens.access_token, '/mcp')).status).toBe(401);
      // A client registered without the grant may not use it.
      const other = await setup(storage);
      await expectOAuthError(
        oauth.processClientCredentialsResponse(other.as, other.client, await oauth.clientCredentialsGrantRequest(other.as, other.client, other.clientAuth, new URLSearchParams(), other.options)),
        'unauthorized_client',
      );
    });
  });
}
