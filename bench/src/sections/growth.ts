import { Bench } from 'tinybench';
import { Keyring, generateSecret } from '../../../src/index.js';
import { memoryAdapter } from '../../../adapters/memory/index.js';
import { config } from '../config.js';
import { createFlow } from '../flow.js';
import { call, startWorker } from '../miniflare.js';
import type { SectionResult, Table } from '../report.js';
import { fmtMs, int, ms, rme, summarize } from '../stats.js';
import { readTemplate, seedTokens } from '../seed.js';

const MiB = 2 ** 20;
const t00 = performance.now();
const debug = (what: string): void => {
  if (process.env.BENCH_DEBUG) console.log(`[growth +${((performance.now() - t00) / 1000).toFixed(1)} s] ${what}`);
};

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc (bench/run.mjs does)');
  gc();
  gc();
}

const exp = (n: number): string => `10^${Math.round(Math.log10(n))}`;

async function memoryGrowth(sizes: number[]): Promise<Table & { headline: string[] }> {
  const keyring = await Keyring.fromSecret(generateSecret());
  const adapter = memoryAdapter();
  const flow = await createFlow(keyring, adapter);
  const tokens = await flow.exchange(await flow.authorize());
  const template = await readTemplate(adapter, keyring, tokens.grantId);
  const seeded: string[] = [];
  collect();
  const base = process.memoryUsage();
  const rows: string[][] = [];
  const headline: string[] = [];
  for (const size of sizes) {
    const t0 = performance.now();
    seeded.push(...(await seedTokens(adapter, keyring, template, size - seeded.length, { batchSize: 200, concurrency: 4 })));
    if (process.env.BENCH_DEBUG) console.log(`seeded memory to ${seeded.length} in ${(performance.now() - t0).toFixed(0)} ms`);
    for (const token of [seeded[0]!, seeded[seeded.length - 1]!]) {
      if ((await flow.store.validateAccessToken(token)) === null) throw new Error('a seeded token does not validate');
    }
    collect();
    const now = process.memoryUsage();
    const heap = now.heapUsed + now.arrayBuffers - base.heapUsed - base.arrayBuffers;
    const bench = new Bench({ time: config.time(2_000), iterations: config.minIterations, warmupTime: config.time(200), retainSamples: true });
    bench.add('validate', async () => {
      const token = seeded[Math.floor(Math.random() * seeded.length)]!;
      if ((await flow.store.validateAccessToken(token)) === null) throw new Error('seeded token did not validate');
    });
    await bench.run();
    const summary = summarize(bench.tasks[0]!);
    debug(`memory ${size} benched`);
    headline.push(`${exp(size)}: ${ms(summary.median)} ms, ${(heap / MiB).toFixed(0)} MiB`);
    rows.push([
      'memory (Node)',
      `${exp(size)} (${int(seeded.length)})`,
      fmtMs(summary),
      rme(summary),
      `heap + buffers +${(heap / MiB).toFixed(1)} MiB, RSS +${((now.rss - base.rss) / MiB).toFixed(1)} MiB`,
      `${int(heap / seeded.length)} B`,
      String(summary.samples),
    ]);
  }
  return { columns: [], rows, headline };
}

async function d1Growth(sizes: number[]): Promise<{ rows: string[][]; headline: string[] }> {
  const perDispatch = 20;
  const mf = await startWorker();
  try {
    debug('miniflare started');
    const setup = JSON.parse(await call(mf, '/growth/setup')) as { dbBytes: number };
    const rows: string[][] = [];
    const headline: string[] = [];
    let total = 0;
    for (const size of sizes) {
      let dbBytes = Number.NaN;
      // In steps, so no single request runs for minutes.
      while (total < size) {
        total = Math.min(size, total + 10_000);
        const t0 = performance.now();
        dbBytes = (JSON.parse(await call(mf, `/growth/seed?total=${total}`)) as { dbBytes: number }).dbBytes;
        if (process.env.BENCH_DEBUG) console.log(`seeded D1 to ${total} in ${(performance.now() - t0).toFixed(0)} ms`);
      }
      const bench = new Bench({ time: config.time(4_000), iterations: config.minIterations, warmupTime: config.time(300), retainSamples: true });
      bench.add('validate', async () => {
        await call(mf, `/growth/validate?count=${perDispatch}`);
      });
      await bench.run();
      const summary = summarize(bench.tasks[0]!, perDispatch);
      debug(`d1 ${size} benched`);
      const delta = dbBytes - setup.dbBytes;
      headline.push(`${exp(size)}: ${ms(summary.median)} ms, ${Number.isFinite(delta) ? `${(delta / MiB).toFixed(0)} MiB` : 'size n/a'}`);
      rows.push([
        'D1 (workerd)',
        `${exp(size)} (${int(total)})`,
        fmtMs(summary),
        rme(summary),
        Number.isFinite(delta) ? `database +${(delta / MiB).toFixed(1)} MiB (D1 meta.size_after)` : 'database size not available',
        Number.isFinite(delta) ? `${int(delta / total)} B` : 'n/a',
        String(summary.samples * perDispatch),
      ]);
    }
    return { rows, headline };
  } finally {
    await mf.dispose();
  }
}

export async function runGrowth(): Promise<SectionResult> {
  const sizes = config.growthSizes();
  const memory = await memoryGrowth(sizes);
  let d1: { rows: string[][]; headline: string[] } = { rows: [], headline: [] };
  let d1Error: string | undefined;
  try {
    d1 = await d1Growth(sizes);
  } catch (error) {
    d1Error = error instanceof Error ? error.message : String(error);
  }
  return {
    id: 'growth',
    title: '5. Growth: validation latency and memory with 10^3, 10^4, 10^5 stored tokens',
    ok: true,
    summary: [
      `Growth, validation latency and storage for ${sizes.map(exp).join(' / ')} tokens: memory adapter (Node heap) ${memory.headline.join('; ')}${d1.headline.length ? `; D1 (database size) ${d1.headline.join('; ')}` : ''}.`,
    ],
    intro: [
      'Tokens are seeded straight into storage in the exact record format OAuthStore writes: copies of the grant and access-token records a real `exchangeAuthorizationCode` just wrote, re-sealed by the public `RecordStore` under the same keyring, one grant per token, under new grant ids and new tokens (bench/src/seed.ts). Seeding through full OAuth flows would also write codes and nine audit records per token and take minutes at 10^5. After seeding, the first and last seeded tokens must validate through `validateAccessToken`, which proves the format. Sizes are cumulative (the same store grows).',
      'Latency: `validateAccessToken` of a random seeded token per call. Memory adapter: in Node, timed per call by tinybench; memory is V8 heap plus array buffers after two forced GCs, minus the same before seeding (RSS also shown). D1: in workerd under Miniflare with the D1 adapter holding everything (atomic, so no Durable Object needed); Node times one `dispatchFetch` of 20 sequential validations and divides by 20 (so each figure carries 1/20 of a ~1 ms round trip); workerd\'s own memory is not visible from here, so the row reports the growth of the D1 database file instead.',
    ],
    tables: [
      {
        caption: 'Validation latency, ms: median (p25–p75); storage growth since before seeding',
        columns: ['storage', 'stored tokens', 'validate ms', 'rme', 'growth', 'per token', 'samples'],
        rows: [...memory.rows, ...d1.rows],
      },
    ],
    notes: d1Error ? [`**D1 rows failed:** ${d1Error}`] : [],
  };
}
