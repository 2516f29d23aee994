import { pkcePair, REDIRECT_URI, type Pkce } from '../src/flow.js';
import { opCounter, type OpCounts } from '../src/op-counter.js';
import { buildStore, ourStore, type Ctx, type Env } from './env.js';
import { ourServer } from './ours.js';
import { provider, theirHelpers } from './theirs.js';

/**
 * Section 2: one full OAuth cycle through each implementation's real HTTP
 * endpoints (oauth-vault/server and workers-oauth-provider), in-process in
 * one workerd: authorize, exchange, validations, refresh.
 */

const ORIGIN = 'https://as.bench.test';
let users = 0;

export interface CycleClient {
  clientId: string;
  pkce: Pkce;
}
export const clients = new Map<string, CycleClient>();

export async function setupCycle(env: Env, impl: string): Promise<CycleClient> {
  const pkce = await pkcePair();
  if (impl === 'theirs') {
    const client = await theirHelpers(env).createClient({
      redirectUris: [REDIRECT_URI],
      clientName: 'bench',
      tokenEndpointAuthMethod: 'none',
      grantTypes: ['authorization_code', 'refresh_token'],
      responseTypes: ['code'],
    });
    return { clientId: client.clientId, pkce };
  }
  const store = await ourStore(env, impl === 'ours-d1' ? 'd1' : 'kv');
  const { client } = await store.registerClient({ type: 'public', redirectUris: [REDIRECT_URI], name: 'bench' });
  return { clientId: client.clientId, pkce };
}

type Handle = (request: Request) => Promise<Response>;

export function handlerOf(env: Env, ctx: Ctx, impl: string): Handle {
  return impl === 'theirs'
    ? (request) => provider.fetch(request, env as never, ctx as never)
    : async (request) => ourServer(await ourStore(env, impl === 'ours-d1' ? 'd1' : 'kv')).fetch(request, env, ctx);
}

export function clientOf(impl: string): CycleClient {
  const client = clients.get(impl);
  if (!client) throw new Error(`no client for ${impl}: call /cycle/setup first`);
  return client;
}

/**
 * One cycle with every storage and crypto.subtle call counted (a separate,
 * wrapped store for ours), in total and per step (each HTTP request of the
 * cycle measured on its own).
 */
export async function countCycle(env: Env, ctx: Ctx, impl: string, validations: number): Promise<{ total: OpCounts; steps: Record<string, OpCounts> }> {
  const counter = opCounter();
  let handle: Handle;
  if (impl === 'theirs') {
    // The provider caches its helpers on the env it is given (env.OAUTH_PROVIDER): start from none,
    // or the authorize step would use helpers bound to the uncounted KV.
    const counted = { ...env, OAUTH_KV: counter.wrapKv(env.OAUTH_KV as unknown as object), OAUTH_PROVIDER: undefined };
    handle = (request) => provider.fetch(request, counted as never, ctx as never);
  } else {
    const store = await buildStore(env, impl === 'ours-d1' ? 'd1' : 'kv', (adapter) => counter.wrap(adapter));
    handle = (request) => ourServer(store).fetch(request, env, ctx);
  }
  const steps: Record<string, OpCounts> = {};
  const stepOf = (request: Request): string => {
    const url = new URL(request.url);
    if (url.pathname === '/token') return steps['exchange'] ? 'refresh' : 'exchange';
    return url.pathname === '/authorize' ? 'authorize' : 'validate';
  };
  const measured: Handle = async (request) => {
    const step = stepOf(request);
    let response!: Response;
    const counts = await counter.measure(async () => {
      response = await handle(request);
    });
    steps[step] ??= counts; // the first validation stands for all (a warm cache in both)
    return response;
  };
  const total = await counter.measure(() => cycle(impl, handle, clientOf(impl), validations));
  await cycle(impl, measured, clientOf(impl), 1);
  return { total, steps };
}

/** authorize, exchange, 10 validations, one refresh: 13 in-process HTTP requests. */
export async function cycle(impl: string, handle: Handle, client: CycleClient, validations: number): Promise<void> {
  const user = `user-${++users}`;
  const authorize = new URL(`${ORIGIN}/authorize`);
  authorize.search = new URLSearchParams({
    response_type: 'code',
    client_id: client.clientId,
    redirect_uri: REDIRECT_URI,
    scope: 'read',
    state: 'bench-state',
    code_challenge: client.pkce.challenge,
    code_challenge_method: 'S256',
    user,
  }).toString();
  const redirect = await handle(new Request(authorize));
  const code = new URL(redirect.headers.get('Location') ?? 'x:/').searchParams.get('code');
  if (redirect.status !== 302 || !code) throw new Error(`${impl} authorize: ${redirect.status} ${await redirect.text()}`);
  const token = async (body: Record<string, string>): Promise<{ access_token: string; refresh_token: string }> => {
    const response = await handle(
      new Request(`${ORIGIN}/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: client.clientId, ...body }),
      }),
    );
    if (response.status !== 200) throw new Error(`${impl} token: ${response.status} ${await response.text()}`);
    return response.json();
  };
  const tokens = await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: client.pkce.verifier });
  for (let index = 0; index < validations; index++) {
    const response = await handle(new Request(`${ORIGIN}/api/me`, { headers: { Authorization: `Bearer ${tokens.access_token}` } }));
    if (response.status !== 200) throw new Error(`${impl} api: ${response.status} ${await response.text()}`);
    await response.arrayBuffer();
  }
  const refreshed = await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
  if (!refreshed.access_token) throw new Error(`${impl} refresh returned no token`);
}
