import { existsSync } from 'node:fs';

/**
 * Chromium launch settings shared by vitest's browser project
 * (vitest.config.ts) and the Playwright-driven tests (chromium.ts). No
 * Playwright import here: vitest.config.ts loads this file.
 */

/** Flags that keep Chromium quiet on a machine with no network but loopback. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

/** Debian's Chromium when present (CI installs it); `undefined` means use Playwright's own browser. */
export function systemChromiumPath(): string | undefined {
  return ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path));
}
