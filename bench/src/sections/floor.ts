import { Bench } from 'tinybench';
import { config } from '../config.js';
import { setupFloor, type Sizes } from '../floor-ops.js';
import { call, startWorker } from '../miniflare.js';
import type { SectionResult, Table } from '../report.js';
import { runInterleaved } from '../interleave.js';
import { fmtMs, ms, ratio, rme, summarizeAll, type Summary } from '../stats.js';

const OPS = ['validate', 'exchange', 'refresh'] as const;
type Op = (typeof OPS)[number];
const KINDS = ['oauth-vault', 'floor, minimal', 'floor, same ops'] as const;
type Kind = (typeof KINDS)[number];

const LABEL: Record<Op, string> = {
  validate: '`validateAccessToken`',
  exchange: '`exchangeAuthorizationCode`',
  refresh: '`refreshAccessToken`',
};
/** Route names of the worker's floor tasks. */
const TASK: Record<Kind, Record<Op, string>> = {
  'oauth-vault': { validate: 'ours-validate', exchange: 'ours-exchange', refresh: 'ours-refresh' },
  'floor, minimal': { validate: 'validateMinimal', exchange: 'exchangeMinimal', refresh: 'refreshMinimal' },
  'floor, same ops': { validate: 'validateSameOps', exchange: 'exchangeSameOps', refresh: 'refreshSameOps' },
};

function rowsOf(get: (op: Op, kind: Kind) => Summary): string[][] {
  return OPS.map((op) => {
    const ours = get(op, 'oauth-vault');
    const minimal = get(op, 'floor, minimal');
    const same = get(op, 'floor, same ops');
    return [LABEL[op], fmtMs(ours), rme(ours), fmtMs(minimal), ratio(ours.median / minimal.median), fmtMs(same), ratio(ours.median / same.median), String(ours.samples)];
  });
}

const COLUMNS = ['operation', 'oauth-vault', 'rme', 'floor, minimal', 'ratio', 'floor, same ops', 'ratio', 'samples'];

async function inNode(): Promise<{ table: Table; counted: Table; sizes: Sizes; summary: string[] }> {
  const subjects = await setupFloor();
  const fn: Record<Kind, Record<Op, () => Promise<void>>> = {
    'oauth-vault': subjects.ours,
    'floor, minimal': { validate: subjects.floor.validateMinimal, exchange: subjects.floor.exchangeMinimal, refresh: subjects.floor.refreshMinimal },
    'floor, same ops': { validate: subjects.floor.validateSameOps, exchange: subjects.floor.exchangeSameOps, refresh: subjects.floor.refreshSameOps },
  };
  // Interleaved rounds: oauth-vault and its floors run in turns, so a slower stretch of the machine hits all alike.
  const s = await runInterleaved(
    OPS.flatMap((op) =>
      KINDS.map((kind) => ({
        name: `${op}: ${kind}`,
        fn: fn[kind][op],
        ...(kind === 'oauth-vault' && op === 'exchange' && { beforeEach: () => subjects.prepareCodes(1) }),
      })),
    ),
    { rounds: 5, time: config.time(1_500) * 9, warmupTime: config.time(200), iterations: config.minIterations * 9 },
  );
  // Check the op counts of the floors against what one real call does.
  await subjects.prepareCodes(1);
  const counted: string[][] = [];
  for (const op of OPS) {
    const c = await subjects.measure(subjects.ours[op]);
    counted.push([LABEL[op], String(c.hmac), String(c.digest), String(c.decrypt), String(c.reads), String(c.encrypt), `${c.writes}${c.batches ? ` (${c.batches} batch${c.batches > 1 ? 'es' : ''})` : ''}`]);
  }
  const line = (op: Op): string => {
    const ours = s.get(`${op}: oauth-vault`)!;
    const minimal = s.get(`${op}: floor, minimal`)!;
    const same = s.get(`${op}: floor, same ops`)!;
    return `${LABEL[op]} ${ms(ours.median)} ms: ${ratio(ours.median / minimal.median)} the minimal floor, ${ratio(ours.median / same.median)} the same-ops floor`;
  };
  return {
    sizes: subjects.sizes,
    summary: [`Floor (Node, memory adapter): ${OPS.map(line).join('; ')}.`],
    counted: {
      caption: 'Counted, not assumed: primitive operations during one oauth-vault call (crypto.subtle calls and adapter calls, instrumented in Node)',
      columns: ['call', 'HMAC (sign)', 'SHA-256 (digest)', 'AES-GCM open', 'reads', 'AES-GCM seal', 'writes'],
      rows: counted,
    },
    table: {
      caption: 'Node: latency per operation, ms: median (p25–p75); ratio = oauth-vault median / floor median',
      columns: COLUMNS,
      rows: rowsOf((op, kind) => s.get(`${op}: ${kind}`)!),
    },
  };
}

