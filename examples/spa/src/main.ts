import { TokenVault, type TokenSet } from '../../../src/index.js';
import { indexedDbStorage } from '../../../adapters/indexeddb/index.js';
import { OAuthResponseError, finishSignIn, forgetClient, refreshTokens, revoke, startSignIn } from './oauth.js';

/** Sign-out does not wait longer than this for the server to confirm the revocation. */
const REVOKE_TIMEOUT_MS = 5000;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const output = $('output');
const buttons = { signIn: $<HTMLButtonElement>('sign-in'), callApi: $<HTMLButtonElement>('call-api'), refresh: $<HTMLButtonElement>('refresh'), signOut: $<HTMLButtonElement>('sign-out') };

function show(value: unknown, isError = false): void {
  output.textContent = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  output.className = isError ? 'error' : '';
}

const describe = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

function renderStatus(tokens: TokenSet | null): void {
  const rows: [string, string][] = tokens
    ? [
        ['state', 'signed in'],
        ['access token', `stored encrypted (AES-256-GCM, IndexedDB); ${tokens.accessToken.length} characters, never shown`],
        ['expires', tokens.expiresAt ? new Date(tokens.expiresAt).toLocaleTimeString() : 'unknown'],
        ['refresh token', tokens.refreshToken ? 'stored encrypted; rotated on every refresh' : 'none'],
        ['scope', tokens.scope ?? ''],
      ]
    : [['state', 'signed out']];
  const status = $('status');
  status.replaceChildren(
    ...rows.flatMap(([name, value]) => {
      const dt = document.createElement('dt');
      dt.textContent = name;
      const dd = document.createElement('dd');
      dd.textContent = value;
      dd.dataset.field = name.replace(/ /g, '-');
      return [dt, dd];
    }),
  );
  buttons.signIn.disabled = tokens !== null;
  buttons.callApi.disabled = buttons.refresh.disabled = buttons.signOut.disabled = tokens === null;
}

async function main(): Promise<void> {
  const vault = await TokenVault.open({
    storage: indexedDbStorage({ name: 'oauth-vault-demo' }),
    name: 'oauth-vault-demo',
    refresh: refreshTokens,
    backgroundRefresh: { windowMs: 5 * 60_000 },
    onBackgroundError: (error) => void report(error).then(refreshView),
  });
  const refreshView = async () => {
    try {
      renderStatus(await vault.get());
    } catch (error) {
      renderStatus(null);
      show(describe(error), true);
    }
  };
  // Other tabs' sign-ins, refreshes and sign-outs arrive here (a version, never a token).
  vault.onChange(() => void refreshView());

  /**
   * Shows a failure as one. An unknown client id is forgotten, so that the
   * next sign-in registers again; tokens whose refresh the server refused for
   * good (an unknown client after its state was wiped, a revoked grant) are
   * cleared.
   */
  const report = async (error: unknown) => {
    if (error instanceof OAuthResponseError && error.unknownClient) forgetClient();
    if (error instanceof OAuthResponseError && error.tokensDead) {
      await vault.clear();
      show(`${describe(error)}\nThe server no longer accepts these tokens: signed out here. Sign in again.`, true);
      return;
    }
    show(describe(error), true);
  };

  const run = (action: () => Promise<unknown>) => async () => {
    try {
      await action();
    } catch (error) {
      await report(error).catch((clearing: unknown) => show(describe(clearing), true));
    }
    await refreshView();
  };

  buttons.signIn.onclick = run(startSignIn);
  buttons.callApi.onclick = run(async () => {
    const token = await vault.getAccessToken();
    if (!token) throw new Error('not signed in');
    const response = await fetch('/api/me', { headers: { Authorization: `Bearer ${token}` } });
    show({ status: response.status, body: await response.json() }, !response.ok);
  });
  buttons.refresh.onclick = run(async () => {
    const before = await vault.get();
    const tokens = await vault.refresh();
    if (!tokens) throw new Error('not refreshed: there is no refresh token');
    // Only new tokens count as a refresh (another tab's newer ones do too).
    if (tokens.accessToken === before?.accessToken) throw new Error('not refreshed: the vault still holds the old tokens');
    show({ refreshed: true, expires: tokens.expiresAt && new Date(tokens.expiresAt).toISOString() });
  });
  buttons.signOut.onclick = run(async () => {
    // Local first: signing out here must not depend on the server answering.
    const tokens = await vault.get().catch(() => null);
    await vault.clear();
    const signedOut = 'signed out: tokens and keys removed in every tab';
    if (!tokens?.refreshToken) return show(signedOut);
    show(`${signedOut}; revoking the grant on the server…`);
    try {
      await revoke(tokens.refreshToken, REVOKE_TIMEOUT_MS);
      show(`${signedOut}; the grant is revoked on the server`);
    } catch (error) {
      if (error instanceof OAuthResponseError && error.unknownClient) forgetClient();
      show(`${signedOut}, but the server did not confirm the revocation: ${describe(error)}`, true);
    }
  });

  await run(async () => {
    const response = await finishSignIn();
    if (response) {
      await vault.save(response as Parameters<typeof vault.save>[0]);
      show('signed in: tokens saved in the vault');
    }
  })();
}

void main().catch((error: unknown) => show(String(error), true));
