// Bundles the demo SPA (examples/spa) into examples/spa/dist with esbuild.
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const spa = join(root, 'examples', 'spa');

export async function buildSpa() {
  const outdir = join(spa, 'dist');
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  await build({
    entryPoints: [join(spa, 'src', 'main.ts')],
    outfile: join(outdir, 'main.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    logLevel: 'warning',
  });
  await copyFile(join(spa, 'index.html'), join(outdir, 'index.html'));
  return outdir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(`built ${await buildSpa()}`);
}
