#!/usr/bin/env node
/**
 * `npm run bench`: bundles the TypeScript bench code with esbuild, runs each
 * section in its own Node process (a failing section is reported as failed,
 * the others still run), and writes bench/RESULTS.md.
 *
 * Environment:
 *   BENCH_QUICK=1           small budgets (a smoke run, numbers not meaningful)
 *   BENCH_SCALE=<factor>    multiply the full time budgets
 *   BENCH_ONLY=a,b          run only these sections (floor, provider, durable-objects, browser, growth, redis)
 *   BENCH_OUT=<path>        where to write the results (default bench/RESULTS.md)
 *   BENCH_DEBUG=1           progress lines from the growth section (seeding times)
 *   BENCH_SECTION_TIMEOUT_MS=<ms>  per-section time limit (default 2–4 min each)
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const out = join(here, '.build');

const SECTIONS = [
  { id: 'floor', timeoutMs: 300_000 },
  { id: 'provider', timeoutMs: 200_000 },
  { id: 'durable-objects', timeoutMs: 150_000 },
  { id: 'browser', timeoutMs: 120_000 },
  { id: 'growth', timeoutMs: 240_000 },
  { id: 'redis', timeoutMs: 240_000 },
];

function version(pkg) {
  try {
    return JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

async function bundle() {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const common = { bundle: true, format: 'esm', logLevel: 'warning', sourcemap: false, legalComments: 'none' };
  await Promise.all([
    build({
      ...common,
      entryPoints: [join(here, 'src/main.ts')],
      outfile: join(out, 'main.mjs'),
      platform: 'node',
      target: 'node20',
      external: ['miniflare', 'playwright-core', 'esbuild', 'tinybench', '@redis/client'],
    }),
    build({
      ...common,
      entryPoints: [join(here, 'workerd/worker.ts')],
      outfile: join(out, 'worker.mjs'),
      platform: 'neutral',
      target: 'es2022',
      conditions: ['workerd', 'worker', 'browser'],
      mainFields: ['module', 'main'],
      external: ['cloudflare:*'],
    }),
    build({
      ...common,
      entryPoints: [join(here, 'browser/page.ts')],
      outfile: join(out, 'page.js'),
      platform: 'browser',
      target: 'es2022',
    }),
  ]);
}

/** Stops the section running now (its whole process group). */
let running;
process.on('SIGINT', () => {
  running?.('SIGKILL');
  process.exit(130);
});

function runSection(section, quick) {
  const file = join(out, `${section.id}.json`);
  rmSync(file, { force: true });
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', '--max-old-space-size=4096', join(out, 'main.mjs'), section.id, file], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, BENCH_BUILD: out },
      // Its own process group, so a timeout also stops the workerd and Chromium it started.
      detached: true,
    });
    const stop = (signal) => {
      try {
        process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
    };
    const limit = Number(process.env.BENCH_SECTION_TIMEOUT_MS) || (quick ? section.timeoutMs / 2 : section.timeoutMs);
    running = stop;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      stop('SIGTERM');
      setTimeout(() => stop('SIGKILL'), 5_000).unref();
    }, limit);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      running = undefined;
      const wallMs = performance.now() - started;
      let result;
      if (existsSync(file)) {
        try {
          result = JSON.parse(readFileSync(file, 'utf8'));
        } catch {
          // fall through: reported as failed below
        }
      }
      if (!result || (timedOut && result.ok !== false)) {
        const reason = timedOut ? `timed out after ${Math.round(limit / 1000)} s` : `process exited with ${signal ?? `code ${code}`} before writing a result`;
        result = { id: section.id, title: section.id, ok: false, error: reason, intro: [], tables: [], notes: [] };
      }
      result.wallMs = wallMs;
      resolve(result);
    });
  });
}

function renderTable(table) {
  const lines = [];
  if (table.caption) lines.push(`*${table.caption}*`, '');
  lines.push(`| ${table.columns.join(' | ')} |`, `| ${table.columns.map(() => '---').join(' | ')} |`);
  for (const row of table.rows) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}

