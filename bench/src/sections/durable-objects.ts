import { Bench } from 'tinybench';
import { config } from '../config.js';
import { call, startWorker } from '../miniflare.js';
import type { SectionResult } from '../report.js';
import { int, ms, rme, summarize } from '../stats.js';

interface RedeemResult {
  codes: number;
  winners: number;
  doubleSpends: number;
  refused: number;
  otherErrors: number;
  firstError?: string;
}

/** (objects, concurrent contenders per code): uncontended through one object, then contended through 1, 4 and 16. */
const RUNS = [
  { shards: 1, contenders: 1 },
  { shards: 1, contenders: 4 },
  { shards: 4, contenders: 4 },
  { shards: 16, contenders: 4 },
] as const;

export async function runDurableObjects(): Promise<SectionResult> {
  const codes = config.count(200, 20);
  const repetitions = config.count(5, 3);
  const mf = await startWorker();
  try {
    const rows: string[][] = [];
    let totalCodes = 0;
    let totalDoubleSpends = 0;
    let totalMissing = 0;
    let totalOther = 0;
    let firstError: string | undefined;
    for (const { shards, contenders } of RUNS) {
      let run = '';
      const outcomes: RedeemResult[] = [];
      const bench = new Bench({ iterations: repetitions, time: 0, warmup: false, retainSamples: true });
      bench.add(`${shards}x${contenders}`, async () => {
        const outcome = JSON.parse(await call(mf, `/do/redeem?run=${run}&contenders=${contenders}`)) as RedeemResult;
        outcomes.push(outcome);
      }, {
        // Fresh codes for every repetition, issued before the clock starts.
        beforeEach: async () => {
          run = (JSON.parse(await call(mf, `/do/seed?shards=${shards}&codes=${codes}`)) as { run: string }).run;
        },
      });
      await bench.run();
      const summary = summarize(bench.tasks[0]!);
      const redeemed = outcomes.reduce((sum, outcome) => sum + outcome.winners, 0);
      const seeded = outcomes.reduce((sum, outcome) => sum + outcome.codes, 0);
      const doubleSpends = outcomes.reduce((sum, outcome) => sum + outcome.doubleSpends, 0);
      const other = outcomes.reduce((sum, outcome) => sum + outcome.otherErrors, 0);
      firstError ??= outcomes.find((outcome) => outcome.firstError)?.firstError;
      totalCodes += seeded;
      totalDoubleSpends += doubleSpends;
      totalMissing += seeded - redeemed;
      totalOther += other;
      // Per run: `codes` redemptions in `latency` ms.
      const perSecond = (latencyMs: number) => int((codes * 1000) / latencyMs);
      rows.push([
        String(shards),
        String(contenders),
        `${perSecond(summary.median)} (${perSecond(summary.p75)}–${perSecond(summary.p25)})`,
        `${ms(summary.median)} (${ms(summary.p25)}–${ms(summary.p75)})`,
        rme(summary),
        `${redeemed} / ${seeded}`,
        String(doubleSpends),
        String(other),
        String(summary.samples),
      ]);
    }
    const rates = rows.map((row) => `${row[2]!.split(' ')[0]}/s through ${row[0]} object${row[0] === '1' ? '' : 's'} (${row[1]} contender${row[1] === '1' ? '' : 's'} per code)`);
    if (totalDoubleSpends > 0 || totalMissing > 0) throw new Error(`exactly-once violated: ${totalDoubleSpends} double-spends, ${totalMissing} codes never redeemed`);
    return {
      id: 'durable-objects',
      title: '3. Durable Object consumption throughput (workerd, Miniflare)',
      ok: true,
      summary: [`Durable Object redemptions: ${rates.join(', ')}; ${totalDoubleSpends} double-spends in ${totalCodes} codes.`],
      intro: [
        `Each run issues ${codes} fresh authorization codes (untimed, in tinybench's \`beforeEach\`), then redeems them all at once: every code is presented by 1 or 4 concurrent \`exchangeAuthorizationCode\` calls (up to ${codes * 4} calls in flight), through \`durableObjectAdapter\` with 1, 4 or 16 shards (Durable Objects). A redemption is one batch call to the object that owns the grant, group-committed with whatever arrives with it. Node times the redeeming \`dispatchFetch\`. Redemptions per second = codes / wall time. After every run the bench counts, per code, how many contenders got tokens: exactly one must, the others must get \`invalid_grant\`.`,
        'Only the single-use records (grant, code state, tokens) go to the Durable Objects; clients and the audit trail stay in the isolate\'s memory adapter, so the objects are the only storage measured. A losing contender that arrives after the winner is a replay and revokes the grant (RFC 6749 §4.1.2), which is part of the measured work.',
      ],
      tables: [
        {
          caption: `Redemptions per second: median (p25–p75); ms per run of ${codes} codes`,
          columns: ['objects (shards)', 'contenders per code', 'redemptions/s', 'ms per run', 'rme', 'codes redeemed', 'double-spends', 'other errors', 'runs'],
          rows,
        },
      ],
      notes: [
        `Check: ${totalCodes} codes redeemed in total, ${totalDoubleSpends} double-spends, ${totalMissing} codes left unredeemed${totalOther ? `, ${totalOther} other errors (first: ${firstError})` : ''}.`,
        'Locally every object runs in the one workerd process on this 2-core machine, so more shards mostly add RPC fan-out rather than parallel hardware; on Cloudflare, objects run on separate isolates and machines, which this cannot show.',
      ],
    };
  } finally {
    await mf.dispose();
  }
}
