import type { LockManagerLike } from '../../src/client/tab-sync.js';

/**
 * An in-process exclusive lock manager with the Web Locks semantics the vault
 * relies on (FIFO per name, a waiting request leaves the queue when its signal
 * aborts): lets Node tests put several vaults "in different tabs" behind one
 * lock. Chromium's real `navigator.locks` is tested in tests/node/token-vault-tabs.test.ts.
 */
export function exclusiveLocks(): LockManagerLike {
  const tails = new Map<string, Promise<void>>();
  return {
    request<T>(name: string, options: { signal?: AbortSignal }, callback: () => Promise<T>): Promise<T> {
      const previous = tails.get(name) ?? Promise.resolve();
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const tail = previous.then(() => held);
      tails.set(name, tail);
      return new Promise<T>((resolve, reject) => {
        let granted = false;
        const onAbort = (): void => {
          if (granted) return;
          reject(options.signal!.reason);
          release(); // leave the queue: whoever waits behind us goes on
        };
        options.signal?.addEventListener('abort', onAbort, { once: true });
        void previous.then(async () => {
          if (options.signal?.aborted) return;
          granted = true;
          options.signal?.removeEventListener('abort', onAbort);
          try {
            resolve(await callback());
          } catch (error) {
            reject(error);
          } finally {
            release();
            if (tails.get(name) === tail) tails.delete(name);
          }
        });
      });
    },
  };
}
