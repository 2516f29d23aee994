// `npm start`: the demo authorization server (wrangler dev on local Miniflare
// state, 127.0.0.1:8787) with the demo SPA as its static assets.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { buildSpa } from './build-spa.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const serverDir = join(root, 'examples', 'authorization-server');
const devVars = join(serverDir, '.dev.vars');
const port = process.env.PORT ?? '8787';
const host = '127.0.0.1';

/** Ends `npm start` with one line on stderr (no stack trace). */
function fail(message) {
  console.error(message);
  process.exit(1);
}

/** Whether something already listens on host:port: a second `npm start`, or another server. */
function portInUse() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error) => (error.code === 'EADDRINUSE' ? resolve(true) : reject(error)));
    probe.listen(Number(port), host, () => probe.close(() => resolve(false)));
  });
}

// Checked before anything else happens: wrangler itself answers a taken port
// with a page of stack traces and advice (--port) that this script ignores.
if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) fail(`PORT=${port} is not a port number (1 to 65535).`);
const inUse = await portInUse().catch((error) => fail(`Cannot listen on ${host}:${port} (${error.code ?? error.message}); choose another port with PORT=, e.g. PORT=8788 npm start`));
if (inUse) {
  fail(`${host}:${port} is already in use (is the demo already running?); start it on another port with PORT=, e.g. PORT=${Number(port) === 65535 ? 8788 : Number(port) + 1} npm start`);
}

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
