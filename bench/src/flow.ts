import { OAuthStore, type StorageAdapter, type Keyring, type TokenResult } from '../../src/index.js';

/**
 * One OAuth cycle on an OAuthStore through its public API, as a bench sees it:
 * a public client with PKCE S256 (the SPA / MCP case), so no client secret.
 */
export const REDIRECT_URI = 'https://client.bench.test/callback';

export interface Pkce {
  verifier: string;
  challenge: string;
}

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** One verifier/challenge pair, reused for every code (each code is fresh anyway). */
export async function pkcePair(): Promise<Pkce> {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  return { verifier, challenge };
}

export interface Flow {
  store: OAuthStore;
  clientId: string;
  pkce: Pkce;
  authorize(userId?: string): Promise<string>;
  exchange(code: string): Promise<TokenResult>;
  refresh(refreshToken: string): Promise<TokenResult>;
}

export async function createFlow(keyring: Keyring, adapter: StorageAdapter, singleUseAdapter?: StorageAdapter): Promise<Flow> {
  const store = new OAuthStore({ keyring, adapter, ...(singleUseAdapter && { singleUseAdapter }) });
  const { client } = await store.registerClient({ type: 'public', redirectUris: [REDIRECT_URI], name: 'bench' });
  const pkce = await pkcePair();
  const clientId = client.clientId;
  return {
    store,
    clientId,
    pkce,
    async authorize(userId = 'bench-user') {
      const { code } = await store.createAuthorizationCode({
        clientId,
        userId,
        redirectUri: REDIRECT_URI,
        scope: ['read'],
        codeChallenge: pkce.challenge,
        codeChallengeMethod: 'S256',
      });
      return code;
    },
    exchange(code) {
      return store.exchangeAuthorizationCode({ code, clientId, redirectUri: REDIRECT_URI, codeVerifier: pkce.verifier });
    },
    refresh(refreshToken) {
      return store.refreshAccessToken({ refreshToken, clientId });
    },
  };
}
