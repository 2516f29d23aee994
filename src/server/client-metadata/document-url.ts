import { isPublicHostname } from './hosts.js';

/** Longest client id the store keeps: a metadata document URL must fit. */
const MAX_CLIENT_ID = 256;

/** Whether a client id claims to be a Client ID Metadata Document URL (then it is resolved as one, or refused). */
export function looksLikeDocumentUrl(clientId: string): boolean {
  return /^https:\/\//i.test(clientId);
}

/**
 * The path of the raw string, before URL parsing: WHATWG parsing removes
 * `.` and `..` segments, which the draft (§3) requires refusing, not fixing.
 */
function rawPath(text: string): string {
  const rest = text.slice(text.indexOf('://') + 3);
  const start = rest.search(/[/?#]/);
  if (start < 0 || rest[start] !== '/') return '';
  const end = rest.slice(start).search(/[?#]/);
  return end < 0 ? rest.slice(start) : rest.slice(start, start + end);
}

/**
 * Why `clientId` is not a usable Client ID Metadata Document URL, or null
 * when it is (draft-ietf-oauth-client-id-metadata-document §3): an https URL
 * with a path, no userinfo, no fragment, no dot segments, on a public host
 * name, short enough to be a client id.
 */
export function documentUrlProblem(clientId: string): string | null {
  if (clientId.length > MAX_CLIENT_ID) return `it is longer than ${MAX_CLIENT_ID} characters`;
  if (/[\x00-\x20\x7f-\uffff\\]/.test(clientId)) return 'it contains whitespace, control, non-ASCII or backslash characters';
  let url: URL;
  try {
    url = new URL(clientId);
  } catch {
    return 'it is not a URL';
  }
  if (url.protocol !== 'https:') return 'it is not an https URL';
  if (url.username !== '' || url.password !== '') return 'it contains credentials';
  if (clientId.includes('#')) return 'it contains a fragment';
  const path = rawPath(clientId);
  if (path === '' || path === '/') return 'it has no path';
  for (const segment of path.split('/')) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return 'its path has invalid percent-encoding';
    }
    if (decoded === '.' || decoded === '..') return 'its path has a dot segment';
  }
  if (!isPublicHostname(url.hostname)) return 'its host is not a public domain name';
  return null;
}
