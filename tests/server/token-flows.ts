// Helpers for the JWT access token and DPoP tests of oauth-vault/server:
// DPoP proofs made with jose (any field can be made wrong on purpose), and
// the authorization code flow through the server's own HTTP endpoints.
// Web APIs only: runs in Node and workerd.
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { AuthorizationServer } from '../../src/server/index.js';
import { pkcePair } from '../oauth/oauth-store-helpers.js';
import { ISSUER, handleOf } from './test-app.js';

export const REDIRECT = 'https://client.example.test/cb';

export interface ProofKey {
  keyPair: CryptoKeyPair;
  jwk: JWK;
  jkt: string;
}

export async function proofKey(alg = 'ES256'): Promise<ProofKey> {
  const keyPair = (await generateKeyPair(alg, { extractable: false })) as CryptoKeyPair;
  const { kty, crv, x, y, n, e } = await exportJWK(keyPair.publicKey);
  const jwk = { kty, ...(crv && { crv, x, y }), ...(n && { n, e }) } as JWK;
  return { keyPair, jwk, jkt: await calculateJwkThumbprint(jwk, 'sha256') };
}

export async function ath(accessToken: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(accessToken)));
  let binary = '';
  for (const byte of digest) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export interface ProofFields {
  htm: string;
  htu: string;
  accessToken?: string;
  nonce?: string;
  /** Overrides, to make a proof wrong on purpose. */
  iat?: number;
  jti?: string;
  typ?: string;
  ath?: string;
  /** Another key's public JWK in the header (the signature then does not verify). */
  headerJwk?: JWK;
}

/** A DPoP proof (RFC 9449 §4.2) signed by `key`, with any field overridable. */
export async function proof(key: ProofKey, fields: ProofFields): Promise<string> {
  const claims: Record<string, unknown> = {
    htm: fields.htm,
    htu: fields.htu,
    jti: fields.jti ?? crypto.randomUUID(),
    iat: fields.iat ?? Math.floor(Date.now() / 1000),
    ...(fields.nonce !== undefined && { nonce: fields.nonce }),
    ...(fields.ath !== undefined ? { ath: fields.ath } : fields.accessToken !== undefined && { ath: await ath(fields.accessToken) }),
  };
  const alg = key.jwk.kty === 'RSA' ? 'RS256' : 'ES256';
  return new SignJWT(claims).setProtectedHeader({ typ: fields.typ ?? 'dpop+jwt', alg, jwk: fields.headerJwk ?? key.jwk }).sign(key.keyPair.privateKey);
}

const form = (fields: Record<string, string>) => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields),
});

/** An authorization code for `clientId`, approved by `user` through the consent page; with its PKCE verifier. */
export async function authorizationCode(server: AuthorizationServer, clientId: string, options: { scope: string; resource?: string; user?: string }) {
  const { verifier, challenge } = await pkcePair();
  const url = new URL(`${ISSUER}/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    scope: options.scope,
    state: 'xyz',
    ...(options.resource !== undefined && { resource: options.resource }),
  }).toString();
  const handle = await handleOf(await server.fetch(new Request(url)));
  const decision = await server.fetch(new Request(`${ISSUER}/consent`, form({ handle, user: options.user ?? 'alice' })));
  const code = new URL(decision.headers.get('Location')!).searchParams.get('code');
  if (!code) throw new Error(`no code (status ${decision.status})`);
  return { code, verifier };
}

/** POST /token with `fields` (and a DPoP proof header when given). */
export function tokenRequest(server: AuthorizationServer, fields: Record<string, string>, dpop?: string): Promise<Response> {
  const init = form(fields);
  return server.fetch(new Request(`${ISSUER}/token`, { ...init, headers: { ...init.headers, ...(dpop !== undefined && { DPoP: dpop }) } }));
}

export interface TokenAnswer {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token?: string;
  scope: string;
}

/**
 * The code flow for a public client, through the server: with `key`, each
 * token request carries a proof, and the nonce the server asks for is used
 * (RFC 9449 §8: one retry on `use_dpop_nonce`). Returns the tokens and the last nonce.
 */
export async function signIn(server: AuthorizationServer, clientId: string, options: { scope: string; resource?: string; key?: ProofKey; nonce?: string }) {
  const { code, verifier } = await authorizationCode(server, clientId, options);
  const fields = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: clientId, ...(options.resource !== undefined && { resource: options.resource }) };
  return tokenCall(server, fields, options.key, options.nonce);
}

/** A token request, with DPoP and one nonce retry when `key` is given. */
export async function tokenCall(server: AuthorizationServer, fields: Record<string, string>, key?: ProofKey, nonce?: string): Promise<{ response: Response; body: TokenAnswer; nonce: string | undefined }> {
  const htu = `${ISSUER}/token`;
  let response = await tokenRequest(server, fields, key && (await proof(key, { htm: 'POST', htu, ...(nonce !== undefined && { nonce }) })));
  let lastNonce = response.headers.get('DPoP-Nonce') ?? nonce;
  if (key && response.status === 400 && lastNonce !== undefined && ((await response.clone().json()) as { error: string }).error === 'use_dpop_nonce') {
    response = await tokenRequest(server, fields, await proof(key, { htm: 'POST', htu, nonce: lastNonce }));
    lastNonce = response.headers.get('DPoP-Nonce') ?? lastNonce;
  }
  return { response, body: (await response.clone().json()) as TokenAnswer, nonce: lastNonce };
}

/** A call to a protected route of the server: Bearer, or DPoP with a fresh proof. */
export async function callResource(server: AuthorizationServer, path: string, accessToken: string, key?: ProofKey, nonce?: string, fields: Partial<ProofFields> = {}): Promise<Response> {
  const url = `${ISSUER}${path}`;
  const headers: Record<string, string> = key
    ? { Authorization: `DPoP ${accessToken}`, DPoP: await proof(key, { htm: 'GET', htu: url, accessToken, ...(nonce !== undefined && { nonce }), ...fields }) }
    : { Authorization: `Bearer ${accessToken}` };
  return server.fetch(new Request(url, { headers }));
}