/** The same subjects inside workerd; Node times dispatches of `n` sequential calls and divides by `n`. */
async function inWorkerd(): Promise<{ table: Table; summary: string }> {
  const mf = await startWorker();
  try {
    await call(mf, '/floor/setup');
    const perCall: Record<string, number> = {};
    const bench = new Bench({ time: config.time(1_500), iterations: config.minIterations, warmupTime: config.time(200), retainSamples: true });
    for (const op of OPS) {
      const n = op === 'validate' ? 200 : 50;
      for (const kind of KINDS) {
        const name = `${op}: ${kind}`;
        perCall[name] = n;
        const hooks = kind === 'oauth-vault' && op === 'exchange' ? { beforeEach: async () => void (await call(mf, `/floor/prepare?n=${n}`)) } : {};
        bench.add(name, async () => void (await call(mf, `/floor/run?task=${TASK[kind][op]}&n=${n}`)), hooks);
      }
    }
    await bench.run();
    const s = summarizeAll(bench, perCall);
    const ours = s.get('validate: oauth-vault')!;
    const minimal = s.get('validate: floor, minimal')!;
    return {
      summary: `Floor (workerd): \`validateAccessToken\` ${ms(ours.median)} ms, ${ratio(ours.median / minimal.median)} its minimal floor.`,
      table: {
      caption: 'workerd (Miniflare): latency per operation, ms: median (p25–p75); one dispatch runs 200 validations or 50 exchanges/refreshes in a row and is divided by that count',
      columns: COLUMNS,
      rows: rowsOf((op, kind) => s.get(`${op}: ${kind}`)!),
      },
    };
  } finally {
    await mf.dispose();
  }
}

export async function runFloor(): Promise<SectionResult> {
  const node = await inNode();
  const sizes = node.sizes;
  let workerd: { table: Table; summary: string } | undefined;
  let workerdError: string | undefined;
  try {
    workerd = await inWorkerd();
  } catch (error) {
    workerdError = error instanceof Error ? error.message : String(error);
  }
  return {
    id: 'floor',
    title: '1. The floor: raw Web Crypto + storage vs OAuthStore (memory adapter; Node and workerd)',
    ok: true,
    summary: [...node.summary, ...(workerd ? [workerd.summary] : [])],
    intro: [
      'Each oauth-vault operation against the raw operations it is made of, run straight on `crypto.subtle` and the same memory adapter, with the keyring\'s own keys and payloads of the sizes the real records have (measured from the store). No parsing, validation, JSON or record objects in the floors (bench/src/floor-ops.ts, bench/src/primitives.ts).',
      'Two floors per operation. **Minimal**: what the operation cannot do without (validation: the lookup id\'s one HMAC, one storage read, one AES-GCM open; exchange and refresh: the lookup ids of the presented and the new tokens, PKCE, the two new tokens sealed, one atomic batch that checks and claims, one open of the grant to answer). **Same ops**: every primitive oauth-vault really performs, counted from the code and checked by instrumenting one real call (table below): validation reads its token, its grant and the grant\'s revocation in one batch and opens two records; exchange and refresh also check a client-secret lookup id in constant time, seal the activation (or the rotated-token marker) and the operation\'s audit record, all inside the same one batch. The gap to *same ops* is code overhead; the gap between the floors is the cost of design choices (revocation check, audit trail).',
    ],
    tables: [
      node.table,
      ...(workerd ? [workerd.table] : []),
      node.counted,
      {
        caption: 'What each floor performs (public client, PKCE S256, one key in the ring, memory adapter with atomic batches)',
        columns: ['floor', 'HMAC-SHA-256', 'SHA-256', 'reads (+AES-GCM open)', 'AES-GCM seals', 'writes'],
        rows: [
          ['validate, minimal', '1', '0', '1 read (access), 1 open', '0', '0'],
          ['validate, same ops', '1', '0', '1 batch of 3 reads (access, grant, revocation), 2 opens', '0', '0'],
          ['exchange, minimal', '3 (code binding, new access + refresh ids)', '1 (PKCE)', '1 open (grant, read in the batch)', '2 (access, refresh)', '1 atomic batch: check, create-if-absent, put, read'],
          ['exchange, same ops', '4 (+ client-secret check)', '1', '1 open', '4 (+ activation, audit record)', '1 atomic batch'],
          ['refresh, minimal', '3 (presented, new access + refresh ids)', '0', '1 open', '2', '1 atomic batch'],
          ['refresh, same ops', '4', '0', '1 open', '4 (+ rotated marker, audit record)', '1 atomic batch'],
        ],
      },
    ],
    notes: [
      `Record plaintext sizes used by the floors (bytes): grant ${sizes.grant}, activation ${sizes.live}, access ${sizes.access}, refresh ${sizes.refresh}, rotated marker ${sizes.rotated}, audit record ${sizes.audit}.`,
      'Exchange: each call redeems a fresh code issued beforehand (tinybench `beforeEach`, not timed). Refresh: each call rotates the token the previous one returned.',
      ...(workerdError ? [`**workerd rows failed:** ${workerdError}`] : ['In workerd the per-call figure includes 1/200 (validate) or 1/50 of one `dispatchFetch` round trip (about 1 ms, see section 2).']),
    ],
  };
}
