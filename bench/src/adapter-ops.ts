import type { Keyring, StorageAdapter } from '../../src/index.js';
import { createFlow } from './flow.js';

/**
 * `validateAccessToken` and `exchangeAuthorizationCode` on one adapter, as
 * the Redis section compares them (runtime-neutral: the Node section and the
 * bench Worker use it). Exchanges redeem codes queued by `prepare`, so
 * issuing a code stays outside the timed call.
 */
export interface AdapterOps {
  validate(): Promise<void>;
  exchange(): Promise<void>;
  prepare(count: number): Promise<void>;
  /** Adapter calls of one warm validation and one exchange. */
  countCalls(): Promise<{ validate: number; exchange: number }>;
}

/** A delegating copy of an adapter that counts its method calls. */
function counting(inner: StorageAdapter): { adapter: StorageAdapter; take: () => number } {
  let calls = 0;
  const count =
    <A extends unknown[], R>(method: (...args: A) => R) =>
    (...args: A): R => {
      calls++;
      return method(...args);
    };
  const adapter: StorageAdapter = {
    name: inner.name,
    capabilities: inner.capabilities,
    get: count((key) => inner.get(key)),
    put: count((key, value, options) => inner.put(key, value, options)),
    compareAndSet: count((key, value, condition, options) => inner.compareAndSet(key, value, condition, options)),
    delete: count((key, options) => inner.delete(key, options)),
    list: count((options) => inner.list(options)),
    ...(inner.batch && { batch: count((operations: Parameters<NonNullable<StorageAdapter['batch']>>[0]) => inner.batch!(operations)) }),
  };
  return {
    adapter,
    take: () => {
      const taken = calls;
      calls = 0;
      return taken;
    },
  };
}

export async function adapterOps(keyring: Keyring, inner: StorageAdapter): Promise<AdapterOps> {
  const { adapter, take } = counting(inner);
  const flow = await createFlow(keyring, adapter);
  const token = (await flow.exchange(await flow.authorize())).accessToken;
  const codes: string[] = [];
  const ops: AdapterOps = {
    async validate() {
      if ((await flow.store.validateAccessToken(token)) === null) throw new Error('the token did not validate');
    },
    async exchange() {
      const code = codes.pop();
      if (code === undefined) throw new Error('no code prepared');
      await flow.exchange(code);
    },
    async prepare(count) {
      for (let index = 0; index < count; index++) codes.push(await flow.authorize());
    },
    async countCalls() {
      await ops.prepare(1);
      await ops.validate();
      take();
      await ops.validate();
      const validate = take();
      await ops.exchange();
      return { validate, exchange: take() };
    },
  };
  return ops;
}
