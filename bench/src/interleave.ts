import { Bench } from 'tinybench';
import { summarizeSamples, type Summary } from './stats.js';

export interface InterleavedTask {
  name: string;
  fn: () => Promise<unknown>;
  /** Untimed work before each timed call (e.g. a fresh code to redeem). */
  beforeEach?: () => Promise<void>;
  /** The timed call performs this many operations (the summary is per operation). */
  perCall?: number;
}

/**
 * Runs tasks in `rounds` rounds, each task in every round, in an order that
 * rotates from round to round, and summarizes each task over all its
 * samples. A machine that slows down or speeds up during the run then
 * affects every task alike, instead of whichever ran in that stretch.
 */
export async function runInterleaved(
  tasks: readonly InterleavedTask[],
  options: { rounds: number; time: number; warmupTime: number; iterations: number },
): Promise<Map<string, Summary>> {
  const samples = new Map<string, number[]>(tasks.map((task) => [task.name, []]));
  for (let round = 0; round < options.rounds; round++) {
    const bench = new Bench({
      time: Math.max(1, Math.round(options.time / options.rounds)),
      iterations: Math.max(1, Math.round(options.iterations / options.rounds)),
      warmupTime: round === 0 ? options.warmupTime : 0,
      warmup: round === 0,
      retainSamples: true,
    });
    const order = tasks.map((_, index) => tasks[(index + round) % tasks.length]!);
    for (const task of order) bench.add(task.name, task.fn, task.beforeEach ? { beforeEach: task.beforeEach } : {});
    await bench.run();
    for (const task of bench.tasks) {
      const result = task.result as unknown as { state: string; error?: Error; latency?: { samples?: readonly number[] } };
      if (result.state === 'errored') throw result.error ?? new Error(`${task.name} failed`);
      samples.get(task.name)!.push(...(result.latency?.samples ?? []));
    }
  }
  return new Map(tasks.map((task) => [task.name, summarizeSamples(task.name, samples.get(task.name)!, task.perCall ?? 1)]));
}
