import type { OAuthHttpError } from './errors.js';

/** Answers that carry a token, a code or client state are never cached (RFC 6749 §5.1). */
const NO_STORE: Record<string, string> = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

/** A JSON answer; `no-store` unless `headers` say otherwise (an empty value removes a default header). */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  const response = new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json;charset=UTF-8', ...NO_STORE, ...headers },
  });
  for (const [name, value] of Object.entries(headers)) if (value === '') response.headers.delete(name);
  return response;
}

/** Metadata documents: public and cacheable for a few minutes. */
export function cacheableJson(body: unknown): Response {
  return json(body, 200, { 'Cache-Control': 'public, max-age=300', Pragma: '' });
}

/** The RFC 6749 §5.2 error answer. */
export function errorResponse(error: OAuthHttpError): Response {
  return json({ error: error.error, error_description: error.description }, error.status, { ...error.headers });
}

/** A 302 to `uri` with `params` added to its query (RFC 6749 §4.1.2; values left undefined are skipped). */
export function redirect(uri: string, params: Record<string, string | undefined>): Response {
  const url = new URL(uri);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  return new Response(null, { status: 302, headers: { Location: url.toString(), ...NO_STORE } });
}

/** Escapes text for HTML. */
export const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The default page for an authorization request that cannot go back to the client (unknown client or redirect URI). */
export function defaultErrorPage(description: string, status: number): Response {
  return new Response(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
      `<title>Authorization error</title></head><body><h1>Authorization error</h1><p>${escapeHtml(description)}</p></body></html>`,
    {
      status,
      headers: {
        'Content-Type': 'text/html;charset=UTF-8',
        'Cache-Control': 'no-store',
        'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
        'X-Frame-Options': 'DENY',
        'Referrer-Policy': 'no-referrer',
      },
    },
  );
}

/** Adds headers to a response, copying it when its headers are immutable (a fetched or asset response). */
export function withHeaders(response: Response, headers: Record<string, string>): Response {
  try {
    for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
    return response;
  } catch {
    const copy = new Response(response.body, response);
    for (const [name, value] of Object.entries(headers)) copy.headers.set(name, value);
    return copy;
  }
}
