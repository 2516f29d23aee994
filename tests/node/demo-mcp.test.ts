// The demo's MCP server (/mcp, behind oauth-vault/server's guard) driven by
// the official MCP TypeScript SDK client and its OAuth support, against
// `wrangler dev` on KV + Durable Object and on D1 + Durable Object: 401 with
// resource_metadata → protected-resource metadata → authorization-server
// metadata → registration (dynamic, and by a Client ID Metadata Document
// served from 127.0.0.1) → authorization with PKCE and resource (the test
// plays the user) → token → tool calls for the right user → refresh with
// rotation → revocation ends access.
import { createServer, type Server } from 'node:http';
import { resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError, auth, type OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generateSecret } from '../../src/index.js';
import { startWranglerDev, type DevServer } from '../support/wrangler-dev.js';

const root = resolve(import.meta.dirname, '../..');
const config = resolve(root, 'examples/authorization-server/wrangler.toml');
const DOCUMENT_ORIGIN = 'https://mcp-client.example.test';
const DOCUMENT_URL = `${DOCUMENT_ORIGIN}/oauth/client.json`;
// Never served: the test reads the redirect's Location instead of following it.
const CALLBACK = 'http://127.0.0.1:1/callback';

/** One line per request the SDK client made: the discovery sequence is asserted from it. */
type Trace = string[];

/** An OAuthClientProvider keeping everything in memory; the test plays the browser at redirectToAuthorization. */
class MemoryProvider implements OAuthClientProvider {
  client?: OAuthClientInformationMixed;
  stored?: OAuthTokens;
  verifier = '';
  authorizationUrl?: URL;
  constructor(readonly clientMetadataUrl?: string) {}
  get redirectUrl() {
    return CALLBACK;
  }
  get clientMetadata(): OAuthClientMetadata {
    return { client_name: 'MCP SDK e2e', redirect_uris: [CALLBACK], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' };
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(information: OAuthClientInformationMixed) {
    this.client = information;
  }
  tokens() {
    return this.stored;
  }
  saveTokens(tokens: OAuthTokens) {
    this.stored = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
}

function tracingFetch(trace: Trace): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    const response = await fetch(request);
    trace.push(`${request.method} ${new URL(request.url).pathname} ${response.status}`);
    return response;
  };
}

/** Plays the user in the demo's consent page: signs in as `user` and approves; returns the redirect back. */
async function consent(server: DevServer, authorizationUrl: URL, user: string): Promise<URL> {
  const page = await fetch(authorizationUrl, { redirect: 'manual' });
  const html = await page.text();
  expect(page.status, html).toBe(200);
  const session = /name="session" value="([^"]+)"/.exec(html)![1]!;
  const decision = await fetch(`${server.url}/authorize`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ session, user, decision: 'approve' }),
  });
  expect(decision.status).toBe(302);
  return new URL(decision.headers.get('Location')!);
}

/** Connects the SDK client through its OAuth flow up to a connected client for `user`. */
async function signInWithSdk(server: DevServer, provider: MemoryProvider, user: string, trace: Trace) {
  const mcpUrl = new URL(`${server.url}/mcp`);
  const first = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider, fetch: tracingFetch(trace) });
  await expect(new Client({ name: 'e2e', version: '1.0.0' }).connect(first)).rejects.toBeInstanceOf(UnauthorizedError);
  const authorizationUrl = provider.authorizationUrl!;
  expect(authorizationUrl.origin + authorizationUrl.pathname).toBe(`${server.url}/authorize`);
  expect(authorizationUrl.searchParams.get('resource')).toBe(mcpUrl.href);
  expect(authorizationUrl.searchParams.get('code_challenge_method')).toBe('S256');
  const callback = await consent(server, authorizationUrl, user);
  expect(callback.searchParams.get('iss')).toBe(server.url);
  expect(callback.searchParams.get('state')).toBe(authorizationUrl.searchParams.get('state'));
  await first.finishAuth(callback.searchParams.get('code')!);
  const client = new Client({ name: 'e2e', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider, fetch: tracingFetch(trace) }));
  return client;
}

