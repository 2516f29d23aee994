import { describe, expect, test } from 'vitest';
import { memoryAdapter } from '../../adapters/memory/index.js';
import { Keyring, OAuthStore, generateSecret } from '../../src/index.js';
import { migrateStorage, type StorageAdapter } from '../../src/storage/index.js';
import { createTestClock } from '../../src/storage/conformance/index.js';
import { pkcePair } from '../oauth/oauth-store-helpers.js';

async function populate(store: OAuthStore, flows: number) {
  const { client } = await store.registerClient({ type: 'public', redirectUris: ['https://app.example/cb'] });
  const tokens = [];
  for (let index = 0; index < flows; index++) {
    const { verifier, challenge } = await pkcePair();
    const { code } = await store.createAuthorizationCode({ clientId: client.clientId, userId: `user-${index}`, redirectUri: 'https://app.example/cb', codeChallenge: challenge });
    tokens.push(await store.exchangeAuthorizationCode({ clientId: client.clientId, code, redirectUri: 'https://app.example/cb', codeVerifier: verifier }));
  }
  return { client, tokens };
}

/** Fails every write after `writes` of them: an interruption half-way. */
function failingAfter(inner: StorageAdapter, writes: number): StorageAdapter {
  let count = 0;
  return { ...inner, compareAndSet: async (...args) => (++count > writes ? Promise.reject(new Error('connection lost')) : inner.compareAndSet(...args)) };
}

describe('migrateStorage (memory to memory)', () => {
  test('copies every record, resumes after an interruption without copying twice, and the target serves the tokens', async () => {
    const clock = createTestClock();
    const keyring = await Keyring.fromSecret(generateSecret());
    const from = memoryAdapter({ now: clock.now });
    const source = new OAuthStore({ keyring, adapter: from, now: clock.now });
    const { client, tokens } = await populate(source, 30);
    const total = (await from.list({ prefix: '', limit: 1000 })).keys.length;
    const to = memoryAdapter({ now: clock.now });

    const dry = await migrateStorage({ from, to, keyring, dryRun: true });
    expect(dry).toEqual({ copied: total, skipped: 0, unreadable: 0 });
    expect((await to.list({ prefix: '' })).keys).toEqual([]);

    // A job copying pages of 40 and saving its cursor after each, until the connection drops on the 101st write.
    let saved: string | undefined;
    const flaky = failingAfter(to, 100);
    const job = async () => {
      do {
        saved = (await migrateStorage({ from, to: flaky, keyring, limit: 40, ...(saved !== undefined && { cursor: saved }) })).cursor;
      } while (saved !== undefined);
    };
    await expect(job()).rejects.toThrow('connection lost');
    // Resume from the last page that completed (the failing page is redone: create-if-absent makes that safe).
    let cursor = saved;
    let copied = 0;
    let skipped = 0;
    do {
      const page = await migrateStorage({ from, to, keyring, limit: 40, ...(cursor !== undefined && { cursor }) });
      copied += page.copied;
      skipped += page.skipped;
      cursor = page.cursor;
    } while (cursor !== undefined);
    expect((await to.list({ prefix: '', limit: 1000 })).keys).toHaveLength(total);
    expect(copied + skipped).toBe(total - 80); // two pages of 40 were done before the interruption
    expect(skipped).toBeLessThanOrEqual(40);

    expect(await migrateStorage({ from, to, keyring })).toEqual({ copied: 0, skipped: total, unreadable: 0 });

    const target = new OAuthStore({ keyring, adapter: to, now: clock.now });
    for (const token of tokens) expect(await target.validateAccessToken(token.accessToken)).toMatchObject({ clientId: client.clientId });
    await expect(target.refreshAccessToken({ clientId: client.clientId, refreshToken: tokens[0]!.refreshToken! })).resolves.toBeDefined();
  });

  test('records it cannot open are counted and not copied; reseal moves the rest to the current key', async () => {
    const oldSecret = generateSecret();
    const keyring = await Keyring.fromSecret(oldSecret);
    const from = memoryAdapter();
    await populate(new OAuthStore({ keyring, adapter: from }), 3);
    const value = (await from.get((await from.list({ prefix: 'grant/' })).keys[0]!))!.value;
    await from.put('grant/forged', value); // a sealed body moved to another key: its AAD no longer matches
    const to = memoryAdapter();
    const rotated = await Keyring.fromSecret([{ id: 'next', secret: generateSecret() }, { id: 'old', secret: oldSecret }]);
    const result = await migrateStorage({ from, to, keyring: rotated, reseal: true });
    expect(result.unreadable).toBe(1);
    expect(await to.get('grant/forged')).toBeNull();
    const keys = (await to.list({ prefix: '', limit: 1000 })).keys;
    expect(keys.length).toBe(result.copied);
    for (const key of keys) expect(rotated.envelopeKeyId((await to.get(key))!.value)).toBe('next');
  });
});
