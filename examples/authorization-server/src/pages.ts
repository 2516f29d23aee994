/** The demo's HTML: a sign-in and consent page, and an error page (the device pages are in device.ts). */
import type { PendingAuthorization } from '../../../src/server/index.js';

export const escape = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}label{display:block;margin:1rem 0 .3rem}input[type=text]{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}
button{padding:.5rem 1.2rem;font-size:1rem;margin:1rem .5rem 0 0;cursor:pointer}.scope{background:#f3f3f3;padding:.1rem .4rem;border-radius:4px}
.note{color:#666;font-size:.9rem}`;

/**
 * `formAction` lists where a form on the page may lead: the consent form posts
 * here and is answered with a redirect to the client, and Chromium checks
 * `form-action` on that redirect too, so the client's origin must be allowed.
 */
/** The demo's sign-in fields and decision buttons, shared by the consent and device pages. */
export const SIGN_IN_FIELDS = `<label for="user">Demo user name (any name; there are no passwords in this demo)</label>
<input type="text" id="user" name="user" required maxlength="64" autocomplete="username" autofocus>
<button type="submit" name="decision" value="approve">Sign in and allow</button>
<button type="submit" name="decision" value="deny" formnovalidate>Deny</button>`;

export function page(title: string, body: string, status = 200, formAction: string[] = []): Response {
  return new Response(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
      `<title>${escape(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`,
    {
      status,
      headers: {
        'Content-Type': 'text/html;charset=UTF-8',
        'Cache-Control': 'no-store',
        'X-Frame-Options': 'DENY',
        'Content-Security-Policy': `default-src 'none'; style-src 'unsafe-inline'; form-action ${["'self'", ...formAction].join(' ')}; frame-ancestors 'none'`,
        'Referrer-Policy': 'no-referrer',
      },
    },
  );
}

/** The sign-in and consent page for a request oauth-vault/server validated; the form posts back to /authorize. */
export function consentPage(authorization: PendingAuthorization): Response {
  const redirect = new URL(authorization.redirectUri);
  const { client } = authorization;
  // A metadata-document client is named by its URL: show where it comes from.
  const name = client.metadataDocument ? `${client.name ?? 'A client'} (from ${new URL(client.clientId).host})` : (client.name ?? client.clientId);
  const scopes = authorization.scope.length
    ? authorization.scope.map((s) => `<span class="scope">${escape(s)}</span>`).join(' ')
    : 'no particular scope';
  const audience = authorization.resources.length ? ` for ${authorization.resources.map((r) => `<span class="scope">${escape(r)}</span>`).join(' ')}` : '';
  return page(
    'Sign in',
    `<h1>Sign in to continue</h1>
<p><strong>${escape(name)}</strong> (redirecting to ${escape(redirect.host)}) asks for: ${scopes}${audience}.</p>
<form method="post" action="/authorize">
<input type="hidden" name="session" value="${escape(authorization.handle)}">
${SIGN_IN_FIELDS}
</form>
<p class="note">The code, tokens and your user name are stored only sealed (AES-256-GCM) or as HMAC lookup ids.</p>`,
    200,
    [redirect.origin],
  );
}

export function errorPage(message: string, status = 400): Response {
  return page('Authorization error', `<h1>Authorization error</h1><p>${escape(message)}</p>`, status);
}
