// The device authorization grant (RFC 8628) through oauth-vault/server: the
// metadata, /device_authorization, polling /token (authorization_pending,
// slow_down, access_denied, expired_token, tokens once), the app's approval
// route on the ServerContext helpers, the brute-force limit on user codes,
// and 50 concurrent approvals of one user code over real HTTP (with the
// negative control on a storage that only claims atomicity).
import { afterEach, describe, expect, test } from 'vitest';
import { Keyring, OAuthStore, generateSecret } from '../../src/index.js';
import { memoryAdapter } from '../../adapters/memory/index.js';
import { readForm, type AppHandler } from '../../src/server/index.js';
import type { StorageAdapter } from '../../src/storage/contract.js';
import { racyAdapterClaimingAtomicity } from '../oauth/oauth-store-helpers.js';
import { testServer, type TestServerOptions } from '../server/test-app.js';
import { serveFetch, type FetchServer } from '../support/serve-fetch.js';

const ORIGIN = 'https://as.example.test';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const CONTENDERS = 50;
let running: FetchServer | undefined;

afterEach(async () => {
  await running?.stop();
  running = undefined;
});

/** The app's device page: GET looks a code up, POST approves or denies it; refusals as JSON with their error code. */
const deviceRoute: AppHandler<unknown> = async (request, _env, context) => {
  const url = new URL(request.url);
  if (url.pathname !== '/device') return new Response('not found', { status: 404 });
  try {
    if (request.method === 'GET') {
      const found = await context.getDeviceAuthorization(url.searchParams.get('user_code') ?? '');
      return found ? Response.json(found) : Response.json({ error: 'unknown_code' }, { status: 404 });
    }
    const form = await readForm(request);
    const userCode = form.get('user_code') ?? '';
    if (form.get('decision') === 'deny') await context.denyDeviceAuthorization(userCode);
    else await context.approveDeviceAuthorization(userCode, { userId: form.get('user') ?? 'alice', props: { via: 'device' } });
    return Response.json({ ok: true });
  } catch (error) {
    const code = (error as { oauthError?: string }).oauthError ?? 'server_error';
    return Response.json({ error: code }, { status: code === 'slow_down' ? 429 : 400 });
  }
};

async function setup(overrides: TestServerOptions = {}, adapters?: { inner: StorageAdapter; serving: StorageAdapter }) {
  let clock = Date.now();
  const now = () => clock;
  const keyring = await Keyring.fromSecret(generateSecret());
  const inner = adapters?.inner ?? memoryAdapter();
  const store = new OAuthStore({ keyring, adapter: adapters?.serving ?? inner, now });
  const server = testServer(store, {
    deviceAuthorization: { verificationUri: '/device', attemptKey: (request) => request.headers.get('X-Caller') ?? 'anyone' },
    fallback: deviceRoute,
    ...overrides,
  });
  const post = (path: string, body: Record<string, string>, headers: Record<string, string> = {}) =>
    server.fetch(new Request(`${ORIGIN}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(body) }));
  const registered = await server.fetch(
    new Request(`${ORIGIN}/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token_endpoint_auth_method: 'none', grant_types: [DEVICE_GRANT, 'refresh_token'], client_name: 'TV', scope: 'profile notes' }),
    }),
  );
  const clientId = registered.status === 201 ? ((await registered.json()) as { client_id: string }).client_id : '';
  const start = async (scope = 'profile') => {
    const response = await post('/device_authorization', { client_id: clientId, scope });
    expect(response.status).toBe(200);
    return (await response.json()) as { device_code: string; user_code: string; verification_uri: string; verification_uri_complete: string; expires_in: number; interval: number };
  };
  const poll = async (deviceCode: string) => {
    const response = await post('/token', { grant_type: DEVICE_GRANT, device_code: deviceCode, client_id: clientId });
    return { status: response.status, body: (await response.json()) as { error?: string; access_token?: string; refresh_token?: string; scope?: string } };
  };
  const approve = (userCode: string, caller = 'browser', decision = 'approve') => post('/device', { user_code: userCode, decision }, { 'X-Caller': caller });
  return { server, store, registered, clientId, post, start, poll, approve, advance: (ms: number) => (clock += ms) };
}

