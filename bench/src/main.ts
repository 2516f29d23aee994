/**
 * One bench section per process: `node --expose-gc main.mjs <section> <out.json>`.
 * The orchestrator (bench/run.mjs) runs each section in its own process, so a
 * crash or a leak in one cannot take the others down or skew their memory.
 */
import { writeFileSync } from 'node:fs';
import type { SectionResult } from './report.js';
import { runFloor } from './sections/floor.js';
import { runProvider } from './sections/provider.js';
import { runDurableObjects } from './sections/durable-objects.js';
import { runBrowser } from './sections/browser.js';
import { runGrowth } from './sections/growth.js';
import { runRedis } from './sections/redis.js';
import { runTokens } from './sections/tokens.js';

const SECTIONS: Record<string, () => Promise<SectionResult>> = {
  floor: runFloor,
  provider: runProvider,
  'durable-objects': runDurableObjects,
  browser: runBrowser,
  growth: runGrowth,
  redis: runRedis,
  tokens: runTokens,
};

const [name, out] = process.argv.slice(2);
const run = name === undefined ? undefined : SECTIONS[name];
if (!run || !out) {
  console.error(`usage: main.mjs <${Object.keys(SECTIONS).join('|')}> <out.json>`);
  process.exit(2);
}
const started = performance.now();
try {
  const result = await run();
  result.wallMs = performance.now() - started;
  writeFileSync(out, JSON.stringify(result, null, 2));
} catch (error) {
  console.error(error);
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  writeFileSync(out, JSON.stringify({ id: name, title: name, ok: false, error: message, intro: [], tables: [], notes: [], wallMs: performance.now() - started }));
  process.exitCode = 1;
}
// Sections stop what they start; this only guards against a stray handle keeping the process alive.
setTimeout(() => process.exit(), 2_000).unref();
