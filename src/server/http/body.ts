import { OAuthHttpError } from './errors.js';

/** Largest request body any endpoint accepts, by default (64 KiB). */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

const tooLarge = () => new OAuthHttpError('invalid_request', 'request body too large');

/** The media type of a request, lowercased, without parameters. */
export function mediaType(request: Request): string {
  return (request.headers.get('Content-Type') ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * Reads the body as UTF-8 with a hard size cap, whatever Content-Length
 * claims. An oversized body is still read to its end and dropped (memory
 * stays bounded): answering while a chunked body is half read, or cancelling
 * its reader, leaves the connection unusable for the client's next request.
 * The platform bounds how much can arrive (Cloudflare: 100 MB per request).
 */
export async function readText(request: Request, maxBytes: number): Promise<string> {
  const declared = Number(request.headers.get('Content-Length') ?? '0');
  // Refused before reading: a body nobody started to read does not upset the connection.
  if (declared > maxBytes) throw tooLarge();
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size <= maxBytes) chunks.push(value);
  }
  if (size > maxBytes) throw tooLarge();
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(body);
  } catch {
    throw new OAuthHttpError('invalid_request', 'request body is not UTF-8');
  }
}

/** A JSON body (dynamic registration), size-capped. */
export async function readJson(request: Request, maxBytes: number): Promise<unknown> {
  if (mediaType(request) !== 'application/json') throw new OAuthHttpError('invalid_request', 'Content-Type must be application/json');
  const text = await readText(request, maxBytes);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new OAuthHttpError('invalid_request', 'body is not valid JSON');
  }
}