const metadataOf = async (server: ReturnType<typeof testServer>) =>
  (await (await server.fetch(new Request(`${ORIGIN}/.well-known/oauth-authorization-server`))).json()) as Record<string, unknown>;

describe('oauth-vault/server: device authorization grant (RFC 8628)', () => {
  test('the metadata names the endpoint and the grant type only when the flow is on', async () => {
    const on = await setup();
    expect(await metadataOf(on.server)).toMatchObject({ device_authorization_endpoint: `${ORIGIN}/device_authorization` });
    expect((await metadataOf(on.server)).grant_types_supported).toContain(DEVICE_GRANT);
    const off = await setup({ deviceAuthorization: undefined });
    const metadata = await metadataOf(off.server);
    expect(metadata).not.toHaveProperty('device_authorization_endpoint');
    expect(metadata.grant_types_supported).not.toContain(DEVICE_GRANT);
    // Nor can a client register for it, or use it.
    expect(off.registered.status).toBe(400);
    expect((await off.post('/device_authorization', { client_id: 'x' })).status).toBe(404);
    const token = await off.post('/token', { grant_type: DEVICE_GRANT, device_code: 'x', client_id: 'x' });
    expect(((await token.json()) as { error: string }).error).toBe('unsupported_grant_type');
  });

  test('end to end: the device starts, polls (pending, then slow_down when too fast), the user approves on the app page, the next poll gets tokens once', async () => {
    const t = await setup();
    const started = await t.start('profile notes');
    expect(started.verification_uri).toBe(`${ORIGIN}/device`);
    expect(started.verification_uri_complete).toBe(`${ORIGIN}/device?user_code=${started.user_code}`);
    expect(started.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    expect(started.interval).toBe(5);
    expect(started.expires_in).toBe(600);

    expect(await t.poll(started.device_code)).toEqual({ status: 400, body: expect.objectContaining({ error: 'authorization_pending' }) });
    t.advance(1000);
    expect((await t.poll(started.device_code)).body.error).toBe('slow_down');
    t.advance(5000);
    expect((await t.poll(started.device_code)).body.error).toBe('authorization_pending');

    // The user types the code in lower case with a space: the page finds it and shows what the device asks for.
    const page = await t.server.fetch(new Request(`${ORIGIN}/device?user_code=${encodeURIComponent(started.user_code.toLowerCase().replace('-', ' '))}`));
    expect(page.status).toBe(200);
    expect(await page.json()).toMatchObject({ userCode: started.user_code, client: { clientId: t.clientId, name: 'TV' }, scope: ['profile', 'notes'], decided: false });
    expect((await t.approve(started.user_code)).status).toBe(200);

    t.advance(5000);
    const tokens = await t.poll(started.device_code);
    expect(tokens.status).toBe(200);
    expect(tokens.body.scope).toBe('profile notes');
    expect(tokens.body.refresh_token).toBeDefined();
    const me = await t.server.fetch(new Request(`${ORIGIN}/api/me`, { headers: { Authorization: `Bearer ${tokens.body.access_token}` } }));
    expect(await me.json()).toMatchObject({ sub: 'alice', client_id: t.clientId, props: { via: 'device' } });
    // The device code is used up.
    t.advance(5000);
    expect((await t.poll(started.device_code)).body.error).toBe('invalid_grant');
  });

  test('a denied code gets access_denied; an expired one expired_token', async () => {
    const t = await setup();
    const denied = await t.start();
    expect((await t.approve(denied.user_code, 'browser', 'deny')).status).toBe(200);
    expect((await t.poll(denied.device_code)).body.error).toBe('access_denied');
    const late = await t.start();
    t.advance(601_000);
    expect((await t.poll(late.device_code)).body.error).toBe('expired_token');
    expect((await t.approve(late.user_code)).status).toBe(400);
  });

  test('wrong user codes are limited per caller: after 10 misses even the right code is refused for that caller, not for others', async () => {
    const t = await setup();
    const started = await t.start();
    const lookup = (code: string, caller: string) => t.server.fetch(new Request(`${ORIGIN}/device?user_code=${code}`, { headers: { 'X-Caller': caller } }));
    const wrong = ['BBBB-BBBB', 'CCCC-CCCC', 'DDDD-DDDD', 'FFFF-FFFF', 'GGGG-GGGG', 'HHHH-HHHH', 'JJJJ-JJJJ', 'KKKK-KKKK', 'LLLL-LLLL', 'MMMM-MMMM'].filter((code) => code !== started.user_code);
    for (const code of wrong.slice(0, 10)) expect((await lookup(code, 'guesser')).status).toBe(404);
    if (wrong.length < 10) expect((await lookup('NNNN-NNNN', 'guesser')).status).toBe(404);
    expect((await lookup(started.user_code, 'guesser')).status).toBe(429);
    expect((await t.approve(started.user_code, 'guesser')).status).toBe(429);
    expect((await lookup(started.user_code, 'someone-else')).status).toBe(200);
  });

  test('the onGrant hook sees the device grant and its veto denies the device', async () => {
    const seen: string[] = [];
    const t = await setup({
      hooks: {
        onGrant: (grant) => {
          seen.push(`${grant.grantType} ${grant.userId} ${grant.scope.join(',')}`);
          return false;
        },
      },
    });
    const started = await t.start();
    expect((await t.approve(started.user_code)).status).toBe(200);
    expect(seen).toEqual([`${DEVICE_GRANT} alice profile`]);
    expect((await t.poll(started.device_code)).body.error).toBe('access_denied');
  });

  test(`${CONTENDERS} concurrent approvals of one user code over real HTTP: exactly one is accepted, and the device gets one grant`, async () => {
    const t = await setup();
    running = await serveFetch((request) => t.server.fetch(request));
    const started = await t.start();
    const responses = await Promise.all(
      Array.from({ length: CONTENDERS }, (_, index) =>
        fetch(`${running!.url}/device`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Caller': `browser-${index}` },
          body: new URLSearchParams({ user_code: started.user_code, user: `user-${index}` }),
        }),
      ),
    );
    const bodies = (await Promise.all(responses.map((response) => response.json()))) as { ok?: true; error?: string }[];
    expect(bodies.filter((body) => body.ok)).toHaveLength(1);
    expect(bodies.filter((body) => body.error === 'invalid_request')).toHaveLength(CONTENDERS - 1);
    const winner = responses.findIndex((response) => response.status === 200);
    const tokens = await t.poll(started.device_code);
    expect(tokens.status).toBe(200);
    const me = await t.server.fetch(new Request(`${ORIGIN}/api/me`, { headers: { Authorization: `Bearer ${tokens.body.access_token}` } }));
    expect(((await me.json()) as { sub: string }).sub).toBe(`user-${winner}`);
    expect((await t.store.listClientGrants(t.clientId)).grants).toHaveLength(1);
  });

  test(`negative control: on a storage whose compare-and-set only claims atomicity, ${CONTENDERS} concurrent approvals let more than one through`, async () => {
    const inner = memoryAdapter();
    const t = await setup({}, { inner, serving: racyAdapterClaimingAtomicity(inner, CONTENDERS) });
    const started = await t.start();
    const responses = await Promise.all(Array.from({ length: CONTENDERS }, (_, index) => t.approve(started.user_code, `browser-${index}`)));
    const accepted = responses.filter((response) => response.status === 200).length;
    console.log(`negative control: ${accepted} of ${CONTENDERS} approvals of one user code accepted`);
    expect(accepted).toBeGreaterThan(1);
  });
});
