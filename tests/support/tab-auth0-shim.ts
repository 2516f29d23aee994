import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, generateKeyPair } from 'jose';

/**
 * What auth0-spa-js needs from a server that Auth0's own servers give it and
 * a plain OAuth 2.1 server (the demo) does not, as a reverse proxy on
 * 127.0.0.1 in front of the demo:
 * - its token endpoint at `<domain>/oauth/token` (and `/oauth/revoke`): the
 *   paths are fixed in the SDK, so they are mapped to `/token` and `/revoke`;
 * - an OpenID Connect ID token in every token response, code exchange and
 *   refresh alike (the SDK throws "ID token is required but missing"
 *   otherwise): RS256 header, `iss` = `<domain>/`, `aud` = the client id,
 *   `sub`, `iat`, `exp`, and at the code exchange the `nonce` the SDK sent to
 *   `/authorize`. The SDK checks these claims but not the signature; the
 *   shim signs them anyway (jose, a key of its own), as a server would;
 * - `openid` and `offline_access` are taken out of `/authorize`'s scope: the
 *   SDK always adds them, and the demo knows neither (it issues refresh
 *   tokens without being asked).
 * Everything else passes through unchanged. `sub` comes from the demo's
 * `/api/me`, called with the new access token.
 */
export interface Auth0Shim {
  readonly origin: string;
  /** Every token the shim handed out (access, refresh, ID), for the at-rest scans. */
  readonly issuedTokens: string[];
  /** Refresh requests (`grant_type=refresh_token`) that reached `/oauth/token`. */
  readonly refreshRequests: number;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'content-encoding', 'keep-alive']);

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

export async function startAuth0Shim(upstream: string): Promise<Auth0Shim> {
  const { privateKey } = await generateKeyPair('RS256');
  const nonceByState = new Map<string, string>();
  const nonceByCode = new Map<string, string>();
  const issuedTokens: string[] = [];
  let refreshRequests = 0;
  let origin = '';

  const forward = (path: string, method: string, headers: IncomingMessage['headers'], body: Buffer | undefined) => {
    const outgoing = new Headers();
    for (const [name, value] of Object.entries(headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) outgoing.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    return fetch(`${upstream}${path}`, { method, headers: outgoing, redirect: 'manual', ...(body && body.length > 0 && { body: new Uint8Array(body) }) });
  };

  async function idToken(clientId: string, accessToken: string, nonce: string | undefined): Promise<string> {
    const me = (await (await fetch(`${upstream}/api/me`, { headers: { Authorization: `Bearer ${accessToken}` } })).json()) as { sub: string };
    return new SignJWT({ ...(nonce !== undefined && { nonce }) })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
      .setIssuer(`${origin}/`)
      .setAudience(clientId)
      .setSubject(me.sub)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey);
  }

  const server: Server = createServer((request, response) => {
    const handle = async () => {
      const url = new URL(request.url ?? '/', 'http://shim');
      const body = await readBody(request);
      let path = `${url.pathname}${url.search}`;
      if (url.pathname === '/authorize' && request.method === 'GET') {
        const state = url.searchParams.get('state');
        const nonce = url.searchParams.get('nonce');
        if (state && nonce) nonceByState.set(state, nonce);
        const scope = (url.searchParams.get('scope') ?? '').split(' ').filter((item) => item && item !== 'openid' && item !== 'offline_access');
        url.searchParams.set('scope', scope.join(' '));
        path = `${url.pathname}?${url.searchParams.toString()}`;
      }
      if (url.pathname === '/oauth/revoke') path = '/revoke';
      const isToken = url.pathname === '/oauth/token' && request.method === 'POST';
      if (isToken) path = '/token';
      if (isToken && isRefreshRequest(body, request)) refreshRequests++;
      const upstreamResponse = await forward(path, request.method ?? 'GET', request.headers, body);
      let responseBody = Buffer.from(await upstreamResponse.arrayBuffer());
      const headers: Record<string, string> = {};
      upstreamResponse.headers.forEach((value, name) => {
        if (!HOP_BY_HOP.has(name)) headers[name] = value;
      });
      // The consent answer redirects with the code: remember which nonce the code was asked with.
      const location = upstreamResponse.headers.get('location');
      if (location) {
        const redirect = new URL(location, origin);
        const code = redirect.searchParams.get('code');
        const nonce = nonceByState.get(redirect.searchParams.get('state') ?? '');
        if (code && nonce) nonceByCode.set(code, nonce);
      }
      if (isToken && upstreamResponse.ok) {
        // auth0-spa-js posts JSON by default (form data with useFormData).
        const params = request.headers['content-type']?.includes('json')
          ? new Map(Object.entries(JSON.parse(body.toString()) as Record<string, string>))
          : new Map(new URLSearchParams(body.toString()));
        const tokens = JSON.parse(responseBody.toString()) as Record<string, unknown>;
        const nonce = params.get('grant_type') === 'authorization_code' ? nonceByCode.get(params.get('code') ?? '') : undefined;
        tokens.id_token = await idToken(params.get('client_id') ?? '', tokens.access_token as string, nonce);
        issuedTokens.push(...[tokens.access_token, tokens.refresh_token, tokens.id_token].filter((token): token is string => typeof token === 'string'));
        responseBody = Buffer.from(JSON.stringify(tokens));
      }
      response.writeHead(upstreamResponse.status, headers).end(responseBody);
    };
    handle().catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' });
      response.end(`shim: ${String(error)}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    issuedTokens,
    get refreshRequests() {
      return refreshRequests;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** Whether a token request body asks for a refresh (counted even when the server refuses it). */
function isRefreshRequest(body: Buffer, request: IncomingMessage): boolean {
  const text = body.toString();
  return request.headers['content-type']?.includes('json') ? (JSON.parse(text) as { grant_type?: string }).grant_type === 'refresh_token' : new URLSearchParams(text).get('grant_type') === 'refresh_token';
}