const toolJson = async (client: Client, name: string, args: Record<string, unknown> = {}) => {
  const result = (await client.callTool({ name, arguments: args })) as { content: { type: string; text: string }[]; isError?: boolean };
  expect(result.isError, JSON.stringify(result)).toBeFalsy();
  return JSON.parse(result.content[0]!.text) as unknown;
};

let documents: Server;
let documentsOrigin = '';
const documentHits: string[] = [];

beforeAll(async () => {
  documents = createServer((request, response) => {
    documentHits.push(request.url ?? '');
    if (request.url !== '/oauth/client.json') return response.writeHead(404).end();
    response.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'max-age=300' });
    response.end(JSON.stringify({ client_id: DOCUMENT_URL, client_name: 'MCP SDK e2e (document)', redirect_uris: [CALLBACK], token_endpoint_auth_method: 'none' }));
  });
  await new Promise<void>((listening) => documents.listen(0, '127.0.0.1', listening));
  documentsOrigin = `http://127.0.0.1:${(documents.address() as { port: number }).port}`;
});

afterAll(async () => {
  documents.closeAllConnections();
  await new Promise((closed) => documents.close(closed));
});

for (const storage of ['kv', 'd1'] as const) {
  describe(`MCP SDK client against the demo's /mcp (wrangler dev, ${storage} + Durable Object)`, () => {
    let server: DevServer | undefined;

    beforeAll(async () => {
      server = await startWranglerDev(config, { VAULT_SECRET: generateSecret(), STORAGE: storage, CIMD_TEST_ORIGIN: `${DOCUMENT_ORIGIN}=${documentsOrigin}` });
    }, 120_000);

    afterAll(async () => {
      await server?.stop();
    });

    test('dynamic registration: discovery from the 401, PKCE + resource, tools for the right user, refresh with rotation, revocation ends access', async () => {
      const trace: Trace = [];
      const provider = new MemoryProvider();
      const client = await signInWithSdk(server!, provider, 'ada', trace);
      // The discovery the SDK did, in order, from the first 401.
      expect(trace.slice(0, 4)).toEqual([
        'POST /mcp 401',
        'GET /.well-known/oauth-protected-resource/mcp 200',
        'GET /.well-known/oauth-authorization-server 200',
        'POST /register 201',
      ]);
      expect(trace).toContain('POST /token 200');
      expect(provider.client!.client_id).not.toMatch(/^https:/);
      expect(provider.stored!.scope).toBe('profile notes');

      const tools = await client.listTools();
      expect(tools.tools.map((tool) => tool.name).sort()).toEqual(['add_note', 'list_notes', 'whoami']);
      expect(await toolJson(client, 'whoami')).toMatchObject({ user: 'ada', client: provider.client!.client_id, audience: `${server!.url}/mcp`, scopes: ['profile', 'notes'] });
      expect(await toolJson(client, 'add_note', { text: 'buy milk' })).toEqual({ saved: true, count: 1 });
      const notes = (await toolJson(client, 'list_notes')) as { text: string }[];
      expect(notes.map((note) => note.text)).toEqual(['buy milk']);

      // Another user, another client: other notes.
      const other = await signInWithSdk(server!, new MemoryProvider(), 'grace', []);
      expect(await toolJson(other, 'whoami')).toMatchObject({ user: 'grace' });
      expect(await toolJson(other, 'list_notes')).toEqual([]);
      await other.close();

      // Refresh through the SDK: the refresh token rotates, the new access token works.
      const before = provider.stored!;
      expect(await auth(provider, { serverUrl: new URL(`${server!.url}/mcp`) })).toBe('AUTHORIZED');
      expect(provider.stored!.refresh_token).not.toBe(before.refresh_token);
      expect(provider.stored!.access_token).not.toBe(before.access_token);
      await client.close();
      const refreshed = new Client({ name: 'e2e', version: '1.0.0' });
      await refreshed.connect(new StreamableHTTPClientTransport(new URL(`${server!.url}/mcp`), { authProvider: provider }));
      expect(await toolJson(refreshed, 'whoami')).toMatchObject({ user: 'ada' });

      // Revocation (RFC 7009) of the refresh token ends the grant: the access token is refused at once.
      const revoked = await fetch(`${server!.url}/revoke`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: provider.stored!.refresh_token!, client_id: provider.client!.client_id }),
      });
      expect(revoked.status).toBe(200);
      const denied = await fetch(`${server!.url}/mcp`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${provider.stored!.access_token}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(denied.status).toBe(401);
      expect(denied.headers.get('WWW-Authenticate')).toContain('error="invalid_token"');
      await expect(refreshed.callTool({ name: 'whoami', arguments: {} })).rejects.toThrow();
      await refreshed.close().catch(() => undefined);
    }, 120_000);

    test('registration by Client ID Metadata Document: the client id is the document URL, fetched by the server from the local document server', async () => {
      const trace: Trace = [];
      const provider = new MemoryProvider(DOCUMENT_URL);
      documentHits.length = 0;
      const client = await signInWithSdk(server!, provider, 'lin', trace);
      expect(provider.client!.client_id).toBe(DOCUMENT_URL);
      expect(trace).not.toContain('POST /register 201');
      expect(documentHits).toEqual(['/oauth/client.json']);
      expect(await toolJson(client, 'whoami')).toMatchObject({ user: 'lin', client: DOCUMENT_URL });
      const before = provider.stored!.refresh_token;
      expect(await auth(provider, { serverUrl: new URL(`${server!.url}/mcp`) })).toBe('AUTHORIZED');
      expect(provider.stored!.refresh_token).not.toBe(before);
      await client.close();
    }, 120_000);

    test('a token for /mcp is refused by the SPA\'s API and the other way round (audience), and a notes tool without the notes scope is 403 insufficient_scope', async () => {
      const base = server!.url;
      const registered = (await (
        await fetch(`${base}/register`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ redirect_uris: [CALLBACK], token_endpoint_auth_method: 'none', scope: 'profile notes' }) })
      ).json()) as { client_id: string };
      const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
      const tokenFor = async (scope: string, resource?: string) => {
        const url = new URL(`${base}/authorize`);
        url.search = new URLSearchParams({
          response_type: 'code',
          client_id: registered.client_id,
          redirect_uri: CALLBACK,
          scope,
          code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
          code_challenge_method: 'S256',
          ...(resource && { resource }),
        }).toString();
        const code = (await consent(server!, url, 'sam')).searchParams.get('code')!;
        const answer = await fetch(`${base}/token`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: CALLBACK, client_id: registered.client_id, ...(resource && { resource }) }),
        });
        return ((await answer.json()) as { access_token: string }).access_token;
      };
      const rpc = (token: string, body: unknown) =>
        fetch(`${base}/mcp`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' }, body: JSON.stringify(body) });
      const me = (token: string) => fetch(`${base}/api/me`, { headers: { Authorization: `Bearer ${token}` } });

      const mcpToken = await tokenFor('profile', `${base}/mcp`);
      expect((await me(mcpToken)).status).toBe(401);
      const spaToken = await tokenFor('profile');
      expect((await me(spaToken)).status).toBe(200);
      expect((await rpc(spaToken, { jsonrpc: '2.0', id: 1, method: 'tools/list' })).status).toBe(401);

      const initialize = await rpc(mcpToken, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
      expect(initialize.status).toBe(200);
      const whoami = await rpc(mcpToken, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'whoami', arguments: {} } });
      expect(whoami.status).toBe(200);
      const stepUp = await rpc(mcpToken, { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'add_note', arguments: { text: 'x' } } });
      expect(stepUp.status).toBe(403);
      expect(stepUp.headers.get('WWW-Authenticate')).toBe(
        `Bearer error="insufficient_scope", error_description="the access token lacks a scope this request needs", scope="notes", resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`,
      );
      const malformed = await fetch(`${base}/mcp`, { method: 'POST', headers: { Authorization: `Bearer ${mcpToken}`, 'Content-Type': 'application/json' }, body: '{not json' });
      expect(malformed.status).toBe(400);
    }, 120_000);
  });
}
