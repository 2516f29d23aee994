// `npm start`: the demo authorization server (wrangler dev on local Miniflare
// state, 127.0.0.1:8787) with the demo SPA as its static assets.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { buildSpa } from './build-spa.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const serverDir = join(root, 'examples', 'authorization-server');
const devVars = join(serverDir, '.dev.vars');
const port = process.env.PORT ?? '8787';
const host = '127.0.0.1';

/** generateSecret() from the library's own source, bundled on the fly (no build step needed). */
async function loadGenerateSecret() {
  const result = await build({
    stdin: { contents: "export { generateSecret } from './src/crypto/random.ts';", resolveDir: root, loader: 'ts' },
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    write: false,
    logLevel: 'warning',
  });
  const code = result.outputFiles[0].text;
  return (await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)).generateSecret;
}

if (!existsSync(devVars)) {
  const generateSecret = await loadGenerateSecret();
  // Local development secret only; .dev.vars is ignored by git.
  await writeFile(devVars, `VAULT_SECRET=${generateSecret()}\n`, { mode: 0o600 });
  console.log('created examples/authorization-server/.dev.vars with a fresh VAULT_SECRET');
}

await buildSpa();

const wrangler = spawn(
  process.execPath,
  [
    join(root, 'node_modules', 'wrangler', 'bin', 'wrangler.js'),
    'dev',
    '--config', join(serverDir, 'wrangler.toml'),
    '--ip', host,
    '--port', port,
    '--persist-to', join(root, '.wrangler', 'state'),
    '--show-interactive-dev-session=false',
    ...(process.env.STORAGE ? ['--var', `STORAGE:${process.env.STORAGE}`] : []),
  ],
  {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
  },
);

let announced = false;
wrangler.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  if (!announced && /Ready on/i.test(String(chunk))) {
    announced = true;
    console.log(`\n  oauth-vault demo: open http://${host}:${port}/ in your browser\n`);
  }
});

const stop = () => wrangler.kill('SIGTERM');
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
wrangler.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
