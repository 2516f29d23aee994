// Client ID Metadata Documents in oauth-vault/server: documents served over
// real HTTP from 127.0.0.1 through the injectable fetch, while the client ids
// stay public https URLs that pass every production rule.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { Keyring, OAuthStore, generateSecret } from '../../src/index.js';
import { memoryAdapter } from '../../adapters/memory/index.js';
import { createTestClock } from '../../src/storage/conformance/index.js';
import type { ClientIdMetadataDocumentOptions } from '../../src/server/index.js';
import { pkcePair } from '../oauth/oauth-store-helpers.js';
import { ISSUER, handleOf, testServer } from '../server/test-app.js';

const ORIGIN = 'https://cimd.example.test';
const CALLBACK = 'http://127.0.0.1:33418/callback';

/** What the document server answers per path: a status, headers, a body, a delay. */
interface Served {
  status?: number;
  headers?: Record<string, string>;
  body: string;
  delayMs?: number;
}
const served = new Map<string, Served>();
const hits = new Map<string, number>();
let documents: Server;
let documentsOrigin = '';

const doc = (path: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ client_id: `${ORIGIN}${path}`, client_name: 'Doc Client', redirect_uris: [CALLBACK], token_endpoint_auth_method: 'none', ...extra });

beforeAll(async () => {
  documents = createServer((request, response) => {
    const path = request.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const answer = served.get(path) ?? { status: 404, body: 'not found' };
    setTimeout(() => {
      response.writeHead(answer.status ?? 200, { 'Content-Type': 'application/json', ...answer.headers });
      response.end(answer.body);
    }, answer.delayMs ?? 0);
  });
  await new Promise<void>((listening) => documents.listen(0, '127.0.0.1', listening));
  documentsOrigin = `http://127.0.0.1:${(documents.address() as { port: number }).port}`;
});

afterAll(async () => {
  documents.closeAllConnections();
  await new Promise((closed) => documents.close(closed));
});

beforeEach(() => {
  served.clear();
  hits.clear();
});

/** The injected fetch: the public origin is served from 127.0.0.1; nothing else is reachable. */
const fetched: string[] = [];
const localFetch: NonNullable<ClientIdMetadataDocumentOptions['fetch']> = (url, init) => {
  fetched.push(url);
  if (!url.startsWith(`${ORIGIN}/`)) return Promise.reject(new TypeError('no network in tests'));
  return fetch(`${documentsOrigin}${url.slice(ORIGIN.length)}`, init);
};

async function setup(options: ClientIdMetadataDocumentOptions = {}) {
  const clock = createTestClock();
  const store = new OAuthStore({ keyring: await Keyring.fromSecret(generateSecret()), adapter: memoryAdapter({ now: clock.now }), now: clock.now });
  const server = testServer(store, { now: clock.now, clientIdMetadataDocuments: { fetch: localFetch, timeoutMs: 500, ...options } });
  const authorize = async (clientId: string, redirectUri: string | null = CALLBACK) => {
    const { verifier, challenge } = await pkcePair();
    const query = new URLSearchParams({ response_type: 'code', client_id: clientId, state: 's1', code_challenge: challenge, code_challenge_method: 'S256' });
    if (redirectUri !== null) query.set('redirect_uri', redirectUri);
    return { page: await server.fetch(new Request(`${ISSUER}/authorize?${query}`)), verifier };
  };
  return { clock, store, server, authorize };
}

/** A refusal: the error page (400, no redirect) naming the reason, and nothing stored for that client id. */
async function expectRefused(s: Awaited<ReturnType<typeof setup>>, clientId: string, reason: RegExp, redirectUri: string | null = CALLBACK): Promise<void> {
  const { page } = await s.authorize(clientId, redirectUri);
  expect(page.status, clientId).toBe(400);
  expect(page.headers.get('Location')).toBeNull();
  expect(await page.text()).toMatch(reason);
  expect(await s.store.getClient(clientId).catch(() => null)).toBeNull();
  expect((await s.store.listClients()).clients).toEqual([]);
}

