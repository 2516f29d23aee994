import type { Bench, Task } from 'tinybench';

/** Median and spread of one tinybench task, in ms per operation. */
export interface Summary {
  name: string;
  /** Median latency, ms. */
  median: number;
  p25: number;
  p75: number;
  /** Relative margin of error of the mean, percent. */
  rme: number;
  samples: number;
  /** Median throughput, operations per second. */
  hz: number;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (position - low);
}

/** Reads a finished task; throws with the task's own error if it failed. */
export function summarize(task: Task, perCall = 1): Summary {
  const result = task.result as unknown as {
    state: string;
    error?: Error;
    latency?: { p50: number; p75: number; rme: number; samplesCount: number; samples?: readonly number[] };
  };
  if (result.state === 'errored') throw result.error ?? new Error(`${task.name} failed`);
  if (!result.latency) throw new Error(`${task.name}: no statistics (state ${result.state})`);
  const samples = result.latency.samples ? [...result.latency.samples].sort((a, b) => a - b) : [];
  const median = result.latency.p50 / perCall;
  return {
    name: task.name,
    median,
    p25: (samples.length ? quantile(samples, 0.25) : result.latency.p50) / perCall,
    p75: (samples.length ? quantile(samples, 0.75) : result.latency.p75) / perCall,
    rme: result.latency.rme,
    samples: result.latency.samplesCount,
    hz: median > 0 ? 1000 / median : Number.POSITIVE_INFINITY,
  };
}

/** Summaries of every task of a finished bench, by name. */
export function summarizeAll(bench: Bench, perCall: Record<string, number> = {}): Map<string, Summary> {
  return new Map(bench.tasks.map((task) => [task.name, summarize(task, perCall[task.name] ?? 1)]));
}

/** Summary of plain wall-time samples (ms), for runs tinybench cannot repeat (fresh state per run). */
export function summarizeSamples(name: string, samplesMs: readonly number[], perCall = 1): Summary {
  const sorted = [...samplesMs].sort((a, b) => a - b).map((value) => value / perCall);
  const mean = sorted.reduce((sum, value) => sum + value, 0) / sorted.length;
  const sd = Math.sqrt(sorted.reduce((sum, value) => sum + (value - mean) ** 2, 0) / Math.max(1, sorted.length - 1));
  const rme = sorted.length > 1 ? (100 * 1.96 * (sd / Math.sqrt(sorted.length))) / mean : 0;
  const median = quantile(sorted, 0.5);
  return { name, median, p25: quantile(sorted, 0.25), p75: quantile(sorted, 0.75), rme, samples: sorted.length, hz: 1000 / median };
}

/** `0.123 ms (0.120–0.130)`: median and interquartile range. */
export function fmtMs(summary: Summary): string {
  return `${ms(summary.median)} (${ms(summary.p25)}–${ms(summary.p75)})`;
}

/** Operations per second at the median, with the quartile range converted. */
export function fmtHz(summary: Summary): string {
  return `${int(1000 / summary.median)} (${int(1000 / summary.p75)}–${int(1000 / summary.p25)})`;
}

export function ms(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  if (value >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

export function int(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a';
}

export function ratio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(value >= 10 ? 0 : value >= 3 ? 1 : 2)}×` : 'n/a';
}

export function rme(summary: Summary): string {
  return `±${summary.rme.toFixed(1)}%`;
}
