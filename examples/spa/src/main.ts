import { TokenVault, type TokenSet } from '../../../src/index.js';
import { dpop } from '../../../src/client/dpop/index.js';
import { indexedDbStorage } from '../../../adapters/indexeddb/index.js';
import { OAuthResponseError, finishSignIn, forgetClient, refreshTokens, revoke, startSignIn } from './oauth.js';
import { readStored, renderStored } from './stored-panel.js';
import { Timeline } from './timeline.js';

/** Sign-out does not wait longer than this for the server to confirm the revocation. */
const REVOKE_TIMEOUT_MS = 5000;
const DATABASE = 'oauth-vault-demo';
const DPOP_KEY = 'oauth-vault-demo/dpop';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const output = $('output');
const buttons = { signIn: $<HTMLButtonElement>('sign-in'), callApi: $<HTMLButtonElement>('call-api'), refresh: $<HTMLButtonElement>('refresh'), signOut: $<HTMLButtonElement>('sign-out') };
const timeline = new Timeline($('timeline'));
$('tab-name').textContent = timeline.tab;

function show(value: unknown, isError = false): void {
  output.textContent = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  output.className = isError ? 'error' : '';
}

const describe = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

/** First 6 bytes of SHA-256 over both tokens, hex: it changes on every rotation and reveals nothing. */
async function fingerprint(tokens: TokenSet): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`${tokens.refreshToken ?? ''}\n${tokens.accessToken}`)));
  return Array.from(digest.subarray(0, 6), (byte) => byte.toString(16).padStart(2, '0')).join(' ');
}

let shownFingerprint: string | undefined;

function renderStatus(tokens: TokenSet | null, print: string): void {
  const rows: [string, string][] = tokens
    ? [
        ['state', 'signed in'],
        ['token type', tokens.tokenType],
        ['expires', tokens.expiresAt ? new Date(tokens.expiresAt).toLocaleTimeString() : 'unknown'],
        ['refresh token', tokens.refreshToken ? 'stored encrypted; rotated on every refresh' : 'none'],
        ['scope', tokens.scope ?? ''],
      ]
    : [['state', 'signed out']];
  $('status').replaceChildren(
    ...rows.flatMap(([name, value]) => {
      const dt = document.createElement('dt');
      dt.textContent = name;
      const dd = document.createElement('dd');
      dd.textContent = value;
      dd.dataset.field = name.replace(/ /g, '-');
      return [dt, dd];
    }),
  );
  const element = $('fingerprint');
  element.className = `fingerprint${shownFingerprint !== undefined && print !== shownFingerprint && tokens ? ' changed' : ''}`;
  element.textContent = print;
  shownFingerprint = print;
  buttons.signIn.disabled = tokens !== null;
  buttons.callApi.disabled = buttons.refresh.disabled = buttons.signOut.disabled = tokens === null;
  $<HTMLInputElement>('dpop').disabled = tokens !== null || !dpopOffered;
}

/** DPoP is offered when the server's metadata says it verifies proofs (RFC 9449 §5.1). */
let dpopOffered = false;

