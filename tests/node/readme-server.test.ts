// The README's server quick start runs as written: the block marked
// `<!-- readme-test: server-quick-start -->` becomes a Worker (its
// `oauth-vault` imports pointed at the source) with the bindings the README
// names, runs under `wrangler dev`, and the official MCP SDK client goes
// through its whole OAuth flow against it and calls the tool.
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError, type OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientInformationMixed, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { generateSecret } from '../../src/index.js';
import { startWranglerDev, type DevServer } from '../support/wrangler-dev.js';

const root = resolve(import.meta.dirname, '../..');
const folder = join(root, 'tests', '.generated', 'server-quick-start');
const CALLBACK = 'http://127.0.0.1:1/callback';

async function quickStart(): Promise<string> {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const match = /<!-- readme-test: server-quick-start -->\n```ts\n([\s\S]*?)\n```/.exec(readme);
  if (!match) throw new Error('README.md has no block marked readme-test: server-quick-start');
  const { exports } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { exports: Record<string, { default: string }> };
  return match[1]!.replace(/from '(oauth-vault(?:\/[a-z0-9-]+)*)'/g, (_, specifier: string) => {
    const entry = exports[specifier === 'oauth-vault' ? '.' : `.${specifier.slice('oauth-vault'.length)}`];
    if (!entry) throw new Error(`the quick start imports ${specifier}, which package.json does not export`);
    return `from ${JSON.stringify(join(root, entry.default.replace(/^\.\/dist\//, '')))}`;
  });
}

let server: DevServer | undefined;

beforeAll(async () => {
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'worker.ts'), await quickStart());
  await writeFile(
    join(folder, 'wrangler.toml'),
    [
      'name = "readme-quick-start"',
      'main = "worker.ts"',
      'compatibility_date = "2026-04-01"',
      'compatibility_flags = ["global_fetch_strictly_public"]',
      'send_metrics = false',
      '[[kv_namespaces]]',
      'binding = "KV"',
      'id = "readme-kv"',
      '[[durable_objects.bindings]]',
      'name = "VAULT_DO"',
      'class_name = "VaultDurableObject"',
      '[[migrations]]',
      'tag = "v1"',
      'new_sqlite_classes = ["VaultDurableObject"]',
      '[triggers]',
      'crons = ["17 * * * *"]',
      '',
    ].join('\n'),
  );
  await writeFile(
    join(folder, 'tsconfig.json'),
    JSON.stringify({ extends: '../../../tsconfig.base.json', compilerOptions: { lib: ['ES2022'], types: ['@cloudflare/workers-types'], noEmit: true }, include: ['worker.ts'] }),
  );
  server = await startWranglerDev(join(folder, 'wrangler.toml'), { VAULT_SECRET: generateSecret() });
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

test('README: the server quick start type-checks as a Worker (strict, with @cloudflare/workers-types)', () => {
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(folder, 'tsconfig.json')], { cwd: root, stdio: 'pipe' });
}, 60_000);

test('README: the server quick start is a complete MCP server: the MCP SDK client registers, signs in through its page, and calls whoami', async () => {
  let client: OAuthClientInformationMixed | undefined;
  let tokens: OAuthTokens | undefined;
  let verifier = '';
  let authorizationUrl: URL | undefined;
  const provider: OAuthClientProvider = {
    redirectUrl: CALLBACK,
    clientMetadata: { client_name: 'README <test>', redirect_uris: [CALLBACK], token_endpoint_auth_method: 'none' },
    clientInformation: () => client,
    saveClientInformation: (information) => void (client = information),
    tokens: () => tokens,
    saveTokens: (saved) => void (tokens = saved),
    redirectToAuthorization: (url) => void (authorizationUrl = url),
    saveCodeVerifier: (saved) => void (verifier = saved),
    codeVerifier: () => verifier,
  };
  const mcpUrl = new URL(`${server!.url}/mcp`);
  const first = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider });
  await expect(new Client({ name: 'readme', version: '1' }).connect(first)).rejects.toBeInstanceOf(UnauthorizedError);

  // The user: the quick start's page, its form posted back where it came from.
  const page = await fetch(authorizationUrl!);
  const html = await page.text();
  expect(html).toContain('README &#60;test&#62; asks for access.');
  const handle = /name="handle" value="([^"]+)"/.exec(html)![1]!;
  const back = await fetch(authorizationUrl!, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ handle, user: 'quinn' }),
  });
  expect(back.status).toBe(302);
  const callback = new URL(back.headers.get('Location')!);
  expect(callback.searchParams.get('iss')).toBe(server!.url);
  await first.finishAuth(callback.searchParams.get('code')!);

  const connected = new Client({ name: 'readme', version: '1' });
  await connected.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider }));
  const result = (await connected.callTool({ name: 'whoami', arguments: {} })) as { content: { text: string }[] };
  expect(result.content[0]!.text).toBe('quinn');
  expect(tokens!.scope).toBe('mcp');
  await connected.close();

  const metadata = (await (await fetch(`${server!.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
  expect(metadata).toMatchObject({ client_id_metadata_document_supported: true, scopes_supported: ['mcp'] });
}, 120_000);
