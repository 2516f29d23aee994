/**
 * The test Worker (wrangler.toml `main`). It exports the Durable Object
 * classes its bindings name: the real `VaultDurableObject`, and a test-only
 * subclass whose racy method is the negative control for the object's
 * no-await-between-check-and-set rule.
 */
import { VaultDurableObject } from '../../adapters/cloudflare-durable-object/object.js';

export { VaultDurableObject };

/** NEVER do this: a check, a non-storage await, then the set. Test-only. */
export class RacyVaultDurableObject extends VaultDurableObject {
  #checked = 0;
  #allChecked: () => void = () => undefined;
  readonly #barrier = new Promise<void>((resolve) => (this.#allChecked = resolve));

  /**
   * Checks, then waits on something that is not storage until `contenders`
   * calls have checked (or 2 s passed), then sets. Waiting like this opens the
   * object's input gate, so the other calls run their check in between: with
   * a barrier rather than a short timer the interleaving does not depend on
   * how fast the machine is.
   */
  async unsafeCreateWithAwaitBetweenCheckAndSet(key: string, value: Uint8Array<ArrayBuffer>, now: number, contenders: number): Promise<string | null> {
    const current = this.get(key, now);
    if (++this.#checked >= contenders) this.#allChecked();
    await Promise.race([this.#barrier, new Promise((resolve) => setTimeout(resolve, 2000))]);
    return current === null ? this.put(key, value, null, now) : null;
  }
}

export default {
  fetch(): Response {
    return new Response('oauth-vault test worker');
  },
};
