// The README's runnable blocks run as written: each block marked
// `<!-- readme-test: name -->` is written out with its `oauth-vault` import
// pointed at the source, imported, and its console output checked.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, test, vi } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const generated = join(root, 'tests', '.generated');

async function readmeBlock(name: string): Promise<string> {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const match = new RegExp(`<!-- readme-test: ${name} -->\\n\`\`\`ts\\n([\\s\\S]*?)\\n\`\`\``).exec(readme);
  if (!match) throw new Error(`README.md has no block marked readme-test: ${name}`);
  return match[1]!;
}

/** Where each `oauth-vault` subpath's source lives: its built path in package.json exports, without `dist/`. */
async function sourceOf(specifier: string): Promise<string> {
  const { exports } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { exports: Record<string, { default: string }> };
  const entry = exports[specifier === 'oauth-vault' ? '.' : `.${specifier.slice('oauth-vault'.length)}`];
  if (!entry) throw new Error(`README imports ${specifier}, which package.json does not export`);
  return join(root, entry.default.replace(/^\.\/dist\//, ''));
}

async function runBlock(name: string): Promise<string[]> {
  let source = await readmeBlock(name);
  for (const [, specifier] of source.matchAll(/from '(oauth-vault(?:\/[a-z0-9-]+)*)'/g)) {
    source = source.replaceAll(`from '${specifier}'`, `from ${JSON.stringify(await sourceOf(specifier!))}`);
  }
  await mkdir(generated, { recursive: true });
  const file = join(generated, `${name}.ts`);
  await writeFile(file, `${source}\nexport {};\n`);
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' ')));
  await import(/* @vite-ignore */ `${file}?t=${Date.now()}`);
  return lines;
}

afterEach(() => vi.restoreAllMocks());

test('README: the OAuthStore quick start runs as written and prints what its comments say', async () => {
  expect(await runBlock('oauth-store-quick-start')).toEqual(['user-42 {"plan":"pro"} true', '0 refresh_token_revoked']);
});
