import { Keyring, generateSecret, type StorageAdapter } from '../../src/index.js';
import { memoryAdapter } from '../../adapters/memory/index.js';
import { createFlow, REDIRECT_URI, type Flow } from './flow.js';
import { opCounter, type OpCounts } from './op-counter.js';
import { primitives, type Primitives } from './primitives.js';

/**
 * The floor bench's subjects, runtime-neutral (Node section and bench Worker):
 * oauth-vault's validate / exchange / refresh on a memory adapter, and the
 * raw floors made of the same primitives (see bench/src/primitives.ts).
 */

/** Plaintext bytes of the first record under `prefix`, from its envelope size. */
async function plaintextBytes(adapter: StorageAdapter, keyring: Keyring, prefix: string): Promise<number> {
  const { keys } = await adapter.list({ prefix, limit: 1 });
  const entry = keys[0] === undefined ? null : await adapter.get(keys[0]);
  if (!entry) throw new Error(`no record under ${prefix}`);
  return entry.value.length - (2 + keyring.currentKeyId.length) - 12 - 16;
}

/** Lookup-id message: 2-byte length, context, token. */
const lookupMessage = (context: string, token: string): number => 2 + context.length + token.length;

export interface Sizes {
  client: number;
  grant: number;
  live: number;
  access: number;
  refresh: number;
  rotated: number;
  audit: number;
  accessMsg: number;
  bindingMsg: number;
  refreshMsg: number;
  clientSecretMsg: number;
}

/** The floors, op for op (see the table of counts in the intro). */
export function floors(p: Primitives, sizes: Sizes) {
  let sequence = 0;
  const fresh = (kind: string): string => `floor-${kind}/${++sequence}`;
  /** One transition: lookup ids and seals before the call, one atomic batch, one open after. */
  const transition = async (kind: 'exchange' | 'refresh', sameOps: boolean): Promise<void> => {
    const hmacs = [kind === 'exchange' ? sizes.bindingMsg : sizes.refreshMsg, sizes.accessMsg, sizes.refreshMsg];
    if (sameOps) hmacs.push(sizes.clientSecretMsg); // the constant-time client check, done even for a public client
    await Promise.all([...hmacs.map((length) => p.hmac(length)), kind === 'exchange' ? p.sha256(43) : Promise.resolve()]);
    crypto.getRandomValues(new Uint8Array(32));
    crypto.getRandomValues(new Uint8Array(32));
    const extra = sameOps ? [kind === 'exchange' ? sizes.live : sizes.rotated, sizes.audit] : [];
    const [access, refresh, ...more] = await Promise.all([sizes.access, sizes.refresh, ...extra].map((length) => p.seal(length)));
    const puts = [{ key: fresh('refresh'), value: refresh! }, ...more.map((value) => ({ key: fresh('extra'), value }))];
    await p.transition('grant', { key: fresh('access'), value: access! }, puts, 'grant');
  };
  return {
    validateMinimal: async () => {
      await p.hmac(sizes.accessMsg);
      await p.readOpen('access');
    },
    validateSameOps: async () => {
      await p.hmac(sizes.accessMsg);
      await p.batchReadOpen(['access', 'grant'], ['floor/not-revoked']);
    },
    exchangeMinimal: () => transition('exchange', false),
    exchangeSameOps: () => transition('exchange', true),
    refreshMinimal: () => transition('refresh', false),
    refreshSameOps: () => transition('refresh', true),
  };
}

export interface FloorSubjects {
  flow: Flow;
  sizes: Sizes;
  floor: ReturnType<typeof floors>;
  /** oauth-vault's operations; `exchange` redeems codes queued by `prepareCodes`. */
  ours: { validate(): Promise<void>; exchange(): Promise<void>; refresh(): Promise<void> };
  prepareCodes(count: number): Promise<void>;
  /** Primitive operations one call of `fn` performs (crypto.subtle calls, adapter reads and writes). */
  measure(fn: () => Promise<unknown>): Promise<OpCounts>;
}

export async function setupFloor(): Promise<FloorSubjects> {
  const keyring = await Keyring.fromSecret(generateSecret());
  const adapter = memoryAdapter();
  const counter = opCounter();
  const flow = await createFlow(keyring, counter.wrap(adapter));
  // One full cycle, to measure the sizes of the records the store really writes.
  const issuedCode = await flow.authorize();
  const tokens = await flow.exchange(issuedCode);
  await flow.refresh((await flow.exchange(await flow.authorize())).refreshToken!);
  const sizes: Sizes = {
    client: await plaintextBytes(adapter, keyring, 'client/'),
    grant: await plaintextBytes(adapter, keyring, 'grant/'),
    live: await plaintextBytes(adapter, keyring, 'grant-live/'),
    access: await plaintextBytes(adapter, keyring, 'access/'),
    refresh: await plaintextBytes(adapter, keyring, 'refresh/'),
    rotated: await plaintextBytes(adapter, keyring, 'rotated/'),
    audit: await plaintextBytes(adapter, keyring, 'audit/'),
    accessMsg: lookupMessage('oauth/access-token', tokens.accessToken),
    bindingMsg: lookupMessage('oauth/code-binding', JSON.stringify([issuedCode, flow.clientId, REDIRECT_URI, flow.pkce.challenge])),
    refreshMsg: lookupMessage('oauth/refresh-token', tokens.refreshToken!),
    clientSecretMsg: lookupMessage(`oauth/client-secret/${flow.clientId}`, ''),
  };
  const p = primitives(keyring, adapter);
  await p.fixture('grant', sizes.grant);
  await p.fixture('access', sizes.access);
  const floor = floors(p, sizes);

  let refreshToken = tokens.refreshToken!;
  const codes: string[] = [];
  return {
    flow,
    sizes,
    floor,
    ours: {
      async validate() {
        if ((await flow.store.validateAccessToken(tokens.accessToken)) === null) throw new Error('token did not validate');
      },
      async exchange() {
        const code = codes.pop();
        if (code === undefined) throw new Error('no prepared code');
        await flow.exchange(code);
      },
      async refresh() {
        refreshToken = (await flow.refresh(refreshToken)).refreshToken!;
      },
    },
    measure: (fn) => counter.measure(fn),
    async prepareCodes(count) {
      for (let index = 0; index < count; index++) codes.push(await flow.authorize());
    },
  };
}
