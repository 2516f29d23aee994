// Bundles the demo SPA (examples/spa) into examples/spa/dist with esbuild.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const spa = join(root, 'examples', 'spa');

/**
 * Replaces `path` atomically, and only when its content changes: a running
 * `wrangler dev` serves this folder and reloads on every change, and tests
 * that build the SPA run beside servers that already serve it.
 */
async function writeIfChanged(path, contents) {
  const current = await readFile(path).catch(() => null);
  if (current !== null && Buffer.compare(current, contents) === 0) return;
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, contents);
  await rename(temporary, path);
}

export async function buildSpa() {
  const outdir = join(spa, 'dist');
  await mkdir(outdir, { recursive: true });
  const result = await build({
    // The vault demo and the two SDK integration pages.
    entryPoints: ['main', 'oidc', 'auth0'].map((page) => join(spa, 'src', `${page}.ts`)),
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    write: false,
    logLevel: 'warning',
  });
  const files = [
    ...result.outputFiles.map((file) => [file.path, Buffer.from(file.contents)]),
    ...(await Promise.all(['index.html', 'oidc.html', 'auth0.html', 'demo.css'].map(async (file) => [join(outdir, file), await readFile(join(spa, file))]))),
  ];
  for (const [path, contents] of files) await writeIfChanged(path, contents);
  return outdir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(`built ${await buildSpa()}`);
}
