// Races over real HTTP against the endpoints of oauth-vault/server (a Node
// HTTP server on 127.0.0.1, memory adapter): 50 concurrent exchanges of one
// code, 50 concurrent refreshes of one token, and the negative control on a
// storage whose compare-and-set only claims to be atomic.
import { afterEach, describe, expect, test } from 'vitest';
import { Keyring, OAuthStore, generateSecret, type OAuthStorePolicy } from '../../src/index.js';
import { memoryAdapter } from '../../adapters/memory/index.js';
import type { StorageAdapter } from '../../src/storage/contract.js';
import { pkcePair, racyAdapterClaimingAtomicity } from '../oauth/oauth-store-helpers.js';
import { testServer } from '../server/test-app.js';
import { serveFetch, type FetchServer } from '../support/serve-fetch.js';

const CONTENDERS = 50;
const REDIRECT = 'https://client.example.test/cb';
let running: FetchServer | undefined;

afterEach(async () => {
  await running?.stop();
  running = undefined;
});

/**
 * A server over HTTP on `serving` (the store the endpoints use), and a
 * second store on `inner` with the same key for the setup, so the setup
 * itself never goes through a racy adapter.
 */
async function start(inner: StorageAdapter, serving: StorageAdapter, policy: OAuthStorePolicy = {}) {
  const keyring = await Keyring.fromSecret(generateSecret());
  const setupStore = new OAuthStore({ keyring, adapter: inner, ...policy });
  const store = new OAuthStore({ keyring, adapter: serving, ...policy });
  const server = testServer(store);
  running = await serveFetch((request) => server.fetch(request));
  const { client } = await setupStore.registerClient({ type: 'public', redirectUris: [REDIRECT] });
  const issueCode = async () => {
    const { verifier, challenge } = await pkcePair();
    const { code } = await setupStore.createAuthorizationCode({ clientId: client.clientId, userId: 'racer', redirectUri: REDIRECT, codeChallenge: challenge });
    return { code, verifier };
  };
  return { url: running.url, clientId: client.clientId, issueCode };
}

const postToken = (url: string, body: Record<string, string>) =>
  fetch(`${url}/token`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body) });

/** Sends `count` identical token requests at once; answers the statuses, error codes and token bodies. */
async function race(url: string, body: Record<string, string>, count = CONTENDERS) {
  const started = performance.now();
  const responses = await Promise.all(Array.from({ length: count }, () => postToken(url, body)));
  const bodies = (await Promise.all(responses.map((response) => response.json()))) as { access_token?: string; refresh_token?: string; error?: string }[];
  const ms = performance.now() - started;
  return {
    ms,
    ok: bodies.filter((_, index) => responses[index]!.status === 200),
    errors: bodies.filter((_, index) => responses[index]!.status !== 200).map((answer) => answer.error),
    statuses: responses.map((response) => response.status),
  };
}

const me = (url: string, token: string) => fetch(`${url}/api/me`, { headers: { Authorization: `Bearer ${token}` } });

describe('oauth-vault/server: races over real HTTP', () => {
  test(`${CONTENDERS} concurrent exchanges of one code, 5 times: exactly one winner each time, the rest invalid_grant, and the replays revoke the winner's tokens`, async () => {
    const inner = memoryAdapter();
    const t = await start(inner, inner);
    const timings: number[] = [];
    for (let round = 0; round < 5; round++) {
      const { code, verifier } = await t.issueCode();
      const result = await race(t.url, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT, client_id: t.clientId });
      timings.push(Math.round(result.ms));
      expect(result.ok).toHaveLength(1);
      expect(result.errors).toEqual(Array(CONTENDERS - 1).fill('invalid_grant'));
      expect(result.statuses.filter((status) => status >= 500)).toEqual([]);
      // The other 49 were authenticated replays (right client, redirect URI, verifier): the grant is revoked (RFC 6749 §4.1.2).
      expect((await me(t.url, result.ok[0]!.access_token!)).status).toBe(401);
    }
    console.log(`exchange races (${CONTENDERS} over HTTP, ms per round): ${timings.join(', ')}`);
  });

  test(`${CONTENDERS} concurrent refreshes of one token, grace off: one successor, the rest invalid_grant, the family ends revoked (reuse)`, async () => {
    const inner = memoryAdapter();
    const s = await start(inner, inner);
    const { code, verifier } = await s.issueCode();
    const first = (await (await postToken(s.url, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT, client_id: s.clientId })).json()) as {
      refresh_token: string;
    };
    const result = await race(s.url, { grant_type: 'refresh_token', refresh_token: first.refresh_token, client_id: s.clientId });
    console.log(`refresh race, grace off (${CONTENDERS} over HTTP): ${Math.round(result.ms)} ms`);
    expect(result.ok).toHaveLength(1);
    expect(result.errors).toEqual(Array(CONTENDERS - 1).fill('invalid_grant'));
    expect((await me(s.url, result.ok[0]!.access_token!)).status).toBe(401);
    const again = await postToken(s.url, { grant_type: 'refresh_token', refresh_token: result.ok[0]!.refresh_token!, client_id: s.clientId });
    expect(((await again.json()) as { error: string }).error).toBe('invalid_grant');
  });

  test(`${CONTENDERS} concurrent refreshes of one token, grace on: every caller gets the same successor, which works`, async () => {
    const inner = memoryAdapter();
    const s = await start(inner, inner, { refreshGrace: { windowSeconds: 30, maxUses: 100 } });
    const { code, verifier } = await s.issueCode();
    const first = (await (await postToken(s.url, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT, client_id: s.clientId })).json()) as {
      refresh_token: string;
    };
    const result = await race(s.url, { grant_type: 'refresh_token', refresh_token: first.refresh_token, client_id: s.clientId });
    console.log(`refresh race, grace on (${CONTENDERS} over HTTP): ${Math.round(result.ms)} ms`);
    expect(result.errors).toEqual([]);
    expect(new Set(result.ok.map((answer) => answer.refresh_token)).size).toBe(1);
    expect(new Set(result.ok.map((answer) => answer.access_token)).size).toBe(1);
    expect((await me(s.url, result.ok[0]!.access_token!)).status).toBe(200);
  });

  test(`negative control: on a storage whose compare-and-set only claims atomicity, ${CONTENDERS} concurrent exchanges over HTTP let more than one win`, async () => {
    const inner = memoryAdapter();
    const s = await start(inner, racyAdapterClaimingAtomicity(inner, CONTENDERS));
    const { code, verifier } = await s.issueCode();
    const result = await race(s.url, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT, client_id: s.clientId });
    console.log(`negative control: ${result.ok.length} of ${CONTENDERS} exchanges won`);
    expect(result.ok.length).toBeGreaterThan(1);
  });
});
