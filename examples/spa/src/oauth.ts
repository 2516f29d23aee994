/** The few OAuth calls the demo SPA makes (a public client: no secret). */

const CLIENT_KEY = 'oauth-vault-demo/client';
const PENDING_KEY = 'oauth-vault-demo/pending';

export const redirectUri = (): string => `${location.origin}/`;

/** An error answer of the server (RFC 6749 §5.2 shape): the status and the `error` code, never a token. */
export class OAuthResponseError extends Error {
  constructor(
    readonly operation: 'client check' | 'registration' | 'token exchange' | 'refresh' | 'revocation',
    readonly status: number,
    readonly error: string,
  ) {
    super(`${operation} failed: ${status} ${error}`);
    this.name = 'OAuthResponseError';
  }

  /** The server does not know this client: its state was wiped, or it now runs on other storage. */
  get unknownClient(): boolean {
    return this.error === 'invalid_client';
  }

  /** A refresh was refused for good (unknown client, or a revoked, expired or reused grant): the stored tokens are dead. */
  get tokensDead(): boolean {
    return this.operation === 'refresh' && (this.unknownClient || this.error === 'invalid_grant');
  }
}

async function failure(operation: OAuthResponseError['operation'], response: Response): Promise<OAuthResponseError> {
  const body = (await response.json().catch(() => null)) as { error?: unknown } | null;
  return new OAuthResponseError(operation, response.status, typeof body?.error === 'string' ? body.error : 'no_error_code');
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const randomString = (): string => base64url(crypto.getRandomValues(new Uint8Array(32)));

async function postForm(path: string, params: Record<string, string>, signal?: AbortSignal, send: typeof fetch = fetch): Promise<Response> {
  return send(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params),
    ...(signal && { signal }),
  });
}

/** The client id this SPA registered for this origin, if it has one. */
function storedClientId(): string | null {
  try {
    const { clientId, redirect } = JSON.parse(localStorage.getItem(CLIENT_KEY) ?? 'null') as { clientId?: unknown; redirect?: unknown };
    return typeof clientId === 'string' && redirect === redirectUri() ? clientId : null;
  } catch {
    return null;
  }
}

/** Forgets the client id (the server no longer knows it); the next sign-in registers again. */
export function forgetClient(): void {
  localStorage.removeItem(CLIENT_KEY);
}

function requireClientId(): string {
  const id = storedClientId();
  if (id === null) throw new Error('this app is no longer registered with the server: sign in again');
  return id;
}

/**
 * Whether the server still knows client `id`. Revoking a token that does not
 * exist is a success for a known client and `invalid_client` for an unknown
 * one (RFC 7009 §2.1, §2.2.1), and it changes nothing: a side-effect-free check.
 */
async function serverKnowsClient(id: string): Promise<boolean> {
  const response = await postForm('/revoke', { token: 'client-check', client_id: id });
  if (response.ok) return true;
  const error = await failure('client check', response);
  if (error.unknownClient) return false;
  throw error;
}

/**
 * This SPA's client id: the stored one while the server knows it, otherwise a
 * new registration (RFC 7591). The id is not a secret.
 */
async function ensureClientId(): Promise<string> {
  const known = storedClientId();
  if (known !== null && (await serverKnowsClient(known))) return known;
  forgetClient();
  const response = await fetch('/register', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ client_name: 'oauth-vault demo SPA', redirect_uris: [redirectUri()], token_endpoint_auth_method: 'none', scope: 'profile email' }),
  });
  if (!response.ok) throw await failure('registration', response);
  const { client_id } = (await response.json()) as { client_id: string };
  localStorage.setItem(CLIENT_KEY, JSON.stringify({ clientId: client_id, redirect: redirectUri() }));
  return client_id;
}

/**
 * Starts the authorization code flow with PKCE (S256) and a state value;
 * with `dpopJkt` (the vault's DPoP key thumbprint) the code is bound to that
 * key (RFC 9449 §10).
 */
export async function startSignIn(dpopJkt?: string | null): Promise<void> {
  const clientId = await ensureClientId();
  const verifier = randomString();
  const state = randomString();
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  // The verifier lives only until the redirect comes back, in this tab's sessionStorage.
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ verifier, state, clientId }));
  const url = new URL('/authorize', location.origin);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri(),
    scope: 'profile',
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...(dpopJkt && { dpop_jkt: dpopJkt }),
  }).toString();
  location.assign(url);
}

/**
 * Finishes the flow if this page load is the redirect back; returns the token
 * response. `send` is the vault's `dpopFetch` (a DPoP proof when DPoP is on).
 */
export async function finishSignIn(send: typeof fetch = fetch): Promise<Record<string, unknown> | null> {
  const params = new URLSearchParams(location.search);
  if (!params.has('code') && !params.has('error')) return null;
  history.replaceState(null, '', location.pathname);
  const pending = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  if (params.has('error')) throw new Error(`authorization failed: ${params.get('error')}`);
  if (!pending) throw new Error('no sign-in in progress in this tab');
  const { verifier, state, clientId } = JSON.parse(pending) as { verifier: string; state: string; clientId: string };
  if (params.get('state') !== state) throw new Error('state mismatch');
  if (params.get('iss') !== location.origin) throw new Error('issuer mismatch');
  const response = await postForm('/token', {
    grant_type: 'authorization_code',
    code: params.get('code')!,
    redirect_uri: redirectUri(),
    client_id: clientId,
    code_verifier: verifier,
  }, undefined, send);
  if (!response.ok) throw await failure('token exchange', response);
  return (await response.json()) as Record<string, unknown>;
}

/** The refresh function handed to TokenVault: one call per refresh, whatever the tab count. */
export async function refreshTokens(refreshToken: string, { signal, fetch: send }: { signal: AbortSignal; fetch: typeof fetch }) {
  const response = await postForm('/token', { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: requireClientId() }, signal, send);
  if (!response.ok) throw await failure('refresh', response);
  return response.json();
}

/** Revokes the refresh token (and with it the grant's access tokens); gives up after `timeoutMs`. */
export async function revoke(token: string, timeoutMs: number): Promise<void> {
  const response = await postForm('/revoke', { token, token_type_hint: 'refresh_token', client_id: requireClientId() }, AbortSignal.timeout(timeoutMs));
  if (!response.ok) throw await failure('revocation', response);
}
