/**
 * The test Worker (wrangler.toml `main`). It exports the Durable Object
 * classes its bindings name: the real `VaultDurableObject`, and a test-only
 * subclass whose racy method is the negative control for the object's
 * no-await-between-check-and-set rule.
 */
import { VaultDurableObject } from '../../adapters/durable-object/object.js';

export { VaultDurableObject };

/** NEVER do this: a check, a non-storage await, then the set. Test-only. */
export class RacyVaultDurableObject extends VaultDurableObject {
  async unsafeCreateWithAwaitBetweenCheckAndSet(key: string, value: Uint8Array<ArrayBuffer>, now: number): Promise<string | null> {
    const current = this.get(key, now);
    // A timer is not storage I/O: the input gate opens and other calls run here.
    await new Promise((resolve) => setTimeout(resolve, 1));
    return current === null ? this.put(key, value, null, now) : null;
  }
}

export default {
  fetch(): Response {
    return new Response('oauth-vault test worker');
  },
};