describe('oauth-vault/server: Client ID Metadata Documents', () => {
  test('a valid document: advertised, fetched once, registered under its URL as a public client, the whole flow works with the URL as client_id', async () => {
    const s = await setup();
    const metadata = (await (await s.server.fetch(new Request(`${ISSUER}/.well-known/oauth-authorization-server`))).json()) as Record<string, unknown>;
    expect(metadata.client_id_metadata_document_supported).toBe(true);

    const clientId = `${ORIGIN}/good.json`;
    served.set('/good.json', { body: doc('/good.json') });
    const { page, verifier } = await s.authorize(clientId);
    expect(page.status).toBe(200);
    expect(page.headers.get('X-Client')).toBe(clientId);
    expect(await s.store.getClient(clientId)).toMatchObject({ clientId, type: 'public', name: 'Doc Client', redirectUris: [CALLBACK] });

    const done = await s.server.fetch(
      new Request(`${ISSUER}/consent`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ handle: await handleOf(page), user: 'dora' }) }),
    );
    const code = new URL(done.headers.get('Location')!).searchParams.get('code')!;
    const token = await s.server.fetch(
      new Request(`${ISSUER}/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: CALLBACK, client_id: clientId }),
      }),
    );
    expect(token.status).toBe(200);
    const { access_token } = (await token.json()) as { access_token: string };
    expect(await s.store.validateAccessToken(access_token)).toMatchObject({ clientId, userId: 'dora' });
    expect(hits.get('/good.json')).toBe(1);
  });

  test('a cached document is used without fetching again; once stale it is fetched again and its changes apply', async () => {
    const s = await setup();
    const clientId = `${ORIGIN}/cached.json`;
    served.set('/cached.json', { body: doc('/cached.json'), headers: { 'Cache-Control': 'max-age=120' } });
    for (let i = 0; i < 3; i++) expect((await s.authorize(clientId)).page.status).toBe(200);
    expect(hits.get('/cached.json')).toBe(1);

    // The document changes: still the cached copy within its 120 s.
    const moved = 'http://127.0.0.1:33418/moved';
    served.set('/cached.json', { body: doc('/cached.json', { redirect_uris: [moved], client_name: 'Renamed' }), headers: { 'Cache-Control': 'max-age=120' } });
    s.clock.advance(119_000);
    expect((await s.authorize(clientId)).page.status).toBe(200);
    expect(hits.get('/cached.json')).toBe(1);

    s.clock.advance(2_000);
    expect((await s.authorize(clientId, moved)).page.status).toBe(200);
    expect(hits.get('/cached.json')).toBe(2);
    expect(await s.store.getClient(clientId)).toMatchObject({ name: 'Renamed', redirectUris: [moved] });
    // The old redirect URI is gone with the old document.
    expect((await s.authorize(clientId, CALLBACK)).page.status).toBe(400);
  });

  test('a stale document that no longer validates is refused, and the cached copy is left as it was', async () => {
    const s = await setup();
    const clientId = `${ORIGIN}/broken-later.json`;
    served.set('/broken-later.json', { body: doc('/broken-later.json') });
    expect((await s.authorize(clientId)).page.status).toBe(200);
    const before = await s.store.getClient(clientId);
    served.set('/broken-later.json', { body: doc('/broken-later.json', { client_id: `${ORIGIN}/other.json` }) });
    s.clock.advance(3601_000);
    expect((await s.authorize(clientId)).page.status).toBe(400);
    expect(await s.store.getClient(clientId)).toEqual(before);
  });

  test('refused, with the reason and nothing stored: URL mismatch, redirect URI not in the document, oversized, slow, redirect, not found, not JSON, secrets, auth methods', async () => {
    const s = await setup();
    const cases: [string, Served, RegExp, string?][] = [
      ['/mismatch.json', { body: doc('/mismatch.json', { client_id: `${ORIGIN}/mismatch.json?x=1` }) }, /client_id is not exactly the URL/],
      ['/no-such-uri.json', { body: doc('/no-such-uri.json') }, /redirect_uri is missing or not one of its redirect_uris/, 'http://127.0.0.1:33418/elsewhere'],
      ['/big.json', { body: doc('/big.json', { padding: 'x'.repeat(6000) }) }, /larger than 5120 bytes/],
      ['/big-chunked.json', { body: doc('/big-chunked.json', { padding: 'x'.repeat(6000) }), headers: { 'Transfer-Encoding': 'chunked' } }, /larger than 5120 bytes/],
      ['/slow.json', { body: doc('/slow.json'), delayMs: 2000 }, /took too long/],
      ['/redirect.json', { status: 302, headers: { Location: `${ORIGIN}/good.json` }, body: '' }, /redirect \(redirects are not followed\)/],
      ['/missing.json', { status: 404, body: '{}' }, /status 404/],
      ['/html.json', { body: '<html>' }, /not JSON/],
      ['/array.json', { body: '[]' }, /not a JSON object/],
      ['/secret.json', { body: doc('/secret.json', { client_secret: 'shh' }) }, /client secret/],
      ['/jwt.json', { body: doc('/jwt.json', { token_endpoint_auth_method: 'private_key_jwt' }) }, /other than &quot;none&quot;/],
      ['/no-uris.json', { body: doc('/no-uris.json', { redirect_uris: [] }) }, /redirect_uris is missing/],
      ['/bad-uri.json', { body: doc('/bad-uri.json', { redirect_uris: ['http://evil.example/cb'] }) }, /redirect_uris has one this server does not accept/, 'http://evil.example/cb'],
      ['/implicit.json', { body: doc('/implicit.json', { grant_types: ['implicit'] }) }, /grant_types does not include authorization_code/],
    ];
    for (const [path, answer, reason, redirectUri] of cases) {
      served.set(path, answer);
      await expectRefused(s, `${ORIGIN}${path}`, reason, redirectUri ?? CALLBACK);
    }
  });

  test('client ids that break the production rules are refused before anything is fetched: not https, private or local hosts, dot segments, no path, too long', async () => {
    const s = await setup();
    fetched.length = 0;
    for (const [clientId, reason] of [
      ['https://127.0.0.1/client.json', /not a public domain name/],
      ['https://10.0.0.8/client.json', /not a public domain name/],
      ['https://[::1]/client.json', /not a public domain name/],
      ['https://localhost/client.json', /not a public domain name/],
      ['https://printer.local/client.json', /not a public domain name/],
      ['https://intranet/client.json', /not a public domain name/],
      ['https://0x7f000001/client.json', /not a public domain name/],
      ['https://cimd.example.test/', /has no path/],
      ['https://cimd.example.test', /has no path/],
      ['https://cimd.example.test/a/../client.json', /dot segment/],
      ['https://user:pw@cimd.example.test/client.json', /credentials/],
      [`https://cimd.example.test/${'a'.repeat(300)}.json`, /longer than 256/],
      ['HTTPS://cimd.example.test/client json', /whitespace/],
    ] as const) {
      await expectRefused(s, clientId, reason);
    }
    // Plain http is not a metadata document URL at all: an unknown client.
    await expectRefused(s, 'http://cimd.example.test/client.json', /Unknown or missing client_id/);
    expect(fetched).toEqual([]);
  });

  test('the allow option limits which document URLs are trusted at all', async () => {
    const s = await setup({ allow: (url) => url.hostname === 'trusted.example.test' });
    fetched.length = 0;
    served.set('/good.json', { body: doc('/good.json') });
    await expectRefused(s, `${ORIGIN}/good.json`, /does not accept clients from that URL/);
    expect(fetched).toEqual([]);
  });

  test('off by default: not advertised, and a URL client_id is just an unknown client', async () => {
    const clock = createTestClock();
    const store = new OAuthStore({ keyring: await Keyring.fromSecret(generateSecret()), adapter: memoryAdapter(), now: clock.now });
    const server = testServer(store);
    const metadata = (await (await server.fetch(new Request(`${ISSUER}/.well-known/oauth-authorization-server`))).json()) as Record<string, unknown>;
    expect(metadata.client_id_metadata_document_supported).toBeUndefined();
    served.set('/good.json', { body: doc('/good.json') });
    const page = await server.fetch(new Request(`${ISSUER}/authorize?client_id=${encodeURIComponent(`${ORIGIN}/good.json`)}&redirect_uri=${encodeURIComponent(CALLBACK)}`));
    expect(page.status).toBe(400);
    expect(hits.size).toBe(0);
  });
});
