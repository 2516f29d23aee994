import { Keyring, generateSecret, type StorageAdapter } from '../../src/index.js';
import { memoryAdapter } from '../../adapters/memory/index.js';
import { createFlow, type Flow } from './flow.js';
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
  grantIssued: number;
  grantActive: number;
  access: number;
  audit: number;
  auditIndex: number;
  accessMsg: number;
  codeMsg: number;
  refreshMsg: number;
  userMsg: number;
  clientSecretMsg: number;
}

/** The floors, op for op (see the table of counts in the intro). */
export function floors(p: Primitives, sizes: Sizes) {
  let sequence = 0;
  const audit = async (): Promise<void> => {
    const id = ++sequence;
    await p.hmac(sizes.userMsg);
    await p.put(`floor-audit/${id}`, await p.seal(sizes.audit));
    await Promise.all([0, 1, 2].map(async (index) => p.put(`floor-audit-index/${index}/${id}`, await p.seal(sizes.auditIndex))));
  };
  const transition = async (kind: 'exchange' | 'refresh', withAudit: boolean): Promise<void> => {
    // Client record (and, as performed, the constant-time secret lookup beside it).
    await Promise.all([p.readOpen('client'), withAudit ? p.hmac(sizes.clientSecretMsg) : Promise.resolve()]);
    await p.hmac(kind === 'exchange' ? sizes.codeMsg : sizes.refreshMsg);
    const fixture = kind === 'exchange' ? 'grant-issued' : 'grant-active';
    const version = await p.readOpen(fixture);
    if (kind === 'exchange') await p.sha256(43); // PKCE S256 of the verifier
    crypto.getRandomValues(new Uint8Array(32));
    crypto.getRandomValues(new Uint8Array(32));
    await Promise.all([p.hmac(sizes.accessMsg), p.hmac(sizes.refreshMsg)]);
    const [grant, access] = await Promise.all([p.seal(sizes.grantActive), p.seal(sizes.access)]);
    await p.commit(fixture, version, grant, `floor-access/${++sequence}`, access);
    if (withAudit) for (let index = 0; index < 3; index++) await audit();
  };
  return {
    validateMinimal: async () => {
      await p.hmac(sizes.accessMsg);
      await p.readOpen('access');
    },
    validateSameOps: async () => {
      await p.hmac(sizes.accessMsg);
      await p.readOpen('access');
      await p.readOpen('grant-active');
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
  const grantIssued = await plaintextBytes(adapter, keyring, 'grant/');
  const tokens = await flow.exchange(issuedCode);
  const sizes: Sizes = {
    client: await plaintextBytes(adapter, keyring, 'client/'),
    grantIssued,
    grantActive: await plaintextBytes(adapter, keyring, 'grant/'),
    access: await plaintextBytes(adapter, keyring, 'access/'),
    audit: await plaintextBytes(adapter, keyring, 'audit/'),
    auditIndex: await plaintextBytes(adapter, keyring, 'audit-type/'),
    accessMsg: lookupMessage('oauth/access-token', tokens.accessToken),
    codeMsg: lookupMessage('oauth/code', issuedCode),
    refreshMsg: lookupMessage('oauth/refresh-token', tokens.refreshToken!),
    userMsg: lookupMessage('oauth/user', 'bench-user'),
    clientSecretMsg: lookupMessage(`oauth/client-secret/${flow.clientId}`, ''),
  };
  const p = primitives(keyring, adapter);
  await p.fixture('client', sizes.client);
  await p.fixture('grant-issued', sizes.grantIssued);
  await p.fixture('grant-active', sizes.grantActive);
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
