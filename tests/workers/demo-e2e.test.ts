// The demo authorization server, driven end to end by oauth4webapi (an
// independent OAuth client library) inside workerd, on both storage setups.
import { env } from 'cloudflare:workers';
import * as oauth from 'oauth4webapi';
import { describe, expect, test } from 'vitest';
import { handleRequest } from '../../examples/authorization-server/src/app.js';
import type { DemoEnv } from '../../examples/authorization-server/src/env.js';
import { generateSecret } from '../../src/index.js';

const ISSUER = 'https://as.demo.test';
const REDIRECT_URI = 'https://client.demo.test/callback';

function demoEnv(storage: 'kv' | 'd1', graceSeconds = 0): DemoEnv {
  return {
    VAULT_SECRET: generateSecret(),
    STORAGE: storage,
    REFRESH_GRACE_SECONDS: String(graceSeconds),
    KV: env.KV,
    DB: env.DB,
    VAULT_DO: env.VAULT_DO as unknown as DurableObjectNamespace,
  };
}

/** Every request oauth4webapi makes goes to the Worker's fetch handler, in-process. */
function transport(demo: DemoEnv) {
  return { [oauth.customFetch]: (url: string, init: RequestInit) => handleRequest(new Request(url, init), demo) };
}

/** Plays the user at /authorize: loads the consent page, signs in as `user`, approves. */
async function authorize(demo: DemoEnv, url: URL, user: string): Promise<URL> {
  const page = await handleRequest(new Request(url), demo);
  expect(page.status).toBe(200);
  const html = await page.text();
  const session = /name="session" value="([^"]+)"/.exec(html)?.[1];
  expect(session).toBeDefined();
  const decision = await handleRequest(
    new Request(`${ISSUER}/authorize`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ session: session!, user, decision: 'approve' }),
    }),
    demo,
  );
  expect(decision.status).toBe(302);
  return new URL(decision.headers.get('Location')!);
}

async function setup(storage: 'kv' | 'd1', authMethod: 'client_secret_basic' | 'none' = 'client_secret_basic', graceSeconds = 0) {
  const demo = demoEnv(storage, graceSeconds);
  const options = transport(demo);
  const as = await oauth.processDiscoveryResponse(new URL(ISSUER), await oauth.discoveryRequest(new URL(ISSUER), { ...options, algorithm: 'oauth2' }));
  const registered = await oauth.processDynamicClientRegistrationResponse(
    await oauth.dynamicClientRegistrationRequest(
      as,
      { redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: authMethod, client_name: 'e2e client', scope: 'profile email' },
      options,
    ),
  );
  const client: oauth.Client = { client_id: registered.client_id, token_endpoint_auth_method: authMethod };
  const clientAuth = authMethod === 'none' ? oauth.None() : oauth.ClientSecretBasic(registered.client_secret as string);
  return { demo, options, as, client, clientAuth, registered };
}

type Ctx = Awaited<ReturnType<typeof setup>>;

async function signIn(ctx: Ctx, user = 'alice') {
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(ctx.as.authorization_endpoint!);
  url.search = new URLSearchParams({
    client_id: ctx.client.client_id,
    redirect_uri: REDIRECT_URI,
    response_type: 'code',
    scope: 'profile',
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
  }).toString();
  const callback = await authorize(ctx.demo, url, user);
  const params = oauth.validateAuthResponse(ctx.as, ctx.client, callback, state);
  return { params, codeVerifier, callback };
}

/** Calls /api/me; a 401 comes back from oauth4webapi as a WWW-Authenticate challenge error. */
async function callApi(ctx: Ctx, accessToken: string): Promise<Response> {
  try {
    return await oauth.protectedResourceRequest(accessToken, 'GET', new URL(`${ISSUER}/api/me`), undefined, undefined, ctx.options);
  } catch (error) {
    if (!(error instanceof oauth.WWWAuthenticateChallengeError)) throw error;
    expect(error.cause[0]?.parameters.error).toBe('invalid_token');
    return error.response;
  }
}

