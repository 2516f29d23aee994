import { TokenVault, type TokenSet } from '../../../src/index.js';
import { indexedDbStorage } from '../../../adapters/indexeddb/index.js';
import { finishSignIn, refreshTokens, revoke, startSignIn } from './oauth.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const output = $('output');
const buttons = { signIn: $<HTMLButtonElement>('sign-in'), callApi: $<HTMLButtonElement>('call-api'), refresh: $<HTMLButtonElement>('refresh'), signOut: $<HTMLButtonElement>('sign-out') };

function show(value: unknown, isError = false): void {
  output.textContent = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  output.className = isError ? 'error' : '';
}

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
  });
  const refreshView = async () => renderStatus(await vault.get());
  // Other tabs' sign-ins, refreshes and sign-outs arrive here (a version, never a token).
  vault.onChange(() => void refreshView());

  const run = (action: () => Promise<unknown>) => async () => {
    try {
      await action();
    } catch (error) {
      show(error instanceof Error ? `${error.name}: ${error.message}` : String(error), true);
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
    const tokens = await vault.refresh();
    show(tokens ? { refreshed: true, expires: tokens.expiresAt && new Date(tokens.expiresAt).toISOString() } : 'could not refresh');
  });
  buttons.signOut.onclick = run(async () => {
    const tokens = await vault.get();
    if (tokens?.refreshToken) await revoke(tokens.refreshToken).catch(() => undefined);
    await vault.clear();
    show('signed out: tokens and keys removed in every tab');
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
