// The demo authorization server over real HTTP (wrangler dev on 127.0.0.1,
// fresh local state): what a client on the wire sees, including the framing
// (chunked bodies, kept-alive connections) that calling the Worker's fetch
// handler in-process cannot show.
import { execFileSync } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generateSecret } from '../../src/index.js';
import { startWranglerDev, type DevServer } from '../support/wrangler-dev.js';

const root = resolve(import.meta.dirname, '../..');
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };
const CALLBACK = 'http://127.0.0.1:9/cb';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';

let server: DevServer | undefined;
const url = (path: string) => `${server!.url}${path}`;

beforeAll(async () => {
  execFileSync(process.execPath, [resolve(root, 'scripts/build-spa.mjs')], { cwd: root, stdio: 'pipe' });
  server = await startWranglerDev(resolve(root, 'examples/authorization-server/wrangler.toml'), { VAULT_SECRET: generateSecret() });
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

const postForm = (path: string, body: Record<string, string>, headers: Record<string, string> = {}) =>
  fetch(url(path), { method: 'POST', headers: { ...FORM, ...headers }, body: new URLSearchParams(body) });

async function register(metadata: Record<string, unknown>): Promise<Response> {
  return fetch(url('/register'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(metadata) });
}

async function registerPublic(redirectUris = [CALLBACK]): Promise<string> {
  const response = await register({ redirect_uris: redirectUris, token_endpoint_auth_method: 'none' });
  expect(response.status).toBe(201);
  return ((await response.json()) as { client_id: string }).client_id;
}

async function expectError(response: Response, status: number, error: string): Promise<void> {
  expect(response.status).toBe(status);
  expect(response.headers.get('Content-Type')).toContain('application/json');
  expect(((await response.json()) as { error: string }).error).toBe(error);
}

/** GET /authorize without following the answer. */
const authorize = (query: Record<string, string>) =>
  fetch(`${url('/authorize')}?${new URLSearchParams(query)}`, { redirect: 'manual' });

/** Plays the user on the consent page; returns the redirect back to the client. */
async function approve(page: Response, user = 'alice'): Promise<URL> {
  expect(page.status).toBe(200);
  const session = /name="session" value="([^"]+)"/.exec(await page.text())?.[1];
  expect(session).toBeDefined();
  const decision = await fetch(url('/authorize'), {
    method: 'POST',
    redirect: 'manual',
    headers: FORM,
    body: new URLSearchParams({ session: session!, user, decision: 'approve' }),
  });
  expect(decision.status).toBe(302);
  return new URL(decision.headers.get('Location')!);
}

/**
 * Sends a body of about `totalBytes` through `agent`, framed with
 * `Transfer-Encoding: chunked` (no length announced) or with Content-Length,
 * then answers status and body.
 */
function sendLarge(
  agent: Agent,
  path: string,
  contentType: string,
  totalBytes: number,
  framing: 'chunked' | 'length',
): Promise<{ status: number; body: string }> {
  const prefix = contentType === 'application/json' ? '{"redirect_uris":["' : 'grant_type=authorization_code&code=';
  const chunk = 'a'.repeat(64 * 1024);
  const count = Math.ceil(totalBytes / chunk.length);
  const length = prefix.length + count * chunk.length;
  return new Promise((done, fail) => {
    const { port } = new URL(server!.url);
    const framingHeader = framing === 'chunked' ? { 'Transfer-Encoding': 'chunked' } : { 'Content-Length': String(length) };
    const outgoing = httpRequest(
      { host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'Content-Type': contentType, ...framingHeader } },
      (incoming) => {
        let body = '';
        incoming.setEncoding('utf8');
        incoming.on('data', (part: string) => (body += part));
        incoming.on('end', () => done({ status: incoming.statusCode!, body }));
      },
    );
    outgoing.on('error', fail);
    outgoing.write(prefix);
    for (let i = 0; i < count; i++) outgoing.write(chunk);
    outgoing.end();
  });
}

