// `npm start` (scripts/start.mjs) when its port is taken: one line that says
// to use PORT=, a non-zero exit at once, and nothing started or written.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

interface Outcome {
  code: number | null;
  output: string;
  ms: number;
}

/**
 * Runs the start script with `env` in its own process group and ends the
 * whole group (wrangler and workerd included, if it got that far) after
 * `limitMs` if it has not exited by then.
 */
function runStart(env: Record<string, string>, limitMs = 20_000): Promise<Outcome> {
  const started = Date.now();
  const child = spawn(process.execPath, [resolve(root, 'scripts/start.mjs')], {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', ...env },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((done) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, limitMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      // Whatever the script started lives in its group: end it too.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // nothing left
      }
      done({ code, output, ms: Date.now() - started });
    });
  });
}

async function listen(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  return { server, port: (server.address() as { port: number }).port };
}

describe('npm start', () => {
  test('a taken port is reported in one line naming PORT=, with a non-zero exit, before anything starts', async () => {
    const devVars = resolve(root, 'examples/authorization-server/.dev.vars');
    const hadDevVars = existsSync(devVars);
    const { server, port } = await listen();
    try {
      const outcome = await runStart({ PORT: String(port) });
      expect(outcome.code).not.toBe(0);
      expect(outcome.code).not.toBeNull(); // exited by itself, not ended by the limit
      expect(outcome.ms).toBeLessThan(10_000);
      const lines = outcome.output.trim().split('\n');
      expect(lines, outcome.output).toHaveLength(1);
      expect(lines[0]).toContain(`127.0.0.1:${port}`);
      expect(lines[0]).toMatch(/PORT=\d+ npm start/);
      // Nothing was set up for a server that could not start.
      expect(existsSync(devVars)).toBe(hadDevVars);
    } finally {
      await new Promise((closed) => server.close(closed));
    }
  }, 30_000);

  test('a PORT that is not a port number is refused in one line', async () => {
    for (const port of ['abc', '0', '70000']) {
      const outcome = await runStart({ PORT: port });
      expect(outcome.code).toBe(1);
      expect(outcome.output.trim().split('\n'), outcome.output).toEqual([`PORT=${port} is not a port number (1 to 65535).`]);
    }
  }, 30_000);
});
