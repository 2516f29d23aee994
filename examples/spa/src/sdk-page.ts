/**
 * What the oidc-client-ts and auth0-spa-js demo pages share: registering a
 * public client for the page's own redirect URI, a token fingerprint, and a
 * small status view.
 */

/** Registers (once per origin and page) a public client whose redirect URI is this page; returns its id. */
export async function clientFor(page: string): Promise<string> {
  const redirect = `${location.origin}/${page}`;
  const key = `oauth-vault-demo/client/${page}`;
  const stored = JSON.parse(localStorage.getItem(key) ?? 'null') as { clientId: string; redirect: string } | null;
  if (stored?.redirect === redirect) return stored.clientId;
  const response = await fetch('/register', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ redirect_uris: [redirect], token_endpoint_auth_method: 'none', client_name: `oauth-vault demo (${page})` }),
  });
  if (!response.ok) throw new Error(`registration failed: ${response.status} ${await response.text()}`);
  const { client_id } = (await response.json()) as { client_id: string };
  localStorage.setItem(key, JSON.stringify({ clientId: client_id, redirect }));
  return client_id;
}

/** The first 6 bytes of SHA-256(token), hex: shows that a token changed, never the token. */
export async function fingerprint(token: string | undefined | null): Promise<string> {
  if (!token) return '—';
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token)));
  return Array.from(digest.subarray(0, 6), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

const $ = (id: string) => document.getElementById(id)!;

/** Shows the status rows (name → value) with `data-field` names for tests. */
export function renderStatus(rows: Record<string, string>): void {
  $('status').replaceChildren(
    ...Object.entries(rows).flatMap(([name, value]) => {
      const dt = document.createElement('dt');
      dt.textContent = name;
      const dd = document.createElement('dd');
      dd.textContent = value;
      dd.dataset.field = name.replace(/ /g, '-');
      return [dt, dd];
    }),
  );
}

/** Shows a result, or an error as an error. */
export function show(value: unknown, isError = false): void {
  const output = $('output');
  output.textContent = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  output.className = isError ? 'error' : '';
}

/** Wires a button to an action whose failure is shown as an error. */
export function onClick(id: string, action: () => Promise<unknown>, after: () => Promise<void>): void {
  ($(id) as HTMLButtonElement).onclick = async () => {
    try {
      await action();
    } catch (error) {
      show(error instanceof Error ? `${error.name}: ${error.message}` : String(error), true);
    }
    await after();
  };
}

/**
 * Wraps an async render so that only the latest call draws: renders triggered
 * by changes in other tabs overlap, and an older one finishing last would
 * otherwise show a state that is gone.
 */
export function latestOnly<T>(read: () => Promise<T>, draw: (value: T) => void): () => Promise<void> {
  let generation = 0;
  return async () => {
    const mine = ++generation;
    const value = await read();
    if (mine === generation) draw(value);
  };
}
