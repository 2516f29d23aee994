// Every exactly-once transition of OAuthStore, raced with its contenders held
// at a barrier right before the store's compare-and-set or batch and released
// together (tests/oauth/barrier-adapter.ts). The negative control runs the
// same races over a store whose check and set are only microtasks apart: the
// barrier is what makes such a gap visible at the OAuth level.
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { memoryAdapter } from '../../adapters/memory/index.js';
import { indexedDbAdapter } from '../../adapters/indexeddb/index.js';
import { connectRedis, redisAdapter } from '../../adapters/redis/index.js';
import { Keyring } from '../../src/crypto/keyring.js';
import { generateSecret } from '../../src/crypto/random.js';
import { OAuthStore } from '../../src/oauth/oauth-store.js';
import { DEVICE_CODE_GRANT } from '../../src/oauth/grants/device-code.js';
import type { StorageAdapter } from '../../src/storage/contract.js';
import { createTestClock, type TestClock } from '../../src/storage/conformance/index.js';
import { barrierAdapter, checkThenActAdapter } from '../oauth/barrier-adapter.js';
import { dumpAdapter, pkcePair } from '../oauth/oauth-store-helpers.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

const CONTENDERS = 50;
const REDIRECT = 'https://app.example/cb';

let redis: RedisServer;
let redisClient: Awaited<ReturnType<typeof connectRedis>>;
beforeAll(async () => {
  redis = await startRedisServer();
  redisClient = await connectRedis({ url: redis.url });
}, 30_000);
afterAll(async () => {
  await redisClient?.close();
  await redis?.stop();
});

const idb = new IDBFactory();
const backends: Record<string, (clock: TestClock) => StorageAdapter> = {
  memory: (clock) => memoryAdapter({ now: clock.now }),
  'indexeddb (fake-indexeddb)': (clock) => indexedDbAdapter({ name: crypto.randomUUID(), indexedDB: idb, now: clock.now }),
  redis: (clock) => redisAdapter({ client: redisClient, keyPrefix: `${crypto.randomUUID()}:`, now: clock.now }),
};

interface Env {
  clock: TestClock;
  inner: StorageAdapter;
  /** Sets the race up without going through the barrier. */
  setup: OAuthStore;
}

/** One exactly-once transition: prepare it, then one contender's attempt (true: it won). */
type Race = (env: Env) => Promise<(store: OAuthStore) => Promise<boolean>>;

const won = (promise: Promise<unknown>): Promise<boolean> => promise.then(() => true, () => false);

async function publicClient(env: Env, grantTypes?: string[]) {
  return (await env.setup.registerClient({ type: 'public', redirectUris: [REDIRECT], scope: ['read'], ...(grantTypes && { grantTypes }) })).client.clientId;
}

async function issueCode(env: Env, clientId: string) {
  const { verifier, challenge } = await pkcePair();
  const { code, grantId } = await env.setup.createAuthorizationCode({ clientId, userId: 'racer', redirectUri: REDIRECT, codeChallenge: challenge });
  return { code, grantId, verifier };
}

