/**
 * Which host names a Client ID Metadata Document may be fetched from. A
 * Worker cannot see what a name resolves to, so this refuses what it can
 * tell from the name alone: every IP literal (a client is named by a domain)
 * and the names that mean "this machine" or "this network". Names that
 * resolve to private addresses are stopped by the platform: on Cloudflare
 * set the `global_fetch_strictly_public` compatibility flag.
 */

const LOCAL_SUFFIXES = ['.localhost', '.local', '.internal', '.intranet', '.lan', '.home.arpa', '.localdomain'];

/** True when `hostname` (as `URL.hostname` gives it: lowercase, IPv6 in brackets) may be fetched. */
export function isPublicHostname(hostname: string): boolean {
  const host = hostname.replace(/\.$/, '');
  if (host === '' || host.startsWith('[')) return false; // IPv6 literal
  if (/^[\d.]+$/.test(host)) return false; // IPv4 literal (URL normalizes every numeric form to dotted decimal)
  if (!host.includes('.')) return false; // a single label: localhost, a machine on the local network
  if (host === 'localhost' || LOCAL_SUFFIXES.some((suffix) => host.endsWith(suffix))) return false;
  return /^[a-z0-9.-]+$/.test(host); // an ASCII (punycode) name, nothing else
}
