import { env } from 'cloudflare:workers';
import { expect, test } from 'vitest';
import { d1Adapter, migrateD1 } from '../../adapters/cloudflare-d1/index.js';
import { durableObjectAdapter } from '../../adapters/cloudflare-durable-object/index.js';
import { Keyring } from '../../src/crypto/keyring.js';
import { generateSecret } from '../../src/crypto/random.js';
import { OAuthStore } from '../../src/oauth/oauth-store.js';
import type { TokenResult } from '../../src/oauth/types.js';
import { migrateStorage, type StorageAdapter } from '../../src/storage/index.js';
import { createTestClock } from '../../src/storage/conformance/index.js';
import { dumpAdapter, findSecrets, pkcePair } from '../oauth/oauth-store-helpers.js';
import { createStorage } from './oauth-storage.js';

/**
 * Moving a live store between Cloudflare backends: KV + Durable Object to
 * D1, then D1 to a Durable Object alone, with a few thousand records of every
 * kind, each migration interrupted half-way and resumed. Afterwards every
 * token validates on the target and the target holds no plaintext.
 */

const REDIRECT = 'https://app.example/cb';
const FLOWS = 160;

/** Fails every write after `writes` of them: the connection drops half-way. */
function failingAfter(inner: StorageAdapter, writes: number): StorageAdapter {
  let count = 0;
  return { ...inner, compareAndSet: (...args) => (++count > writes ? Promise.reject(new Error('connection lost')) : inner.compareAndSet(...args)) };
}

/** A migration job that saves its cursor after each page of 250, is interrupted, and resumes. */
async function migrateWithInterruption(from: StorageAdapter, to: StorageAdapter, keyring: Keyring, failAfter: number, now: () => number): Promise<number> {
  let cursor: string | undefined;
  const run = async (target: StorageAdapter) => {
    do {
      // The stores' clock: an expired record is not copied, and a slow run must not see the codes' 60 s windows end by the wall clock.
      cursor = (await migrateStorage({ from, to: target, keyring, now, limit: 250, ...(cursor !== undefined && { cursor }) })).cursor;
    } while (cursor !== undefined);
  };
  await expect(run(failingAfter(to, failAfter))).rejects.toThrow('connection lost');
  await run(to);
  return (await dumpAdapter(to)).length;
}

test('KV + Durable Object to D1, then D1 to a Durable Object: interrupted, resumed, every token validates, no plaintext', async () => {
  const clock = createTestClock();
  const keyring = await Keyring.fromSecret(generateSecret());
  const source = await createStorage('kv+durable-object', clock.now, 8);
  const store = new OAuthStore({ keyring, adapter: source.adapter, singleUseAdapter: source.singleUseAdapter!, now: clock.now });
  const clients = await Promise.all(Array.from({ length: 12 }, () => store.registerClient({ type: 'confidential', redirectUris: [REDIRECT], scope: ['read', 'write'] })));
  const secrets: Record<string, string> = {};
  const tokens: TokenResult[] = [];
  for (let start = 0; start < FLOWS; start += 40) {
    tokens.push(
      ...(await Promise.all(
        Array.from({ length: 40 }, async (_, offset) => {
          const index = start + offset;
          const { client, clientSecret } = clients[index % clients.length]!;
          const { verifier, challenge } = await pkcePair();
          await store.createSession({ clientId: client.clientId, redirectUri: REDIRECT, codeChallenge: challenge, scope: ['read'] });
          const { code } = await store.createAuthorizationCode({ clientId: client.clientId, userId: `migrated-user-${index}`, redirectUri: REDIRECT, scope: ['read'], codeChallenge: challenge, props: { n: index } });
          const issued = await store.exchangeAuthorizationCode({ clientId: client.clientId, clientSecret: clientSecret!, code, redirectUri: REDIRECT, codeVerifier: verifier });
          secrets[`code-${index}`] = code;
          return issued;
        }),
      )),
    );
  }
  const counted = async (adapter: StorageAdapter) => (await dumpAdapter(adapter)).length;
  const sourceRecords = (await counted(source.adapter)) + (await counted(source.singleUseAdapter!));
  expect(sourceRecords).toBeGreaterThan(1800);

  // KV + DO → D1: both into one table.
  const table = `vault_${crypto.randomUUID().replace(/-/g, '').slice(0, 16)}`;
  await migrateD1(env.DB, { table });
  const d1 = d1Adapter({ database: env.DB, table, now: clock.now });
  await migrateWithInterruption(source.adapter, d1, keyring, 5, clock.now);
  expect(await migrateWithInterruption(source.singleUseAdapter!, d1, keyring, 700, clock.now)).toBe(sourceRecords);
  const onD1 = new OAuthStore({ keyring, adapter: d1, now: clock.now });
  for (const issued of tokens) expect(await onD1.validateAccessToken(issued.accessToken)).not.toBeNull();

  // D1 → a Durable Object alone.
  const durable = durableObjectAdapter({ namespace: env.VAULT_DO, shards: 8, name: `migrated-${crypto.randomUUID()}`, now: clock.now });
  expect(await migrateWithInterruption(d1, durable, keyring, 900, clock.now)).toBe(sourceRecords);
  const onDo = new OAuthStore({ keyring, adapter: durable, now: clock.now });
  for (const issued of tokens) expect(await onDo.validateAccessToken(issued.accessToken)).toMatchObject({ grantId: issued.grantId });
  // The migrated store works on: refresh rotates, reuse is still detected.
  const first = tokens[0]!;
  const owner = clients[0]!;
  const next = await onDo.refreshAccessToken({ clientId: owner.client.clientId, clientSecret: owner.clientSecret!, refreshToken: first.refreshToken! });
  expect(await onDo.validateAccessToken(next.accessToken)).not.toBeNull();
  await expect(onDo.refreshAccessToken({ clientId: owner.client.clientId, clientSecret: owner.clientSecret!, refreshToken: first.refreshToken! })).rejects.toMatchObject({ code: 'ERR_INVALID_GRANT' });

  for (const [index, issued] of tokens.slice(0, 20).entries()) {
    secrets[`access-${index}`] = issued.accessToken;
    secrets[`refresh-${index}`] = issued.refreshToken!;
    secrets[`user-${index}`] = `migrated-user-${index}`;
  }
  for (const [index, { clientSecret }] of clients.entries()) secrets[`client-secret-${index}`] = clientSecret!;
  expect(findSecrets([await dumpAdapter(d1), await dumpAdapter(durable)], secrets)).toEqual([]);
}, 240_000);
