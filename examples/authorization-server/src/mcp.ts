import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { z } from 'zod';
import { InvalidRequestError } from '../../../src/index.js';
import { readJson, type AuthContext } from '../../../src/server/index.js';
import type { DemoEnv } from './env.js';
import { MAX_NOTE_LENGTH, addNote, listNotes } from './notes.js';

/** Tools that touch the user's notes: they need the `notes` scope (step-up otherwise). */
const NOTE_TOOLS = ['add_note', 'list_notes'];

const text = (value: unknown) => ({ content: [{ type: 'text' as const, text: JSON.stringify(value, null, 2) }] });

/** The MCP server for one request, for the user the guard found. */
function mcpServer(env: DemoEnv, auth: AuthContext): McpServer {
  const server = new McpServer({ name: 'oauth-vault-demo', version: '1.0.0' });
  // /mcp takes JWT access tokens, which do not carry the grant's props (they stay sealed in the store).
  server.registerTool('whoami', { description: 'Who this MCP session is signed in as: user, client, scopes, audience.' }, async () =>
    text({ user: auth.userId, client: auth.clientId, scopes: auth.scope, audience: auth.resource }),
  );
  server.registerTool(
    'add_note',
    { description: 'Adds a note to your notes (kept sealed on the server).', inputSchema: { text: z.string().min(1).max(MAX_NOTE_LENGTH) } },
    async ({ text: note }) => text({ saved: true, count: (await addNote(env, auth.userId, note)).length }),
  );
  server.registerTool('list_notes', { description: 'Lists your notes, oldest first.' }, async () => text(await listNotes(env, auth.userId)));
  return server;
}

/** Whether a JSON-RPC message (or batch) calls one of the notes tools. */
function callsNoteTool(message: unknown): boolean {
  if (Array.isArray(message)) return message.some(callsNoteTool);
  const call = message as { method?: unknown; params?: { name?: unknown } } | null;
  return call?.method === 'tools/call' && NOTE_TOOLS.includes(call.params?.name as string);
}

/**
 * /mcp: the MCP Streamable HTTP transport (stateless, JSON answers) behind
 * the library's bearer guard, which already checked the token and its
 * audience. Calling a notes tool without the `notes` scope is answered with
 * 403 `insufficient_scope`, so the client can ask the user for more
 * (step-up, RFC 6750 §3.1).
 */
export async function handleMcp(request: Request, env: DemoEnv, auth: AuthContext): Promise<Response> {
  if (request.method !== 'POST') {
    // No server-to-client stream and no sessions in this stateless server.
    return new Response(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed' }, id: null }), {
      status: 405,
      headers: { Allow: 'POST', 'Content-Type': 'application/json' },
    });
  }
  let body: unknown;
  try {
    body = await readJson(request);
  } catch (error) {
    if (!(error instanceof InvalidRequestError)) throw error;
    return new Response(JSON.stringify({ jsonrpc: '2.0', error: { code: -32700, message: `Parse error: ${error.message}` }, id: null }), {
      status: 400,
      headers: { 'Content-Type': 'application/json' },
    });
  }
  if (callsNoteTool(body) && !auth.hasScope('notes')) return auth.insufficientScope(['notes']);
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  await mcpServer(env, auth).connect(transport);
  return transport.handleRequest(request, { parsedBody: body });
}
