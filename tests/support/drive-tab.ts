import type { BrowserContext, Page } from 'playwright-core';
import type { Tab } from './tab-page.js';

/** Opens the test page in a new tab of `context` and waits for `window.tab`. */
export async function openTabPage(context: BrowserContext, origin: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(origin);
  await page.waitForFunction(() => 'tab' in globalThis);
  return page;
}

/**
 * Runs `fn(window.tab, arg)` in the page. `fn` is sent as source text, so it
 * may use only its parameters (as with any `page.evaluate` function).
 */
export function tabCall<R, A>(page: Page, fn: (tab: Tab, arg: A) => R | Promise<R>, arg?: A): Promise<R> {
  return page.evaluate(
    ([source, value]) =>
      (new Function(`return (${source})`)() as (tab: Tab, arg: unknown) => unknown)((globalThis as unknown as { tab: Tab }).tab, value),
    [fn.toString(), arg] as const,
  ) as Promise<R>;
}
