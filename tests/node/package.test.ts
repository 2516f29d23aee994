// The published shape: `npm run build`, pack, install into a separate consumer
// folder, and import every Node-loadable subpath from there.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { publint } from 'publint';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const consumer = mkdtempSync(join(tmpdir(), 'oauth-vault-consumer-'));
const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  exports: Record<string, { types: string; default: string } | string>;
};

describe('built package', () => {
  beforeAll(() => {
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'pipe' });
    const tarball = execFileSync('npm', ['pack', '--pack-destination', consumer, '--silent'], { cwd: root, encoding: 'utf8' }).trim();
    const installed = join(consumer, 'node_modules', 'oauth-vault');
    mkdirSync(installed, { recursive: true });
    execFileSync('tar', ['-xzf', join(consumer, tarball.split('\n').pop()!), '-C', installed, '--strip-components=1']);
    // The runtime dependencies, as npm would install them beside the package.
    for (const dependency of ['idb', 'jose']) symlinkSync(join(root, 'node_modules', dependency), join(consumer, 'node_modules', dependency));
    mkdirSync(join(consumer, 'node_modules', '@redis'));
    symlinkSync(join(root, 'node_modules', '@redis', 'client'), join(consumer, 'node_modules', '@redis', 'client'));
  }, 120_000);

  afterAll(() => rmSync(consumer, { recursive: true, force: true }));

  test('every exports entry points at built files with types', () => {
    for (const [subpath, target] of Object.entries(packageJson.exports)) {
      if (typeof target === 'string') continue;
      expect(existsSync(join(consumer, 'node_modules', 'oauth-vault', target.default)), `${subpath} default`).toBe(true);
      expect(existsSync(join(consumer, 'node_modules', 'oauth-vault', target.types)), `${subpath} types`).toBe(true);
    }
  });

  test('every source map in the packed package carries its sources (src/ is not shipped)', () => {
    const installed = join(consumer, 'node_modules', 'oauth-vault');
    const maps = (readdirSync(installed, { recursive: true }) as string[]).filter((file) => file.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(0);
    for (const file of maps) {
      const map = JSON.parse(readFileSync(join(installed, file), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
      map.sources.forEach((source, index) => {
        const shipped = existsSync(join(installed, dirname(file), source));
        const inlined = typeof map.sourcesContent?.[index] === 'string' && map.sourcesContent[index]!.length > 0;
        expect(shipped || inlined, `${file} -> ${source}`).toBe(true);
      });
    }
  });

  test('publint finds nothing to fix in the packed package', async () => {
    const { messages } = await publint({ pkgDir: join(consumer, 'node_modules', 'oauth-vault'), level: 'suggestion', strict: true });
    expect(messages).toEqual([]);
  });

  test('the README names exactly the subpaths that exports defines', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const named = new Set([...readme.matchAll(/`(oauth-vault(?:\/[a-z0-9-]+)*)`/g)].map((match) => match[1]));
    const exported = Object.keys(packageJson.exports)
      .filter((subpath) => subpath !== './package.json')
      .map((subpath) => (subpath === '.' ? 'oauth-vault' : `oauth-vault/${subpath.slice(2)}`));
    expect([...named].sort()).toEqual(exported.sort());
  });

  test('a separate consumer imports oauth-vault, its storage kit, the server and the Node-loadable adapters in Node', () => {
    const script = join(consumer, 'consume.mjs');
    writeFileSync(
      script,
      `import { Keyring, generateSecret, OAuthStore, RecordStore, VaultError } from 'oauth-vault';
       import { memoryAdapter } from 'oauth-vault/memory';
       import { createAuthorizationServer } from 'oauth-vault/server';
       import { defineAdapter } from 'oauth-vault/storage';
       import * as idb from 'oauth-vault/indexeddb';
       import { connectRedis, redisAdapter } from 'oauth-vault/redis';
       import { dpop } from 'oauth-vault/dpop';
       if (typeof dpop().sign !== 'function') throw new Error('no dpop signer');
       if (typeof defineAdapter !== 'function') throw new Error('no defineAdapter');
       if (typeof connectRedis !== 'function' || redisAdapter({ client: { sendCommand: async () => null } }).name !== 'redis') throw new Error('no redis adapter');
       const keyring = await Keyring.fromSecret(generateSecret());
       const store = new RecordStore({ adapter: memoryAdapter(), keyring });
       await store.collection('note').put('n', { hello: 'world' });
       const read = await store.collection('note').get('n');
       const server = createAuthorizationServer({ store: new OAuthStore({ keyring, adapter: memoryAdapter() }), authorize: () => new Response('') });
       const metadata = await (await server.fetch(new Request('https://as.example/.well-known/oauth-authorization-server'))).json();
       console.log(JSON.stringify({ hello: read.data.hello, error: typeof VaultError, idb: Object.keys(idb).length > 0, issuer: metadata.issuer }));`,
    );
    const output = execFileSync(process.execPath, [script], { cwd: consumer, encoding: 'utf8' });
    expect(JSON.parse(output)).toEqual({ hello: 'world', error: 'function', idb: true, issuer: 'https://as.example' });
  });
});