async function main(): Promise<void> {
  const metadata = (await (await fetch('/.well-known/oauth-authorization-server')).json().catch(() => ({}))) as { dpop_signing_alg_values_supported?: string[] };
  dpopOffered = metadata.dpop_signing_alg_values_supported?.includes('ES256') ?? false;
  const useDpop = dpopOffered && localStorage.getItem(DPOP_KEY) === 'on';
  const toggle = $<HTMLInputElement>('dpop');
  toggle.checked = useDpop;
  $('dpop-note').textContent = dpopOffered
    ? 'takes effect at the next sign-in'
    : 'off: this demo server does not accept DPoP proofs yet (no dpop_signing_alg_values_supported in its metadata)';
  toggle.onchange = () => {
    localStorage.setItem(DPOP_KEY, toggle.checked ? 'on' : 'off');
    location.reload();
  };

  const vault = await TokenVault.open({
    storage: indexedDbStorage({ name: DATABASE }),
    name: DATABASE,
    refresh: refreshTokens,
    ...(useDpop && { dpop: dpop() }),
    backgroundRefresh: { windowMs: 5 * 60_000 },
    onBackgroundError: (error) => void report(error).then(refreshView),
  });
  // Only the latest view is drawn: views refreshed for other tabs' changes overlap.
  let generation = 0;
  const refreshView = async () => {
    const mine = ++generation;
    try {
      const tokens = await vault.get();
      const print = tokens ? await fingerprint(tokens) : '—';
      if (mine === generation) renderStatus(tokens, print);
    } catch (error) {
      if (mine === generation) renderStatus(null, '—');
      show(describe(error), true);
    }
  };
  // Other tabs' sign-ins, refreshes and sign-outs arrive here (a version, never a token); the timeline says which tab.
  vault.onChange(({ remote }) => void (remote && refreshView()));

  const readStorage = async () => {
    const tokens = await vault.get().catch(() => null);
    renderStored($('stored'), await readStored(DATABASE, tokens ? [tokens.accessToken, tokens.refreshToken ?? tokens.accessToken] : []));
  };
  $<HTMLButtonElement>('reload-stored').onclick = () => void readStorage().catch((error: unknown) => show(describe(error), true));

  /**
   * Shows a failure as one. An unknown client id is forgotten, so that the
   * next sign-in registers again; tokens whose refresh the server refused for
   * good (an unknown client after its state was wiped, a revoked grant) are
   * cleared.
   */
  const report = async (error: unknown) => {
    timeline.add(`failed: ${describe(error)}`, true);
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

  buttons.signIn.onclick = run(async () => startSignIn(await vault.dpopThumbprint()));
  buttons.callApi.onclick = run(async () => {
    // vault.fetch attaches the token (Bearer or DPoP), refreshes once on 401 invalid_token and retries once.
    const response = await vault.fetch('/api/me');
    show({ status: response.status, body: await response.json() }, !response.ok);
    timeline.add(`called /api/me: ${response.status}`, !response.ok);
  });
  buttons.refresh.onclick = run(async () => {
    const before = await vault.get();
    const tokens = await vault.refresh();
    if (!tokens) throw new Error('not refreshed: there is no refresh token');
    // Only new tokens count as a refresh (another tab's newer ones do too).
    if (tokens.accessToken === before?.accessToken) throw new Error('not refreshed: the vault still holds the old tokens');
    show({ refreshed: true, expires: tokens.expiresAt && new Date(tokens.expiresAt).toISOString() });
    timeline.add('refreshed the tokens (the refresh token rotated)');
  });
  buttons.signOut.onclick = run(async () => {
    // Local first: signing out here must not depend on the server answering.
    const tokens = await vault.get().catch(() => null);
    await vault.clear();
    timeline.add('signed out: tokens and keys removed in every tab');
    const signedOut = 'signed out: tokens and keys removed in every tab';
    if (!tokens?.refreshToken) return show(signedOut);
    show(`${signedOut}; revoking the grant on the server…`);
    try {
      await revoke(tokens.refreshToken, REVOKE_TIMEOUT_MS);
      show(`${signedOut}; the grant is revoked on the server`);
    } catch (error) {
      if (error instanceof OAuthResponseError && error.unknownClient) forgetClient();
      show(`${signedOut}, but the server did not confirm the revocation: ${describe(error)}`, true);
      timeline.add(`revocation not confirmed: ${describe(error)}`, true);
    }
  });

  await run(async () => {
    const response = await finishSignIn((input, init) => vault.dpopFetch(input, init));
    if (response) {
      const tokens = await vault.save(response as Parameters<typeof vault.save>[0]);
      show('signed in: tokens saved in the vault');
      timeline.add(`signed in (${tokens.tokenType} tokens)`);
    }
  })();
}

void main().catch((error: unknown) => show(String(error), true));