function render(results, info) {
  const lines = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` (bench/run.mjs) on ${info.date}. ${info.quick ? '**Quick smoke run (BENCH_QUICK=1): budgets are tiny and the numbers are not meaningful.**' : ''}`.trim(),
    '',
    '## Machine and runtimes',
    '',
    '| | |',
    '| --- | --- |',
    `| CPU | ${info.cpu} |`,
    `| cores | ${info.cores} |`,
    `| memory | ${info.memory} |`,
    `| OS | ${info.os} |`,
    `| load average (1 min) at start / end | ${info.loadStart} / ${info.loadEnd} |`,
    `| Node | ${process.version} |`,
    `| workerd (via Miniflare ${info.miniflare}) | ${info.workerd} |`,
    `| Chromium | ${info.chromium} |`,
    `| tinybench | ${info.tinybench} |`,
    `| @cloudflare/workers-oauth-provider | ${info.provider} |`,
    `| idb-keyval | ${info.idbKeyval} |`,
    `| total wall time | ${(info.wallMs / 1000).toFixed(0)} s |`,
    '',
    '## Summary',
    '',
    ...results.flatMap((result) => (result.ok ? (result.summary ?? []) : [`${result.title}: failed (${result.error ?? 'unknown error'}).`]).map((line) => `- ${line}`)),
    '',
    'Every row gives the median and the interquartile range (p25–p75) of its samples; `rme` is tinybench\'s relative margin of error of the mean (95%). Ratios divide medians. One run, one machine: compare rows within this file, not with other machines.',
    '',
  ];
  for (const result of results) {
    lines.push(`## ${result.title}`, '');
    if (!result.ok) {
      lines.push(`**Failed:** ${result.error ?? 'unknown error'}`, '');
      continue;
    }
    for (const paragraph of result.intro) lines.push(paragraph, '');
    for (const table of result.tables) lines.push(renderTable(table), '');
    for (const paragraph of result.notes) lines.push(paragraph, '');
    lines.push(`<sub>section wall time ${(result.wallMs / 1000).toFixed(0)} s</sub>`, '');
  }
  return `${lines.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}

const started = performance.now();
const quick = process.env.BENCH_QUICK === '1';
const only = process.env.BENCH_ONLY?.split(',').map((name) => name.trim()).filter(Boolean);
const target = process.env.BENCH_OUT ? resolve(process.cwd(), process.env.BENCH_OUT) : join(here, 'RESULTS.md');
const loadStart = os.loadavg()[0].toFixed(2);

let buildError;
try {
  await bundle();
} catch (error) {
  buildError = `esbuild failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
}
const results = [];
for (const section of SECTIONS) {
  if (only && !only.includes(section.id)) continue;
  console.log(`\n== bench: ${section.id}`);
  const result = buildError
    ? { id: section.id, title: section.id, ok: false, error: buildError, intro: [], tables: [], notes: [], wallMs: 0 }
    : await runSection(section, quick);
  console.log(`== ${section.id}: ${result.ok ? 'ok' : `FAILED (${result.error})`} in ${(result.wallMs / 1000).toFixed(1)} s`);
  results.push(result);
}
const cpus = os.cpus();
const chromium = results.find((result) => result.versions?.chromium)?.versions.chromium ?? 'not run';
const info = {
  date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  quick,
  cpu: cpus[0]?.model ?? 'unknown',
  cores: `${cpus.length} logical`,
  memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
  os: `${os.type()} ${os.release()} ${os.arch()}`,
  loadStart,
  loadEnd: os.loadavg()[0].toFixed(2),
  miniflare: version('miniflare'),
  workerd: version('workerd'),
  chromium,
  tinybench: version('tinybench'),
  provider: version('@cloudflare/workers-oauth-provider'),
  idbKeyval: version('idb-keyval'),
  wallMs: performance.now() - started,
};
writeFileSync(target, render(results, info));
console.log(`\nwrote ${relative(process.cwd(), target)} in ${(info.wallMs / 1000).toFixed(0)} s`);
if (results.some((result) => !result.ok)) process.exitCode = 1;