/** Redeems the code of a sign-in at the token endpoint, through oauth4webapi. */
async function exchange(ctx: Ctx, { params, codeVerifier }: { params: URLSearchParams; codeVerifier: string }) {
  return oauth.processAuthorizationCodeResponse(
    ctx.as,
    ctx.client,
    await oauth.authorizationCodeGrantRequest(ctx.as, ctx.client, ctx.clientAuth, params, REDIRECT_URI, codeVerifier, ctx.options),
  );
}

/** Presents a refresh token at the token endpoint, through oauth4webapi. */
async function refresh(ctx: Ctx, refreshToken: string) {
  return oauth.processRefreshTokenResponse(
    ctx.as,
    ctx.client,
    await oauth.refreshTokenGrantRequest(ctx.as, ctx.client, ctx.clientAuth, refreshToken, ctx.options),
  );
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
  describe(`demo authorization server with oauth4webapi (${storage} + Durable Object)`, () => {
    test('discovery, registration, code + PKCE, protected call, refresh with rotation, revocation, introspection', async () => {
      const ctx = await setup(storage);
      expect(ctx.as.issuer).toBe(ISSUER);
      expect(ctx.as.code_challenge_methods_supported).toEqual(['S256']);
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
      expect(await me.json()).toMatchObject({ sub: 'alice', client_id: ctx.client.client_id, scope: 'profile' });

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

      await oauth.processRevocationResponse(
        await oauth.revocationRequest(ctx.as, ctx.client, ctx.clientAuth, refreshed.refresh_token!, ctx.options),
      );
      // Revoking the refresh token revokes its grant's access tokens (RFC 7009 §2.1).
      expect((await callApi(ctx, refreshed.access_token)).status).toBe(401);
      const inactive = await oauth.processIntrospectionResponse(
        ctx.as,
        ctx.client,
        await oauth.introspectionRequest(ctx.as, ctx.client, ctx.clientAuth, refreshed.access_token, ctx.options),
      );
      expect(inactive).toEqual({ active: false });
      await expectOAuthError(
        refresh(ctx, refreshed.refresh_token!),
        'invalid_grant',
      );
    });

    test('a public client (token_endpoint_auth_method none) completes the flow', async () => {
      const ctx = await setup(storage, 'none');
      expect(ctx.registered.client_secret).toBeUndefined();
      const { params, codeVerifier } = await signIn(ctx, 'bob');
      const tokens = await exchange(ctx, { params, codeVerifier });
      expect((await callApi(ctx, tokens.access_token)).status).toBe(200);
    });

    test('a replayed code gets invalid_grant and the first tokens stop working', async () => {
      const ctx = await setup(storage);
      const { params, codeVerifier } = await signIn(ctx);
      const redeem = () => oauth.authorizationCodeGrantRequest(ctx.as, ctx.client, ctx.clientAuth, params, REDIRECT_URI, codeVerifier, ctx.options);
      const tokens = await oauth.processAuthorizationCodeResponse(ctx.as, ctx.client, await redeem());
      expect((await callApi(ctx, tokens.access_token)).status).toBe(200);
      await expectOAuthError(oauth.processAuthorizationCodeResponse(ctx.as, ctx.client, await redeem()), 'invalid_grant');
      expect((await callApi(ctx, tokens.access_token)).status).toBe(401);
      await expectOAuthError(
        refresh(ctx, tokens.refresh_token!),
        'invalid_grant',
      );
    });

    test('with the demo\'s grace window, a retried refresh gets the same successor; past its use limit, reuse revokes', async () => {
      const ctx = await setup(storage, 'client_secret_basic', 30);
      const { params, codeVerifier } = await signIn(ctx);
      const first = await exchange(ctx, { params, codeVerifier });
      const second = await refresh(ctx, first.refresh_token!);
      const retried = await refresh(ctx, first.refresh_token!);
      expect(retried.refresh_token).toBe(second.refresh_token);
      expect((await callApi(ctx, retried.access_token)).status).toBe(200);
      // The window answers a bounded number of retries (3 in the demo); the next one is reuse.
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
      // The whole family is gone: the successor and its access token too.
      expect((await callApi(ctx, second.access_token)).status).toBe(401);
      await expectOAuthError(refresh(ctx, second.refresh_token!), 'invalid_grant');
    });
  });
}
