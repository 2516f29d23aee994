import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CHROMIUM_ARGS, launchChromium } from '../../../tests/support/chromium.js';
import { config } from '../config.js';
import type { SectionResult } from '../report.js';
import { fmtMs, int, ms, ratio, rme, type Summary } from '../stats.js';

/** Serves the bundled page on 127.0.0.1 (an ephemeral port); callers close it. */
async function serve(build: string): Promise<Server> {
  const page = readFileSync(join(build, 'page.js'));
  const html = '<!doctype html><meta charset="utf-8"><title>loading</title><script type="module" src="/page.js"></script>';
  // Cross-origin isolation: without it Chromium coarsens performance.now() to 100 µs.
  const isolated = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
  const server = createServer((request, response) => {
    if (request.url === '/page.js') {
      response.writeHead(200, { 'Content-Type': 'text/javascript', ...isolated }).end(page);
    } else if (request.url === '/') {
      response.writeHead(200, { 'Content-Type': 'text/html', ...isolated }).end(html);
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

export async function runBrowser(): Promise<SectionResult> {
  const build = process.env.BENCH_BUILD;
  if (!build) throw new Error('BENCH_BUILD is not set (run through bench/run.mjs)');
  const server = await serve(build);
  try {
    const browser = await launchChromium();
    try {
      const chromium = browser.version();
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      await page.waitForFunction(() => document.title === 'ready', undefined, { timeout: 15_000 }).catch(() => {
        throw new Error(`page did not load: ${errors.join('; ') || 'no error reported'}`);
      });
      const isolatedPage = await page.evaluate(() => globalThis.crossOriginIsolated);
      const summaries = (await page.evaluate(
        (options) => (globalThis as unknown as { runBench(o: typeof options): Promise<Summary[]> }).runBench(options),
        { time: config.time(4_000), warmupTime: config.time(500) },
      )) as Summary[];
      const by = new Map(summaries.map((summary) => [summary.name, summary]));
      const baseline = by.get('idb-keyval get')!;
      const rows = ['idb-keyval get', 'TokenVault.get()', 'TokenVault.getAccessToken()'].map((name) => {
        const summary = by.get(name)!;
        return [name === 'idb-keyval get' ? '`idb-keyval` `get` (plaintext)' : `\`${name}\``, fmtMs(summary), int(1000 / summary.median), rme(summary), ratio(summary.median / baseline.median), String(summary.samples)];
      });
      const vaultGet = by.get('TokenVault.get()')!;
      const vaultToken = by.get('TokenVault.getAccessToken()')!;
      return {
        id: 'browser',
        summary: [
          `Browser (Chromium): \`TokenVault.get()\` ${ms(vaultGet.median)} ms, \`getAccessToken()\` ${ms(vaultToken.median)} ms, plaintext \`idb-keyval\` \`get\` ${ms(baseline.median)} ms (${ratio(vaultGet.median / baseline.median)} and ${ratio(vaultToken.median / baseline.median)}).`,
        ],
        title: '4. Browser: TokenVault vs idb-keyval (real Chromium)',
        ok: true,
        versions: { chromium },
        intro: [
          'A page served from a 127.0.0.1 static server, in headless Chromium driven by playwright-core; tinybench runs in the page, in 6 interleaved rounds (each call in every round, in a rotating order, so a slower stretch of the machine hits all three alike). `TokenVault` (generated non-extractable keys, `indexedDbStorage`) holds a valid, cached token set (expires in 1 h, so `getAccessToken()` never refreshes); `idb-keyval` holds the same token set as plaintext in its own database. Every call is a fresh IndexedDB read; the vault also opens the AES-GCM envelope and checks the record.',
        ],
        tables: [
          {
            caption: 'Latency per call, ms: median (p25–p75); ratio = this row\'s median / idb-keyval\'s',
            columns: ['call', 'ms', 'calls/s', 'rme', 'vs idb-keyval', 'samples'],
            rows,
          },
        ],
        notes: [
          `Chromium ${chromium}, flags: ${CHROMIUM_ARGS.join(' ')} (headless). The page is ${isolatedPage ? 'cross-origin isolated (COOP/COEP), so `performance.now()` has its fine resolution' : 'NOT cross-origin isolated: `performance.now()` is coarsened to 0.1 ms, so medians are quantized'}.`,
        ],
      };
    } finally {
      await browser.close();
    }
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
