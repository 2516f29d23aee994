// `npm run mutate [-- <group>...] [--incremental] [--concurrency=N]`: StrykerJS over the code that carries the guarantees,
// then mutation/REPORT.md from the reports (scripts/mutation-summary.mjs). With no group, every group in one
// run. Base options: stryker.config.json; tests: vitest.mutate.config.ts.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Stryker } from '@stryker-mutator/core';
import { GROUPS } from './mutation-groups.mjs';
import { summarize } from './mutation-summary.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

async function main() {
  const args = process.argv.slice(2);
  const incremental = args.includes('--incremental');
  // --concurrency=N: fewer test runners when the machine is shared.
  const concurrency = args.find((arg) => arg.startsWith('--concurrency='))?.split('=')[1];
  const names = args.filter((arg) => !arg.startsWith('--'));
  const unknown = names.filter((name) => !(name in GROUPS));
  if (unknown.length > 0) {
    console.error(`unknown group(s): ${unknown.join(', ')}; groups: ${Object.keys(GROUPS).join(', ')}`);
    process.exit(2);
  }
  const selected = names.length > 0 ? names : Object.keys(GROUPS);
  const label = names.length > 0 ? selected.join('+') : 'all';
  const reports = join(root, 'reports', 'mutation');
  await mkdir(reports, { recursive: true });

  const started = new Date();
  // Stryker reads stryker.config.json itself; these override it for the groups asked for.
  const stryker = new Stryker({
    mutate: selected.flatMap((name) => GROUPS[name]),
    jsonReporter: { fileName: `reports/mutation/${label}.json` },
    htmlReporter: { fileName: `reports/mutation/${label}.html` },
    incremental,
    incrementalFile: `reports/stryker-incremental-${label}.json`,
    ...(concurrency !== undefined && { concurrency: Number(concurrency) }),
  });
  await stryker.runMutationTest();
  const seconds = Math.round((Date.now() - started.getTime()) / 1000);
  // Beside the report: when it ran and how long it took, for REPORT.md.
  await writeFile(join(reports, `${label}.meta.json`), `${JSON.stringify({ groups: selected, startedAt: started.toISOString(), seconds, incremental }, null, 2)}\n`);
  console.log(`mutation run "${label}" took ${seconds} s`);
  await summarize();
}

await main();
