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

async function runBlock(name: string): Promise<string[]> {
  const source = (await readmeBlock(name)).replace(/from 'oauth-vault'/g, `from ${JSON.stringify(join(root, 'src', 'index.js'))}`);
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
