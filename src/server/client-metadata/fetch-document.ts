import type { ResolvedDocuments } from '../config.js';

/** A document that could not be used; `reason` is shown on the authorization error page (it holds nothing secret). */
export class DocumentError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'DocumentError';
  }
}

export interface FetchedDocument {
  body: unknown;
  /** How long it may be used, ms (from `Cache-Control`, within the configured bounds). */
  ttlMs: number;
}

/** Settles with `promise`, or rejects at `deadline` (epoch ms): an injected fetch may ignore the abort signal. */
function beforeDeadline<T>(promise: Promise<T>, deadline: number): Promise<T> {
  let reject: (error: DocumentError) => void = () => undefined;
  const late = new Promise<never>((_, fail) => (reject = fail));
  const timer = setTimeout(() => reject(new DocumentError('fetching it took too long')), Math.max(0, deadline - Date.now()));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** The lifetime a response asks for (`Cache-Control`), within [60 s, maxCacheMs]; `cacheMs` when it says nothing. */
function ttlOf(response: Response, options: ResolvedDocuments): number {
  const header = (response.headers.get('Cache-Control') ?? '').toLowerCase();
  let ttl = options.cacheMs;
  if (/\b(no-store|no-cache)\b/.test(header)) ttl = 0;
  const maxAge = /\bmax-age=(\d{1,9})\b/.exec(header);
  if (maxAge) ttl = Number(maxAge[1]) * 1000;
  return Math.min(Math.max(ttl, 60_000), options.maxCacheMs);
}

/**
 * Fetches a Client ID Metadata Document: GET, no redirect followed, status
 * 200, at most `maxBytes` (counted as it arrives, whatever Content-Length
 * says), headers and body within `timeoutMs`, a JSON body.
 *
 * @throws DocumentError naming what was wrong.
 */
export async function fetchDocument(url: string, options: ResolvedDocuments, env: unknown): Promise<FetchedDocument> {
  const deadline = Date.now() + options.timeoutMs;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs);
  try {
    let response: Response;
    try {
      response = await beforeDeadline(
        options.fetch(url, { method: 'GET', redirect: 'manual', signal: controller.signal, headers: { Accept: 'application/json' } }, env),
        deadline,
      );
    } catch (error) {
      if (error instanceof DocumentError) throw error;
      throw new DocumentError(controller.signal.aborted ? 'fetching it took too long' : 'it could not be fetched');
    }
    // `redirect: 'manual'` gives the 3xx itself (or, in browsers, an opaque redirect with status 0).
    if ((response.status >= 300 && response.status < 400) || (response.type as string) === 'opaqueredirect') {
      await response.body?.cancel().catch(() => undefined);
      throw new DocumentError('its URL answered with a redirect (redirects are not followed)');
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      throw new DocumentError(`its URL answered with status ${response.status}`);
    }
    const declared = Number(response.headers.get('Content-Length') ?? '0');
    if (declared > options.maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw new DocumentError(`it is larger than ${options.maxBytes} bytes`);
    }
    const text = await beforeDeadline(readCapped(response, options.maxBytes), deadline);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new DocumentError('it is not JSON');
    }
    return { body, ttlMs: ttlOf(response, options) };
  } finally {
    clearTimeout(timer);
  }
}

async function readCapped(response: Response, maxBytes: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        // Unlike a request body, nothing depends on reading the rest of a response: stop here.
        await reader.cancel().catch(() => undefined);
        throw new DocumentError(`it is larger than ${maxBytes} bytes`);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof DocumentError) throw error;
    throw new DocumentError('fetching it failed or took too long');
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new DocumentError('it is not UTF-8');
  }
}
