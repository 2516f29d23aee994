/**
 * The auth0-spa-js integration: an unchanged Auth0Client whose cache is
 * oauth-vault's sealed, cross-tab store. auth0-spa-js speaks Auth0's dialect
 * (`/oauth/token`, an RS256 ID token on every token response): against this
 * demo it needs the shim described in the README.
 */
import { Auth0Client } from '@auth0/auth0-spa-js';
import { indexedDbStorage } from '../../../adapters/indexeddb/index.js';
import { vaultCache } from '../../../src/client/auth0-spa-js/index.js';
import { clientFor, fingerprint, latestOnly, onClick, renderStatus, show } from './sdk-page.js';

const NAME = 'oauth-vault-demo-auth0';

async function main(): Promise<void> {
  const cache = vaultCache({ storage: indexedDbStorage({ name: NAME }), name: NAME });
  const redirect = `${location.origin}/auth0.html`;
  const auth0 = new Auth0Client({
    domain: location.origin,
    clientId: await clientFor('auth0.html'),
    cache,
    useRefreshTokens: true,
    useRefreshTokensFallback: false,
    authorizationParams: { redirect_uri: redirect, scope: 'profile' },
  });
  const render = latestOnly(async (): Promise<Record<string, string>> => {
    const signedIn = await auth0.isAuthenticated();
    const token = signedIn ? await auth0.getTokenSilently({ cacheMode: 'cache-only' }).catch(() => undefined) : undefined;
    return signedIn ? { state: 'signed in', 'access token': await fingerprint(token), user: (await auth0.getUser())?.sub ?? '' } : { state: 'signed out' };
  }, renderStatus);
  // Another tab signed in, refreshed or signed out: the shared cache says so.
  cache.onChange(({ remote }) => void (remote && render()));

  onClick('sign-in', () => auth0.loginWithRedirect(), render);
  onClick('refresh', async () => show({ refreshed: Boolean(await auth0.getTokenSilently({ cacheMode: 'off' })) }), render);
  onClick('call-api', async () => {
    const response = await fetch('/api/me', { headers: { Authorization: `Bearer ${await auth0.getTokenSilently()}` } });
    show({ status: response.status, body: await response.json() }, !response.ok);
  }, render);
  onClick('sign-out', async () => {
    await auth0.logout({ openUrl: false });
    show('signed out in every tab');
  }, render);

  if (new URLSearchParams(location.search).has('code')) {
    await auth0.handleRedirectCallback();
    history.replaceState(null, '', redirect);
    show('signed in: the cache is sealed in IndexedDB');
  }
  await render();
  // For the browser console and the tests.
  Object.assign(globalThis, { demo: { auth0, cache } });
}

void main().catch((error: unknown) => show(String(error), true));
