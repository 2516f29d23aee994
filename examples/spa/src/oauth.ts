/** The few OAuth calls the demo SPA makes (a public client: no secret). */

const CLIENT_KEY = 'oauth-vault-demo/client';
const PENDING_KEY = 'oauth-vault-demo/pending';

export const redirectUri = (): string => `${location.origin}/`;

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const randomString = (): string => base64url(crypto.getRandomValues(new Uint8Array(32)));

async function postForm(path: string, params: Record<string, string>): Promise<Response> {
  return fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params) });
}

/** Registers this SPA once (RFC 7591) and remembers its client id (not a secret). */
export async function clientId(): Promise<string> {
  const known = localStorage.getItem(CLIENT_KEY);
  if (known) {
    const { clientId: id, redirect } = JSON.parse(known) as { clientId: string; redirect: string };
    if (redirect === redirectUri()) return id;
  }
  const response = await fetch('/register', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ client_name: 'oauth-vault demo SPA', redirect_uris: [redirectUri()], token_endpoint_auth_method: 'none', scope: 'profile email' }),
  });
  if (!response.ok) throw new Error(`registration failed: ${response.status} ${await response.text()}`);
  const { client_id } = (await response.json()) as { client_id: string };
  localStorage.setItem(CLIENT_KEY, JSON.stringify({ clientId: client_id, redirect: redirectUri() }));
  return client_id;
}

/** Starts the authorization code flow with PKCE (S256) and a state value. */
export async function startSignIn(): Promise<void> {
  const id = await clientId();
  const verifier = randomString();
  const state = randomString();
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  // The verifier lives only until the redirect comes back, in this tab's sessionStorage.
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ verifier, state }));
  const url = new URL('/authorize', location.origin);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: id,
    redirect_uri: redirectUri(),
    scope: 'profile',
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  location.assign(url);
}

/** Finishes the flow if this page load is the redirect back; returns the token response. */
export async function finishSignIn(): Promise<Record<string, unknown> | null> {
  const params = new URLSearchParams(location.search);
  if (!params.has('code') && !params.has('error')) return null;
  history.replaceState(null, '', location.pathname);
  const pending = sessionStorage.getItem(PENDING_KEY);
  sessionStorage.removeItem(PENDING_KEY);
  if (params.has('error')) throw new Error(`authorization failed: ${params.get('error')}`);
  if (!pending) throw new Error('no sign-in in progress in this tab');
  const { verifier, state } = JSON.parse(pending) as { verifier: string; state: string };
  if (params.get('state') !== state) throw new Error('state mismatch');
  if (params.get('iss') !== location.origin) throw new Error('issuer mismatch');
  const response = await postForm('/token', {
    grant_type: 'authorization_code',
    code: params.get('code')!,
    redirect_uri: redirectUri(),
    client_id: await clientId(),
    code_verifier: verifier,
  });
  if (!response.ok) throw new Error(`token exchange failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, unknown>;
}

/** The refresh function handed to TokenVault: one call per refresh, whatever the tab count. */
export async function refreshTokens(refreshToken: string, { signal }: { signal: AbortSignal }) {
  const response = await fetch('/token', {
    method: 'POST',
    signal,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: await clientId() }),
  });
  if (!response.ok) throw new Error(`refresh failed: ${response.status} ${await response.text()}`);
  return response.json();
}

/** Revokes the refresh token (and with it the grant's access tokens). */
export async function revoke(token: string): Promise<void> {
  await postForm('/revoke', { token, token_type_hint: 'refresh_token', client_id: await clientId() });
}