/** A small form POST through the same agent (so over the same kept-alive connection). */
function sendSmall(agent: Agent, path: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const { port } = new URL(server!.url);
    const outgoing = httpRequest(
      { host: '127.0.0.1', port, path, method: 'POST', agent, headers: { ...FORM, 'Content-Length': Buffer.byteLength(body) } },
      (incoming) => {
        let text = '';
        incoming.setEncoding('utf8');
        incoming.on('data', (chunk: string) => (text += chunk));
        incoming.on('end', () => done({ status: incoming.statusCode!, body: text }));
      },
    );
    outgoing.on('error', fail);
    outgoing.end(body);
  });
}

describe('demo server over HTTP', () => {
  test('invalid_client carries WWW-Authenticate: Basic only when the client used the Authorization header (RFC 6749 §5.2)', async () => {
    const clientId = await registerPublic();
    // A public client identifies itself with client_id alone: no Basic challenge
    // (a browser would answer it with a password prompt).
    for (const body of [
      { grant_type: 'refresh_token', refresh_token: 'x', client_id: 'no-such-client' } as Record<string, string>,
      { grant_type: 'refresh_token', refresh_token: 'x', client_id: clientId, client_secret: 'not-a-public-client-thing' },
    ]) {
      const response = await postForm('/token', body);
      expect(response.headers.get('WWW-Authenticate')).toBeNull();
      await expectError(response, 401, 'invalid_client');
    }
    const revoked = await postForm('/revoke', { token: 'x', client_id: 'no-such-client' });
    expect(revoked.headers.get('WWW-Authenticate')).toBeNull();
    await expectError(revoked, 401, 'invalid_client');

    // With the Authorization header, the challenge is required.
    for (const authorization of [`Basic ${btoa('no-such-client:secret')}`, 'Basic !!!']) {
      const response = await postForm('/token', { grant_type: 'refresh_token', refresh_token: 'x' }, { Authorization: authorization });
      expect(response.headers.get('WWW-Authenticate')).toMatch(/^Basic /);
      await expectError(response, 401, 'invalid_client');
    }
  });

  test('Basic credentials whose client id is not ASCII are invalid_client (401), not invalid_request', async () => {
    for (const id of [encodeURIComponent('clïent'), 'cl\u00efent']) {
      // btoa takes Latin-1: the second form sends the raw byte 0xEF.
      const response = await postForm('/token', { grant_type: 'refresh_token', refresh_token: 'x' }, { Authorization: `Basic ${btoa(`${id}:secret`)}` });
      expect(response.headers.get('WWW-Authenticate')).toMatch(/^Basic /);
      await expectError(response, 401, 'invalid_client');
    }
  });

  test('/register refuses scopes the metadata does not list in scopes_supported', async () => {
    const metadata = (await (await fetch(url('/.well-known/oauth-authorization-server'))).json()) as { scopes_supported: string[] };
    expect(metadata.scopes_supported).not.toContain('admin');
    await expectError(await register({ redirect_uris: [CALLBACK], token_endpoint_auth_method: 'none', scope: 'profile admin' }), 400, 'invalid_client_metadata');
    expect((await register({ redirect_uris: [CALLBACK], token_endpoint_auth_method: 'none', scope: metadata.scopes_supported.join(' ') })).status).toBe(201);
  });

  test('the demo advertises JWT access tokens (jwks_uri, public keys only) and DPoP (dpop_signing_alg_values_supported)', async () => {
    const metadata = (await (await fetch(url('/.well-known/oauth-authorization-server'))).json()) as { jwks_uri: string; dpop_signing_alg_values_supported: string[] };
    expect(metadata.dpop_signing_alg_values_supported).toContain('ES256');
    expect(metadata.jwks_uri).toBe(url('/.well-known/jwks.json'));
    const jwks = await fetch(metadata.jwks_uri);
    expect(jwks.headers.get('Cache-Control')).toMatch(/^public, max-age=\d+$/);
    const { keys } = (await jwks.json()) as { keys: Record<string, unknown>[] };
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(Object.keys(key).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
  });

  test('a missing response_type is invalid_request (RFC 6749 §4.1.2.1), an unknown one unsupported_response_type', async () => {
    const clientId = await registerPublic();
    const base = { client_id: clientId, redirect_uri: CALLBACK, state: 'xyz', code_challenge: CHALLENGE, code_challenge_method: 'S256' };
    for (const [query, error] of [
      [base, 'invalid_request'],
      [{ ...base, response_type: 'token' }, 'unsupported_response_type'],
    ] as const) {
      const response = await authorize(query);
      expect(response.status).toBe(302);
      const location = new URL(response.headers.get('Location')!);
      expect(location.searchParams.get('error')).toBe(error);
      expect(location.searchParams.get('state')).toBe('xyz');
    }
  });

  test('an over-long or malformed state is never echoed into a redirect: the error page is shown', async () => {
    const clientId = await registerPublic();
    const valid = { response_type: 'code', client_id: clientId, redirect_uri: CALLBACK, code_challenge: CHALLENGE, code_challenge_method: 'S256' };
    for (const query of [
      { ...valid, state: 's'.repeat(30_000) },
      { ...valid, response_type: 'token', state: 's'.repeat(30_000) },
      { ...valid, state: 'line\nbreak' },
    ]) {
      const response = await authorize(query);
      expect(response.status).toBe(400);
      expect(response.headers.get('Location')).toBeNull();
      expect(response.headers.get('Content-Type')).toContain('text/html');
      expect(await response.text()).toContain('state');
    }
    // A state within the limits still comes back with the code.
    const state = 's'.repeat(512);
    const callback = await approve(await authorize({ ...valid, state }));
    expect(callback.searchParams.get('state')).toBe(state);
    expect(callback.searchParams.get('code')).toMatch(/^ovc_/);
  });

  for (const framing of ['chunked', 'length'] as const) {
    for (const [path, contentType] of [
      ['/token', 'application/x-www-form-urlencoded'],
      ['/revoke', 'application/x-www-form-urlencoded'],
      ['/register', 'application/json'],
      ['/authorize', 'application/x-www-form-urlencoded'],
      ['/no-such-path', 'application/x-www-form-urlencoded'],
    ] as const) {
      test(`a 2 MiB body (${framing === 'chunked' ? 'Transfer-Encoding: chunked' : 'Content-Length'}) to ${path} gets a clean 4xx, and the next requests on the connection work`, async () => {
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        try {
          const oversized = await sendLarge(agent, path, contentType, 2 * 1024 * 1024, framing);
          expect(oversized.status, oversized.body).toBeGreaterThanOrEqual(400);
          expect(oversized.status, oversized.body).toBeLessThan(500);
          if (path !== '/authorize' && path !== '/no-such-path') {
            expect(JSON.parse(oversized.body)).toEqual({ error: 'invalid_request', error_description: 'request body too large' });
          }
          for (let i = 0; i < 3; i++) {
            const next = await sendSmall(agent, '/token', 'grant_type=refresh_token&refresh_token=x&client_id=no-such-client');
            expect(next.status, next.body).toBe(401);
            expect(JSON.parse(next.body)).toMatchObject({ error: 'invalid_client' });
          }
        } finally {
          agent.destroy();
        }
      });
    }
  }

  test('the consent form: a forged, missing or already used session shows the error page and never redirects; two submissions at once issue one code', async () => {
    for (const body of [{ session: 'forged', user: 'a', decision: 'approve' }, { user: 'a', decision: 'approve' }] as Record<string, string>[]) {
      const response = await fetch(url('/authorize'), { method: 'POST', redirect: 'manual', headers: FORM, body: new URLSearchParams(body) });
      expect(response.status).toBe(400);
      expect(response.headers.get('Location')).toBeNull();
      expect(await response.text()).toContain('expired or was already used');
    }
    const clientId = await registerPublic();
    const page = await authorize({ response_type: 'code', client_id: clientId, redirect_uri: CALLBACK, code_challenge: CHALLENGE, code_challenge_method: 'S256' });
    const session = /name="session" value="([^"]+)"/.exec(await page.text())![1]!;
    const answers = await Promise.all(
      ['alice', 'mallory'].map((user) =>
        fetch(url('/authorize'), { method: 'POST', redirect: 'manual', headers: FORM, body: new URLSearchParams({ session, user, decision: 'approve' }) }),
      ),
    );
    expect(answers.map((answer) => answer.status).sort()).toEqual([302, 400]);
    const again = await fetch(url('/authorize'), { method: 'POST', redirect: 'manual', headers: FORM, body: new URLSearchParams({ session, user: 'eve', decision: 'deny' }) });
    expect(again.status).toBe(400);
  });

  describe('races over HTTP on the Durable Object (the Worker as deployed)', () => {
    const CONTENDERS = 50;
    const exchangeBody = (clientId: string, code: string) => ({ grant_type: 'authorization_code', code, code_verifier: VERIFIER, redirect_uri: CALLBACK, client_id: clientId });
    const signIn = async (clientId: string) =>
      (await approve(await authorize({ response_type: 'code', client_id: clientId, redirect_uri: CALLBACK, code_challenge: CHALLENGE, code_challenge_method: 'S256' }))).searchParams.get('code')!;
    const race = async (body: Record<string, string>) => {
      const started = performance.now();
      const responses = await Promise.all(Array.from({ length: CONTENDERS }, () => postForm('/token', body)));
      const answers = (await Promise.all(responses.map((response) => response.json()))) as { access_token?: string; refresh_token?: string; error?: string }[];
      return { ms: Math.round(performance.now() - started), ok: answers.filter((answer) => answer.access_token), errors: answers.filter((answer) => !answer.access_token).map((answer) => answer.error) };
    };

    test(`${CONTENDERS} concurrent exchanges of one code, 3 rounds: exactly one winner each, the rest invalid_grant`, async () => {
      const clientId = await registerPublic();
      const timings: number[] = [];
      for (let round = 0; round < 3; round++) {
        const result = await race(exchangeBody(clientId, await signIn(clientId)));
        timings.push(result.ms);
        expect(result.ok).toHaveLength(1);
        expect(result.errors).toEqual(Array(CONTENDERS - 1).fill('invalid_grant'));
      }
      console.log(`wrangler dev, Durable Object: ${CONTENDERS} concurrent exchanges, ms per round: ${timings.join(', ')}`);
    }, 60_000);

    test(`${CONTENDERS} concurrent refreshes of one token with the demo's grace window (3 retries): 4 callers get the same successor, the rest are reuse, which revokes the family`, async () => {
      const clientId = await registerPublic();
      const first = (await (await postForm('/token', exchangeBody(clientId, await signIn(clientId)))).json()) as { refresh_token: string };
      const result = await race({ grant_type: 'refresh_token', refresh_token: first.refresh_token, client_id: clientId });
      console.log(`wrangler dev, Durable Object: ${CONTENDERS} concurrent refreshes (grace on, 3 retries): ${result.ms} ms`);
      // The rotation itself plus the window's 3 retries; a retry past the limit is reuse (RFC 9700 §4.14.2).
      expect(result.ok).toHaveLength(4);
      expect(new Set(result.ok.map((answer) => answer.refresh_token)).size).toBe(1);
      expect(result.errors).toEqual(Array(CONTENDERS - 4).fill('invalid_grant'));
      const me = await fetch(url('/api/me'), { headers: { Authorization: `Bearer ${result.ok[0]!.access_token}` } });
      expect(me.status).toBe(401);
    }, 60_000);
  });

  test('the demo advertises pushed requests, the device flow and private_key_jwt, and serves them', async () => {
    const metadata = (await (await fetch(url('/.well-known/oauth-authorization-server'))).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      pushed_authorization_request_endpoint: url('/par'),
      require_pushed_authorization_requests: false,
      device_authorization_endpoint: url('/device_authorization'),
    });
    expect(metadata.grant_types_supported).toContain('urn:ietf:params:oauth:grant-type:device_code');
    expect(metadata.token_endpoint_auth_methods_supported).toContain('private_key_jwt');

    // PAR: push, then the consent page from the request_uri.
    const clientId = await registerPublic();
    const pushed = await postForm('/par', { client_id: clientId, response_type: 'code', redirect_uri: CALLBACK, code_challenge: CHALLENGE, code_challenge_method: 'S256', scope: 'profile' });
    expect(pushed.status).toBe(201);
    const { request_uri } = (await pushed.json()) as { request_uri: string };
    const callback = await approve(await authorize({ client_id: clientId, request_uri }));
    expect(callback.searchParams.get('code')).toBeTruthy();

    // The device flow through the demo's /device page.
    const registered = await register({ token_endpoint_auth_method: 'none', grant_types: ['urn:ietf:params:oauth:grant-type:device_code'], client_name: 'Demo TV' });
    expect(registered.status).toBe(201);
    const deviceClient = ((await registered.json()) as { client_id: string }).client_id;
    const started = (await (await postForm('/device_authorization', { client_id: deviceClient, scope: 'profile' })).json()) as {
      device_code: string;
      user_code: string;
      verification_uri_complete: string;
    };
    expect(started.verification_uri_complete).toBe(`${url('/device')}?user_code=${started.user_code}`);
    const confirm = await fetch(started.verification_uri_complete);
    expect(confirm.status).toBe(200);
    expect(await confirm.text()).toContain('Demo TV');
    const approved = await postForm('/device', { user_code: started.user_code, user: 'alice', decision: 'approve' });
    expect(await approved.text()).toContain('Device connected');
    const tokens = await postForm('/token', { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: started.device_code, client_id: deviceClient });
    expect(tokens.status).toBe(200);
    const me = await fetch(url('/api/me'), { headers: { Authorization: `Bearer ${((await tokens.json()) as { access_token: string }).access_token}` } });
    expect(me.status).toBe(200);
  });

  test('/favicon.ico is answered (no 404 on every page load)', async () => {
    const response = await fetch(url('/favicon.ico'));
    expect([200, 204]).toContain(response.status);
    expect(response.headers.get('Cache-Control')).toMatch(/max-age=\d+/);
  });

  describe('redirect_uri at /token is required only when /authorize had it (RFC 6749 §4.1.3)', () => {
    const signIn = async (query: Record<string, string>) => {
      const callback = await approve(await authorize({ response_type: 'code', code_challenge: CHALLENGE, code_challenge_method: 'S256', ...query }));
      expect(callback.origin + callback.pathname).toBe(CALLBACK);
      return callback.searchParams.get('code')!;
    };
    const exchange = (clientId: string, code: string, redirectUri?: string) =>
      postForm('/token', <Record<string, string>>{
        grant_type: 'authorization_code',
        client_id: clientId,
        code,
        code_verifier: VERIFIER,
        ...(redirectUri !== undefined && { redirect_uri: redirectUri }),
      });

    test('omitted at /authorize (one registered URI): the exchange works without it, and with the exact URI', async () => {
      const clientId = await registerPublic();
      const code = await signIn({ client_id: clientId });
      const tokens = await exchange(clientId, code);
      expect(tokens.status, await tokens.clone().text()).toBe(200);
      expect(((await tokens.json()) as { access_token: string }).access_token).toMatch(/^ova_/);

      await expectError(await exchange(clientId, await signIn({ client_id: clientId }), 'http://127.0.0.1:9/other'), 400, 'invalid_grant');
      expect((await exchange(clientId, await signIn({ client_id: clientId }), CALLBACK)).status).toBe(200);
    });

    test('given at /authorize: still required at /token', async () => {
      const clientId = await registerPublic();
      const code = await signIn({ client_id: clientId, redirect_uri: CALLBACK });
      await expectError(await exchange(clientId, code), 400, 'invalid_request');
      // Refusing it burned nothing: the right request still redeems the code.
      expect((await exchange(clientId, code, CALLBACK)).status).toBe(200);
    });
  });
});