const races: Record<string, Race> = {
  'code exchange': async (env) => {
    const clientId = await publicClient(env);
    const { code, verifier } = await issueCode(env, clientId);
    return (store) => won(store.exchangeAuthorizationCode({ clientId, code, redirectUri: REDIRECT, codeVerifier: verifier }));
  },
  'refresh rotation': async (env) => {
    const clientId = await publicClient(env, ['authorization_code', 'refresh_token']);
    const { code, verifier } = await issueCode(env, clientId);
    const { refreshToken } = await env.setup.exchangeAuthorizationCode({ clientId, code, redirectUri: REDIRECT, codeVerifier: verifier });
    return (store) => won(store.refreshAccessToken({ clientId, refreshToken: refreshToken! }));
  },
  'session completion': async (env) => {
    const clientId = await publicClient(env);
    const { sessionId } = await env.setup.createSession({ clientId, redirectUri: REDIRECT, codeChallenge: (await pkcePair()).challenge });
    return (store) => won(store.updateSession(sessionId, { userId: 'racer', completed: true }));
  },
  'completeAuthorization (session completion with its code)': async (env) => {
    const clientId = await publicClient(env);
    const { sessionId } = await env.setup.createSession({ clientId, redirectUri: REDIRECT, codeChallenge: (await pkcePair()).challenge });
    return (store) => won(store.completeAuthorization(sessionId, () => ({ userId: 'racer' })));
  },
  'DPoP proof jti': async (env) => {
    const expiresAt = env.clock.now() + 60_000;
    return (store) => store.consumeOnce('dpop-jti', 'jti-raced', { expiresAt });
  },
  'client assertion jti': async (env) => {
    const expiresAt = env.clock.now() + 60_000;
    return (store) => store.consumeOnce('client-assertion-jti', 'jti-raced', { expiresAt });
  },
  'pushed request_uri': async (env) => {
    const clientId = await publicClient(env);
    const { requestUri } = await env.setup.pushAuthorizationRequest({ clientId, redirectUri: REDIRECT, codeChallenge: (await pkcePair()).challenge });
    return (store) => won(store.takePushedAuthorizationRequest(requestUri, clientId));
  },
  'device user code approval': async (env) => {
    const clientId = await publicClient(env, [DEVICE_CODE_GRANT]);
    const { userCode } = await env.setup.createDeviceAuthorization({ clientId });
    return (store) => won(store.approveDeviceAuthorization(userCode, { userId: 'racer' }));
  },
  'device code redemption': async (env) => {
    const clientId = await publicClient(env, [DEVICE_CODE_GRANT]);
    const { deviceCode, userCode, interval } = await env.setup.createDeviceAuthorization({ clientId });
    await env.setup.approveDeviceAuthorization(userCode, { userId: 'racer' });
    env.clock.advance(interval * 1000);
    return (store) => won(store.requestToken({ grantType: DEVICE_CODE_GRANT, clientId, deviceCode }));
  },
};

async function newEnv(create: (clock: TestClock) => StorageAdapter, keyring: Keyring): Promise<Env> {
  const clock = createTestClock();
  const inner = create(clock);
  return { clock, inner, setup: new OAuthStore({ keyring, adapter: inner, now: clock.now }) };
}

/** Runs one race through a barrier over `adapter`; returns the winners and how many the barrier released together. */
async function runRace(race: Race, env: Env, keyring: Keyring, adapter: StorageAdapter) {
  const attempt = await race(env);
  const barrier = barrierAdapter(adapter, CONTENDERS);
  const store = new OAuthStore({ keyring, adapter: barrier, now: env.clock.now });
  const results = await Promise.all(Array.from({ length: CONTENDERS }, () => attempt(store)));
  return { winners: results.filter(Boolean).length, released: barrier.released };
}

const keyring = Keyring.fromSecret(generateSecret());

for (const [label, create] of Object.entries(backends)) {
  describe(`exactly-once transitions with ${CONTENDERS} contenders released together at the store: ${label}`, () => {
    for (const [name, race] of Object.entries(races)) {
      test(`${name}: exactly one winner`, async () => {
        const env = await newEnv(create, await keyring);
        const { winners, released } = await runRace(race, env, await keyring, env.inner);
        expect(released).toBe(CONTENDERS);
        expect(winners).toBe(1);
      });
    }

    test('code exchange: exactly one access record for the grant afterwards (losers leave no orphans)', async () => {
      const env = await newEnv(create, await keyring);
      const clientId = await publicClient(env);
      const { code, grantId, verifier } = await issueCode(env, clientId);
      const store = new OAuthStore({ keyring: await keyring, adapter: barrierAdapter(env.inner, CONTENDERS), now: env.clock.now });
      await Promise.allSettled(Array.from({ length: CONTENDERS }, () => store.exchangeAuthorizationCode({ clientId, code, redirectUri: REDIRECT, codeVerifier: verifier })));
      const keys = (await dumpAdapter(env.inner)).map((entry) => entry.key);
      expect(keys.filter((key) => key.startsWith(`access/${grantId}/`))).toHaveLength(1);
    });
  });
}

describe('negative control: a store whose check and set are only microtasks apart lets several win every race', () => {
  for (const [name, race] of Object.entries(races)) {
    test(name, async () => {
      const env = await newEnv(backends.memory!, await keyring);
      const { winners, released } = await runRace(race, env, await keyring, checkThenActAdapter(env.inner));
      expect(released).toBe(CONTENDERS);
      expect(winners).toBeGreaterThan(1);
    });
  }
});
