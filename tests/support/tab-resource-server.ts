import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { EmbeddedJWK, calculateJwkThumbprint, jwtVerify, type JWK } from 'jose';

/**
 * A token endpoint and a protected resource on 127.0.0.1 for the
 * `vault.fetch` and DPoP tests, serving the multi-tab test page too. It
 * verifies DPoP proofs (RFC 9449) with `jose` the way a resource server must:
 * signature under the embedded key, `typ`, `htm`, `htu`, `iat`, unique `jti`,
 * `ath` against the token, the key's thumbprint against the token's binding,
 * and the current nonce when nonces are on. Counters are shared by all tabs.
 *
 * - `POST /token`, body `login` (a stand-in for the code exchange) or a
 *   refresh token: rotates; a request with a valid proof gets a DPoP-bound
 *   pair (`token_type: DPoP`), one without gets a Bearer pair. A bound
 *   refresh token needs a proof by the same key.
 * - `GET /resource`: 200 `{ ok, token }` for a live token presented as it was
 *   issued; 401 with a `WWW-Authenticate` challenge otherwise.
 */
export interface ResourceServer {
  readonly origin: string;
  readonly counts: {
    /** Requests to /token, valid or not. */
    token: number;
    /** Refreshes (token requests that presented a refresh token). */
    refresh: number;
    /** Refresh tokens presented after they were rotated away. */
    reused: number;
    /** Requests to /resource, and how many got 200. */
    resource: number;
    resourceOk: number;
    /** DPoP proofs refused, by reason. */
    refusedProofs: string[];
  };
  /** The JWK thumbprint each issued access token is bound to (`null`: Bearer). */
  binding(accessToken: string): string | null | undefined;
  /** The resource stops accepting every access token issued so far (as if revoked or expired early). */
  expireAccessTokens(): void;
  /** The resource refuses every access token, even new ones. */
  rejectAll: boolean;
  /** Require a server nonce in proofs: at the token endpoint, at the resource. */
  nonces: { token: boolean; resource: boolean };
  /** Replaces the current nonce (proofs with the old one are refused with use_dpop_nonce). */
  rotateNonce(): void;
  /** How long /token takes to answer, ms. */
  tokenDelayMs: number;
  /** Zeroes the counters (tokens issued so far stay valid). */
  resetCounts(): void;
  /** Forgets every token and setting: the next login issues `at-1`. */
  reset(): void;
  close(): Promise<void>;
}

const pageEntry = fileURLToPath(new URL('./tab-page.ts', import.meta.url));

interface Issued {
  jkt: string | null;
  live: boolean;
}

