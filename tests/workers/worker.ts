/**
 * The test Worker (wrangler.toml `main`). It exports the Durable Object
 * classes its bindings name: the real `VaultDurableObject`, and a test-only
 * subclass whose racy method is the negative control for the object's
 * no-await-between-check-and-set rule.
 */
import { VaultDurableObject } from '../../adapters/cloudflare-durable-object/object.js';
import { decideBatch } from '../../src/storage/batch-plan.js';
import type { CheckedBatchOperation } from '../../src/storage/checks.js';
import type { BatchResult } from '../../src/storage/contract.js';

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

/**
 * NEVER do this: a group commit that decides each batch when it arrives,
 * against the state before the group, and applies them all later. Test-only:
 * the negative control of the group-commit race test.
 */
export class RacyGroupCommitObject extends VaultDurableObject {
  #pending: (() => void)[] = [];

  override batch(operations: CheckedBatchOperation[], now: number): Promise<BatchResult> {
    const read = (key: string) => this.get(key, now);
    const decision = decideBatch(operations, (key) => {
      const entry = read(key);
      return entry && { value: entry.value, version: entry.version };
    });
    return new Promise((resolve) => {
      this.#pending.push(() => {
        if (decision.ok) for (const operation of operations) if (operation.type === 'put') this.put(operation.key, operation.value, null, now);
        resolve(decision);
      });
      if (this.#pending.length === 1) {
        setTimeout(() => {
          for (const apply of this.#pending.splice(0)) apply();
        }, 0);
      }
    });
  }
}
