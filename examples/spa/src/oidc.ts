/**
 * The oidc-client-ts integration: an unchanged oidc-client-ts app whose user
 * and sign-in state live in oauth-vault's sealed store, with renewal once
 * across tabs (VaultUserManager).
 */
import { UserManager } from 'oidc-client-ts';
import { indexedDbStorage } from '../../../adapters/indexeddb/index.js';
import { VaultUserManager, vaultStateStore } from '../../../src/client/oidc-client-ts/index.js';
import { clientFor, fingerprint, latestOnly, onClick, renderStatus, show } from './sdk-page.js';

const NAME = 'oauth-vault-demo-oidc';

async function main(): Promise<void> {
  const storage = indexedDbStorage({ name: NAME });
  const userStore = vaultStateStore({ storage, name: NAME });
  const redirect = `${location.origin}/oidc.html`;
  // ?plain: oidc-client-ts's own UserManager on the same store (no cross-tab renewal lock), for comparison.
  const Manager = new URLSearchParams(location.search).has('plain') ? UserManager : VaultUserManager;
  const userManager = new Manager({
    authority: location.origin,
    metadataUrl: `${location.origin}/.well-known/oauth-authorization-server`,
    client_id: await clientFor('oidc.html'),
    redirect_uri: redirect,
    scope: 'profile',
    userStore,
    stateStore: vaultStateStore({ storage, name: NAME, namespace: 'oidc-state' }),
    revokeTokenTypes: ['refresh_token'],
  });
  const render = latestOnly(
    async (): Promise<Record<string, string>> => {
      const user = await userManager.getUser();
      return user
        ? { state: 'signed in', 'access token': await fingerprint(user.access_token), 'refresh token': await fingerprint(user.refresh_token), expires: new Date((user.expires_at ?? 0) * 1000).toLocaleTimeString() }
        : { state: 'signed out' };
    },
    renderStatus,
  );
  // Another tab signed in, renewed or signed out: VaultUserManager raises the events here.
  userManager.events.addUserLoaded(() => void render());
  userManager.events.addUserUnloaded(() => void render());

  onClick('sign-in', () => userManager.signinRedirect(), render);
  onClick('refresh', async () => show({ renewed: Boolean(await userManager.signinSilent()) }), render);
  onClick('call-api', async () => {
    const user = await userManager.getUser();
    if (!user) throw new Error('not signed in');
    const response = await fetch('/api/me', { headers: { Authorization: `Bearer ${user.access_token}` } });
    show({ status: response.status, body: await response.json() }, !response.ok);
  }, render);
  onClick('sign-out', async () => {
    await userManager.revokeTokens().catch(() => undefined); // the server may not answer; signing out here must not depend on it
    await userManager.removeUser();
    show('signed out in every tab');
  }, render);

  if (new URLSearchParams(location.search).has('code')) {
    await userManager.signinRedirectCallback();
    history.replaceState(null, '', redirect);
    show('signed in: the user is sealed in IndexedDB');
  }
  await render();
  // For the browser console and the tests.
  Object.assign(globalThis, { demo: { userManager, userStore } });
}

void main().catch((error: unknown) => show(String(error), true));
