// The extension points from outside src/: a grant type is one object registered in one list, and a
// record kind registered once is re-sealed and cleaned up like the built-in ones.
import { describe, expect, test } from 'vitest';
import { memoryAdapter } from '../../adapters/memory/index.js';
import {
  Keyring,
  OAuthStore,
  generateSecret,
  InvalidRequestError,
  UnauthorizedClientError,
  UnsupportedGrantTypeError,
  type GrantHandler,
  type RecordKind,
} from '../../src/index.js';
import { createTestClock } from '../../src/storage/conformance/index.js';

/**
 * The toy grant, as an app would write it in one file: a trusted kiosk device exchanges the id of
 * the person it verified for a token, and keeps a sealed note of the verification with the grant.
 */
const kioskNotes: RecordKind = { kind: 'kiosk-note', store: 'single-use', ownedBy: 'grant' };
const kioskGrant: GrantHandler<{ person: string; scope: string[] | undefined }> = {
  type: 'urn:example:kiosk',
  parameters: ['person', 'scope'],
  publicClients: false,
  records: [kioskNotes],
  parse(params) {
    if (typeof params.person !== 'string' || !/^p-[a-z0-9]{1,20}$/.test(params.person)) throw new InvalidRequestError('person', 'must be a person id');
    return { person: params.person, scope: params.scope as string[] | undefined };
  },
  async issue(tools, client, { person, scope }) {
    const tokens = await tools.issueGrant({ client, userId: person, scope: tools.allowedScope(client, scope), props: { via: 'kiosk' } });
    await tools.records<{ verifiedAt: number }>('kiosk-note').put(`${tokens.grantId}/verification`, { verifiedAt: tools.now });
    return tokens;
  },
};

async function setup() {
  const clock = createTestClock();
  const adapter = memoryAdapter({ now: clock.now });
  const secret = generateSecret();
  const store = new OAuthStore({ keyring: await Keyring.fromSecret(secret), adapter, now: clock.now, grants: [kioskGrant] });
  const { client, clientSecret } = await store.registerClient({ type: 'confidential', grantTypes: ['urn:example:kiosk'], scope: ['badge'] });
  return { clock, adapter, secret, store, creds: { clientId: client.clientId, clientSecret: clientSecret! } };
}

describe('a grant type from outside src/, through the public extension point', () => {
  test('issues, validates, introspects, lists, revokes end to end', async () => {
    const { store, creds } = await setup();
    const tokens = await store.requestToken({ grantType: 'urn:example:kiosk', ...creds, person: 'p-ada' });
    expect(tokens.scope).toEqual(['badge']);
    expect(tokens.refreshToken).toBeUndefined();
    expect(await store.validateAccessToken(tokens.accessToken)).toMatchObject({
      userId: 'p-ada', clientId: creds.clientId, grantType: 'urn:example:kiosk', scope: ['badge'], props: { via: 'kiosk' },
    });
    expect(await store.introspect(tokens.accessToken)).toMatchObject({ active: true, sub: 'p-ada', scope: 'badge' });
    expect((await store.listGrants('p-ada')).grants).toMatchObject([{ grantId: tokens.grantId, grantType: 'urn:example:kiosk' }]);
    expect((await store.listClientGrants(creds.clientId)).grants.map((grant) => grant.grantId)).toEqual([tokens.grantId]);
    const audit = await store.queryAudit({ userId: 'p-ada' });
    expect(audit.events.map((event) => event.type)).toEqual(['access_token_issued']);
    expect(await store.revokeGrant(tokens.grantId)).toBe(true);
    expect(await store.validateAccessToken(tokens.accessToken)).toBeNull();
  });

  test('the shared prologue applies to it: its own checks, unknown parameters, the client and its permission', async () => {
    const { store, creds } = await setup();
    await expect(store.requestToken({ grantType: 'urn:example:kiosk', ...creds, person: 'Robert' })).rejects.toMatchObject({ field: 'person' });
    await expect(store.requestToken({ grantType: 'urn:example:kiosk', ...creds, person: 'p-ada', pin: '1234' })).rejects.toMatchObject({ field: 'params.pin' });
    await expect(store.requestToken({ grantType: 'urn:example:kiosk', ...creds, clientSecret: 'wrong', person: 'p-ada' })).rejects.toMatchObject({ code: 'ERR_INVALID_CLIENT' });
    await expect(store.requestToken({ grantType: 'urn:example:elsewhere', ...creds })).rejects.toBeInstanceOf(UnsupportedGrantTypeError);
    const { client: other, clientSecret } = await store.registerClient({ type: 'confidential', grantTypes: ['client_credentials'] });
    await expect(store.requestToken({ grantType: 'urn:example:kiosk', clientId: other.clientId, clientSecret: clientSecret!, person: 'p-ada' })).rejects.toBeInstanceOf(UnauthorizedClientError);
    const { client: publicKiosk } = await store.registerClient({ type: 'public', grantTypes: ['urn:example:kiosk'] });
    await expect(store.requestToken({ grantType: 'urn:example:kiosk', clientId: publicKiosk.clientId, person: 'p-ada' })).rejects.toBeInstanceOf(UnauthorizedClientError);
  });

  test('its record kind is covered by resealAll and cleanupExpired with no list edited by hand', async () => {
    const { clock, adapter, secret, store, creds } = await setup();
    const kept = await store.requestToken({ grantType: 'urn:example:kiosk', ...creds, person: 'p-ada' });
    const revoked = await store.requestToken({ grantType: 'urn:example:kiosk', ...creds, person: 'p-bob' });
    const notes = async () => (await adapter.list({ prefix: 'kiosk-note/' })).keys;
    expect(await notes()).toEqual([`kiosk-note/${kept.grantId}/verification`, `kiosk-note/${revoked.grantId}/verification`].sort());

    // Re-sealing: after a rotation every note is under the new key, and the old key can go.
    const rotated = new OAuthStore({
      keyring: await Keyring.fromSecret([{ id: 'new', secret: generateSecret() }, { id: 'old', secret }]),
      adapter,
      now: clock.now,
      grants: [kioskGrant],
    });
    expect((await rotated.resealAll()).failed).toBe(0);
    const reader = await Keyring.fromSecret(secret);
    for (const key of await notes()) expect(reader.envelopeKeyId((await adapter.get(key))!.value)).toBe('new');

    // Cleanup: the notes of a revoked grant go with it.
    await rotated.revokeGrant(revoked.grantId);
    const result = await rotated.cleanupExpired();
    expect(result.records['kiosk-note']).toBe(1);
    expect(await notes()).toEqual([`kiosk-note/${kept.grantId}/verification`]);
  });

  test('a record kind is checked and registered only once', async () => {
    await expect(
      (async () => new OAuthStore({ keyring: await Keyring.fromSecret(generateSecret()), adapter: memoryAdapter(), records: [{ kind: 'grant', store: 'main' }] }))(),
    ).rejects.toMatchObject({ field: 'records[0].kind' });
    await expect(
      (async () => new OAuthStore({ keyring: await Keyring.fromSecret(generateSecret()), adapter: memoryAdapter(), records: [{ kind: 'Bad Kind', store: 'main' }] }))(),
    ).rejects.toMatchObject({ field: 'records[0].kind' });
  });
});
