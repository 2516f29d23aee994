import { Keyring, OAuthStore, generateSecret, type StorageAdapter } from '../../../src/index.js';
import { memoryAdapter } from '../../../adapters/memory/index.js';
import type { ProtectedResourceOptions } from '../../../src/server/index.js';
import { ISSUER, testServer } from '../../../tests/server/test-app.js';
import { REDIRECT, proof, proofKey, signIn } from '../../../tests/server/token-flows.js';
import { config } from '../config.js';
import { runInterleaved } from '../interleave.js';
import type { SectionResult } from '../report.js';
import { fmtMs, ms, ratio, rme } from '../stats.js';

/**
 * Validating an access token at a protected route of oauth-vault/server,
 * through its fetch handler (Node, memory adapter): an opaque token (the
 * store reads and opens its records) against a JWT access token (signature
 * check against the cached JWKS, revocation list cached), each as a bearer
 * token and DPoP-bound (proof verified, its `jti` consumed once in the store).
 */

const PROTECT: ProtectedResourceOptions<unknown, unknown>[] = [
  { path: '/api/me', requireAudience: false, handler: () => new Response('ok') },
  { path: '/mcp', accessTokenFormat: 'jwt', handler: () => new Response('ok') },
];

const CASES = ['opaque, Bearer', 'JWT, Bearer', 'opaque, DPoP-bound', 'JWT, DPoP-bound'] as const;
type Case = (typeof CASES)[number];

/** Counts adapter calls, to show what a validation touches in storage. */
function counting(inner: StorageAdapter): { adapter: StorageAdapter; counts: { reads: number; writes: number } } {
  const counts = { reads: 0, writes: 0 };
  const adapter: StorageAdapter = {
    ...inner,
    name: inner.name,
    capabilities: inner.capabilities,
    get: (key) => ((counts.reads += 1), inner.get(key)),
    list: (options) => ((counts.reads += 1), inner.list(options)),
    put: (key, value, options) => ((counts.writes += 1), inner.put(key, value, options)),
    compareAndSet: (key, value, condition, options) => ((counts.writes += 1), inner.compareAndSet(key, value, condition, options)),
    delete: (key, options) => ((counts.writes += 1), inner.delete(key, options)),
    ...(inner.batch && {
      batch: (operations: Parameters<NonNullable<StorageAdapter['batch']>>[0]) => {
        if (operations.some((operation) => operation.type === 'put' || operation.type === 'delete')) counts.writes += 1;
        else counts.reads += 1;
        return inner.batch!(operations);
      },
    }),
  };
  return { adapter, counts };
}

export async function runTokens(): Promise<SectionResult> {
  const { adapter, counts } = counting(memoryAdapter());
  const store = new OAuthStore({ keyring: await Keyring.fromSecret(generateSecret()), adapter });
  const server = testServer(store, { protect: PROTECT, dpop: { nonce: false } });
  const { client } = await store.registerClient({ type: 'public', redirectUris: [REDIRECT] });
  const key = await proofKey();
  const token: Record<Case, string> = {
    'opaque, Bearer': (await signIn(server, client.clientId, { scope: 'notes' })).body.access_token,
    'JWT, Bearer': (await signIn(server, client.clientId, { scope: 'notes', resource: `${ISSUER}/mcp` })).body.access_token,
    'opaque, DPoP-bound': (await signIn(server, client.clientId, { scope: 'notes', key })).body.access_token,
    'JWT, DPoP-bound': (await signIn(server, client.clientId, { scope: 'notes', resource: `${ISSUER}/mcp`, key })).body.access_token,
  };
  const path = (c: Case) => (c.startsWith('JWT') ? '/mcp' : '/api/me');
  // Proofs are the client's work: made before each timed call, untimed.
  const next: Partial<Record<Case, string>> = {};
  const prepare = (c: Case) => async () => {
    if (c.endsWith('DPoP-bound')) next[c] = await proof(key, { htm: 'GET', htu: `${ISSUER}${path(c)}`, accessToken: token[c] });
  };
  const validate = (c: Case) => async () => {
    const headers: Record<string, string> = c.endsWith('DPoP-bound') ? { Authorization: `DPoP ${token[c]}`, DPoP: next[c]! } : { Authorization: `Bearer ${token[c]}` };
    const response = await server.fetch(new Request(`${ISSUER}${path(c)}`, { headers }));
    if (response.status !== 200) throw new Error(`${c}: ${response.status}`);
  };
  // Counted once per case, warm (JWKS, revocation list and client cached).
  const touched: string[][] = [];
  for (const c of CASES) {
    await prepare(c)();
    await validate(c)();
    await prepare(c)();
    const before = { ...counts };
    await validate(c)();
    touched.push([c, String(counts.reads - before.reads), String(counts.writes - before.writes)]);
  }
  const s = await runInterleaved(
    CASES.map((c) => ({ name: c, fn: validate(c), beforeEach: prepare(c) })),
    { rounds: 5, time: config.time(1_000) * CASES.length, warmupTime: config.time(200), iterations: config.minIterations * CASES.length },
  );
  const opaque = s.get('opaque, Bearer')!;
  const jwt = s.get('JWT, Bearer')!;
  return {
    id: 'tokens',
    title: '6. Token validation at a protected route: opaque vs JWT access tokens, Bearer vs DPoP-bound (oauth-vault/server, Node, memory adapter)',
    ok: true,
    summary: [
      `Guard (Node, memory adapter): opaque ${ms(opaque.median)} ms, JWT ${ms(jwt.median)} ms (${ratio(jwt.median / opaque.median)}), DPoP-bound JWT ${ms(s.get('JWT, DPoP-bound')!.median)} ms per request.`,
    ],
    intro: [
      'One request through the server\'s fetch handler to a protected route that answers a fixed 200: parsing, the guard, the route. Opaque tokens are validated by the store (one batch reading the token, its grant and the grant\'s revocation, two AES-GCM opens, the client from the per-isolate cache); JWT access tokens (RFC 9068, ES256) by a signature check against the per-isolate JWKS copy and the per-isolate revocation list (re-read every 10 s), with no storage read per token. DPoP-bound: the proof (ES256, made before each call, untimed) is verified and its `jti` consumed once in the store (one conditional write); no nonce.',
    ],
    tables: [
      {
        caption: 'Node: latency per validated request, ms: median (p25–p75); ratio to the opaque bearer token',
        columns: ['token', 'latency', 'rme', 'ratio', 'samples'],
        rows: CASES.map((c) => {
          const summary = s.get(c)!;
          return [c, fmtMs(summary), rme(summary), ratio(summary.median / opaque.median), String(summary.samples)];
        }),
      },
      { caption: 'Storage calls of one warm validation (adapter calls, counted; a batch counts once)', columns: ['token', 'reads', 'writes'], rows: touched },
    ],
    notes: [
      'On the memory adapter a read costs next to nothing, so this table shows the CPU side only. On KV, D1 or a Durable Object each opaque validation adds a storage round trip (see the other sections), which a JWT validation does not make; a DPoP-bound request always makes one (the single-use `jti`).',
    ],
  };
}
