import { Bench } from 'tinybench';
import { Keyring, generateSecret } from '../../../src/index.js';
import { memoryAdapter } from '../../../adapters/memory/index.js';
import { connectRedis, redisAdapter } from '../../../adapters/redis/index.js';
import { startRedisServer } from '../../../tests/support/redis-server.js';
import { adapterOps, type AdapterOps } from '../adapter-ops.js';
import { config } from '../config.js';
import { call, startWorker } from '../miniflare.js';
import type { SectionResult } from '../report.js';
import { fmtMs, ms, ratio, rme, summarizeAll, type Summary } from '../stats.js';

/**
 * `validateAccessToken` and `exchangeAuthorizationCode` on Redis, beside
 * memory and D1: Redis and memory from Node (Redis is a local redis-server
 * over loopback TCP), D1 and memory inside workerd, where D1 runs (timed
 * from Node per dispatch of `n` calls, like the floor section).
 */

const OPS = ['validate', 'exchange'] as const;
type Op = (typeof OPS)[number];
const LABEL: Record<Op, string> = { validate: '`validateAccessToken`', exchange: '`exchangeAuthorizationCode`' };
/** Calls per dispatch into workerd: enough to amortize the dispatch, few enough for D1 (milliseconds per call). */
const PER_DISPATCH: Record<Op, number> = { validate: 20, exchange: 10 };

interface Row {
  runtime: string;
  adapter: string;
  /** The memory row of the same runtime, for the ratio. */
  reference: string;
  summary: Record<Op, Summary>;
  calls: { validate: number; exchange: number };
}

async function inNode(): Promise<{ rows: Row[]; redisVersion: string }> {
  const keyring = await Keyring.fromSecret(generateSecret());
  const server = await startRedisServer();
  const client = await connectRedis({ url: server.url });
  try {
    const subjects: Record<string, AdapterOps> = {
      memory: await adapterOps(keyring, memoryAdapter()),
      redis: await adapterOps(keyring, redisAdapter({ client, keyPrefix: 'bench:' })),
    };
    const bench = new Bench({ time: config.time(2_000), iterations: config.minIterations, warmupTime: config.time(200), retainSamples: true });
    for (const [name, ops] of Object.entries(subjects)) {
      bench.add(`validate: ${name}`, ops.validate);
      bench.add(`exchange: ${name}`, ops.exchange, { beforeEach: () => ops.prepare(1) });
    }
    await bench.run();
    const s = summarizeAll(bench);
    const rows: Row[] = [];
    for (const [name, ops] of Object.entries(subjects)) {
      rows.push({ runtime: 'Node', adapter: name, reference: 'memory', summary: { validate: s.get(`validate: ${name}`)!, exchange: s.get(`exchange: ${name}`)! }, calls: await ops.countCalls() });
    }
    const redisVersion = /redis_version:(\S+)/.exec(String(await client.sendCommand(['INFO', 'server'])))?.[1] ?? 'unknown';
    return { rows, redisVersion };
  } finally {
    await client.close();
    await server.stop();
  }
}

async function inWorkerd(): Promise<Row[]> {
  const mf = await startWorker();
  try {
    await call(mf, '/adapters/setup');
    const perCall: Record<string, number> = {};
    const bench = new Bench({ time: config.time(2_000), iterations: config.minIterations, warmupTime: config.time(200), retainSamples: true });
    for (const adapter of ['memory', 'd1']) {
      for (const op of OPS) {
        const n = PER_DISPATCH[op];
        const name = `${op}: ${adapter}`;
        perCall[name] = n;
        const hooks = op === 'exchange' ? { beforeEach: async () => void (await call(mf, `/adapters/prepare?adapter=${adapter}&n=${n}`)) } : {};
        bench.add(name, async () => void (await call(mf, `/adapters/run?adapter=${adapter}&op=${op}&n=${n}`)), hooks);
      }
    }
    await bench.run();
    const s = summarizeAll(bench, perCall);
    const rows: Row[] = [];
    for (const adapter of ['memory', 'd1']) {
      const calls = JSON.parse(await call(mf, `/adapters/count?adapter=${adapter}`)) as Row['calls'];
      rows.push({ runtime: 'workerd', adapter: adapter === 'd1' ? 'D1' : adapter, reference: 'memory', summary: { validate: s.get(`validate: ${adapter}`)!, exchange: s.get(`exchange: ${adapter}`)! }, calls });
    }
    return rows;
  } finally {
    await mf.dispose();
  }
}

export async function runRedis(): Promise<SectionResult> {
  const node = await inNode();
  let workerd: Row[] = [];
  let workerdError: string | undefined;
  try {
    workerd = await inWorkerd();
  } catch (error) {
    workerdError = error instanceof Error ? error.message : String(error);
  }
  const rows = [...node.rows, ...workerd];
  const find = (runtime: string, adapter: string) => rows.find((row) => row.runtime === runtime && row.adapter === adapter);
  const redis = find('Node', 'redis')!;
  const d1 = find('workerd', 'D1');
  const line = (row: Row) => `${ms(row.summary.validate.median)} ms / ${ms(row.summary.exchange.median)} ms`;
  return {
    id: 'redis',
    title: 'Redis beside memory and D1: validation and code exchange',
    ok: true,
    summary: [
      `Redis (Node, local redis-server ${node.redisVersion}): validate / exchange ${line(redis)}; memory in Node ${line(find('Node', 'memory')!)}${d1 ? `; D1 in workerd ${line(d1)}` : ''}.`,
    ],
    intro: [
      `The same OAuthStore calls, one at a time, on each adapter (bench/src/adapter-ops.ts): a public client with PKCE, a warm validation of one access token, and the exchange of a fresh code issued outside the timed call. Redis: \`redisAdapter\` over \`@redis/client\` in Node, to a redis-server ${node.redisVersion} on 127.0.0.1 (persistence off), started by the section. D1 runs only in workerd, so it is measured there (Miniflare's local D1), beside memory in the same workerd: Node times one dispatch of ${PER_DISPATCH.validate} validations or ${PER_DISPATCH.exchange} exchanges and divides by that count. Ratios compare each adapter with memory in its own runtime.`,
    ],
    tables: [
      {
        caption: 'Latency per operation, ms: median (p25–p75); ratio = median / memory median in the same runtime; calls = adapter calls of one operation',
        columns: ['operation', 'runtime', 'adapter', 'median (p25–p75)', 'rme', 'ratio to memory', 'adapter calls', 'samples'],
        rows: OPS.flatMap((op) =>
          rows.map((row) => {
            const summary = row.summary[op];
            const reference = find(row.runtime, row.reference)!.summary[op];
            return [LABEL[op], row.runtime, row.adapter, fmtMs(summary), rme(summary), ratio(summary.median / reference.median), String(row.calls[op]), String(summary.samples)];
          }),
        ),
      },
    ],
    notes: [
      'Adapter calls are `StorageAdapter` method calls of one operation, counted on a delegating copy: a warm validation is one batch of reads (access token, grant, revocation marker; the client record is cached), an exchange is one batch (its checks, the redemption, the tokens and the audit record). On Redis each is one `EVALSHA`, one round trip.',
      'Loopback hides network latency: over a real network, add one round trip per adapter call. Miniflare\'s D1 is a local SQLite file, not D1\'s edge latency.',
      ...(workerdError ? [`The workerd half failed: ${workerdError}`] : []),
    ],
  };
}
