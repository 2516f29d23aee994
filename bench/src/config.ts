/**
 * Sample budgets of the bench. `BENCH_QUICK=1` shrinks every budget (a smoke
 * run while developing); `BENCH_SCALE=<factor>` multiplies the full budgets.
 */
const quick = process.env.BENCH_QUICK === '1';
const scale = Number(process.env.BENCH_SCALE ?? '1') || 1;

export const config = {
  quick,
  /** A tinybench time budget in ms (quick: a tenth, at least 100 ms). */
  time(fullMs: number): number {
    return quick ? Math.max(100, Math.round(fullMs / 10)) : Math.round(fullMs * scale);
  },
  /** A count (iterations, repetitions) (quick: a fifth, at least `min`). */
  count(full: number, min = 3): number {
    return quick ? Math.max(min, Math.round(full / 5)) : Math.max(min, Math.round(full * scale));
  },
  /** tinybench's minimum iterations per task (its default is 64). */
  minIterations: quick ? 8 : 64,
  /** Growth sizes: 10^3, 10^4, 10^5 (quick: 10^2, 10^3, 10^4). */
  growthSizes(): number[] {
    return quick ? [100, 1_000, 10_000] : [1_000, 10_000, 100_000];
  },
};
