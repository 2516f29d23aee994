import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

/** Flags that keep Chromium quiet on a machine with no network but loopback (same as vitest.config.ts). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

const executablePath = (): string | undefined => ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) => existsSync(path));

/** Debian's Chromium when present; Playwright's own browser otherwise. */
export function launchChromium(): Promise<Browser> {
  const path = executablePath();
  return chromium.launch({ headless: true, args: CHROMIUM_ARGS, ...(path && { executablePath: path }) });
}

/** Chromium on a profile directory that outlives the browser (to copy it, as a thief would). */
export function launchWithProfile(userDataDir: string): Promise<BrowserContext> {
  const path = executablePath();
  return chromium.launchPersistentContext(userDataDir, { headless: true, args: CHROMIUM_ARGS, ...(path && { executablePath: path }) });
}