export async function startResourceServer(): Promise<ResourceServer> {
  const bundle = await build({ entryPoints: [pageEntry], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false });
  const script = bundle.outputFiles[0]!.text;
  const html = '<!doctype html><meta charset="utf-8"><title>tab</title><script type="module" src="/tab.js"></script>';
  const counts: ResourceServer['counts'] = { token: 0, refresh: 0, reused: 0, resource: 0, resourceOk: 0, refusedProofs: [] };
  const access = new Map<string, Issued>();
  const refresh = new Map<string, Issued>();
  const seenJti = new Set<string>();
  let issued = 0;
  let nonce = `n-${Math.random().toString(36).slice(2)}`;

  const control = {
    rejectAll: false,
    nonces: { token: false, resource: false },
    tokenDelayMs: 100,
  };

  /** Verifies a proof; returns its key's thumbprint, or the reason it is refused. */
  async function verifyProof(proof: string | undefined, method: string, url: string, accessToken: string | undefined, needNonce: boolean): Promise<{ jkt: string } | { refused: string }> {
    if (!proof) return { refused: 'missing' };
    try {
      const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
      const jwk = protectedHeader.jwk as JWK;
      if ('d' in jwk) return { refused: 'private key in jwk' };
      if (payload.htm !== method) return { refused: 'htm' };
      if (payload.htu !== url) return { refused: 'htu' };
      if (typeof payload.iat !== 'number' || Math.abs(payload.iat - Date.now() / 1000) > 60) return { refused: 'iat' };
      if (typeof payload.jti !== 'string' || seenJti.has(payload.jti)) return { refused: 'jti' };
      seenJti.add(payload.jti);
      if (accessToken !== undefined && payload.ath !== createHash('sha256').update(accessToken).digest('base64url')) return { refused: 'ath' };
      if (needNonce && payload.nonce !== nonce) return { refused: 'nonce' };
      return { jkt: await calculateJwkThumbprint(jwk, 'sha256') };
    } catch {
      return { refused: 'signature' };
    }
  }

  const json = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void =>
    void response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }).end(JSON.stringify(body));

  async function token(request: IncomingMessage, response: ServerResponse, body: string, origin: string): Promise<void> {
    counts.token++;
    const proofHeader = request.headers.dpop as string | undefined;
    let jkt: string | null = null;
    if (proofHeader !== undefined) {
      const checked = await verifyProof(proofHeader, 'POST', `${origin}/token`, undefined, control.nonces.token);
      if ('refused' in checked) {
        counts.refusedProofs.push(`token:${checked.refused}`);
        if (checked.refused === 'nonce') return json(response, 400, { error: 'use_dpop_nonce' }, { 'DPoP-Nonce': nonce });
        return json(response, 400, { error: 'invalid_dpop_proof' });
      }
      jkt = checked.jkt;
    }
    if (body !== 'login') {
      counts.refresh++;
      const presented = refresh.get(body);
      if (!presented?.live) {
        if (presented) counts.reused++;
        return json(response, 400, { error: 'invalid_grant' });
      }
      // A bound refresh token needs a proof by its key (RFC 9449 §5).
      if (presented.jkt !== null && presented.jkt !== jkt) return json(response, 400, { error: 'invalid_dpop_proof' });
      presented.live = false;
    }
    const n = ++issued;
    access.set(`at-${n}`, { jkt, live: true });
    refresh.set(`rt-${n}`, { jkt, live: true });
    await new Promise((resolve) => setTimeout(resolve, control.tokenDelayMs));
    json(response, 200, { access_token: `at-${n}`, token_type: jkt ? 'DPoP' : 'Bearer', expires_in: 3600, refresh_token: `rt-${n}` });
  }

  async function resource(request: IncomingMessage, response: ServerResponse, origin: string): Promise<void> {
    counts.resource++;
    const [scheme, accessToken] = (request.headers.authorization ?? '').split(' ');
    const issuedToken = accessToken ? access.get(accessToken) : undefined;
    const dpopScheme = scheme?.toLowerCase() === 'dpop';
    const challenge = (error: string) => (dpopScheme || issuedToken?.jkt ? `DPoP error="${error}", algs="ES256"` : `Bearer error="${error}"`);
    if (!issuedToken?.live || control.rejectAll) return json(response, 401, { error: 'invalid_token' }, { 'WWW-Authenticate': challenge('invalid_token') });
    if (issuedToken.jkt === null) {
      if (dpopScheme) return json(response, 401, { error: 'invalid_token' }, { 'WWW-Authenticate': challenge('invalid_token') });
    } else {
      // A bound token presented as a bearer token is refused (RFC 9449 §7.1).
      if (!dpopScheme) return json(response, 401, { error: 'invalid_token' }, { 'WWW-Authenticate': challenge('invalid_token') });
      const checked = await verifyProof(request.headers.dpop as string | undefined, 'GET', `${origin}/resource`, accessToken, control.nonces.resource);
      if ('refused' in checked) {
        counts.refusedProofs.push(`resource:${checked.refused}`);
        if (checked.refused === 'nonce') return json(response, 401, { error: 'use_dpop_nonce' }, { 'WWW-Authenticate': challenge('use_dpop_nonce'), 'DPoP-Nonce': nonce });
        return json(response, 401, { error: 'invalid_dpop_proof' }, { 'WWW-Authenticate': challenge('invalid_dpop_proof') });
      }
      if (checked.jkt !== issuedToken.jkt) return json(response, 401, { error: 'invalid_token' }, { 'WWW-Authenticate': challenge('invalid_token') });
    }
    counts.resourceOk++;
    json(response, 200, { ok: true, token: accessToken });
  }

  const server: Server = createServer((request, response) => {
    const origin = `http://${request.headers.host}`;
    const path = new URL(request.url ?? '/', origin).pathname;
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const handle = async () => {
        if (path === '/tab.js') return void response.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
        if (path === '/token' && request.method === 'POST') return token(request, response, body, origin);
        if (path === '/resource' && request.method === 'GET') return resource(request, response, origin);
        response.writeHead(200, { 'content-type': 'text/html' }).end(html);
      };
      handle().catch(() => response.writeHead(500).end());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(control, {
    origin: `http://127.0.0.1:${port}`,
    counts,
    binding: (accessToken: string) => access.get(accessToken)?.jkt,
    expireAccessTokens() {
      for (const entry of access.values()) entry.live = false;
    },
    rotateNonce() {
      nonce = `n-${Math.random().toString(36).slice(2)}`;
    },
    resetCounts() {
      Object.assign(counts, { token: 0, refresh: 0, reused: 0, resource: 0, resourceOk: 0, refusedProofs: [] });
    },
    reset() {
      this.resetCounts();
      access.clear();
      refresh.clear();
      issued = 0;
      Object.assign(control, { rejectAll: false, nonces: { token: false, resource: false }, tokenDelayMs: 100 });
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  });
}
