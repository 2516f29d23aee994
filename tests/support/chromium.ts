import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { CHROMIUM_ARGS, systemChromiumPath } from './chromium-flags.js';

export { CHROMIUM_ARGS } from './chromium-flags.js';

/** Debian's Chromium when present; Playwright's own browser otherwise. */
export function launchChromium(): Promise<Browser> {
  const path = systemChromiumPath();
  return chromium.launch({ headless: true, args: [...CHROMIUM_ARGS], ...(path && { executablePath: path }) });
}

/** Chromium on a profile directory that outlives the browser (to copy it, as a thief would). */
export function launchWithProfile(userDataDir: string): Promise<BrowserContext> {
  const path = systemChromiumPath();
  return chromium.launchPersistentContext(userDataDir, { headless: true, args: [...CHROMIUM_ARGS], ...(path && { executablePath: path }) });
}
