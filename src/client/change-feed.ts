import { openChannel, type TabChannel, type TabMessage } from './tab-sync.js';

/** A change of vault contents, here or in another tab; carries no token. */
export interface VaultChange<K extends string> {
  readonly kind: K;
  /** Storage version of the record after the change; `null` after a removal or a clear. */
  readonly version: string | null;
  /** Whether the change was made in another tab. */
  readonly remote: boolean;
}

/** A change seen by {@link TokenVault.onChange}; carries no token. */
export type TokenVaultChange = VaultChange<'saved' | 'refreshed' | 'cleared'>;

/**
 * The vault's change notifications: local listeners plus the
 * BroadcastChannel to the other tabs. Only `{ kind, version }` crosses tabs,
 * never a token; a tab that wants the tokens reads them from storage.
 */
export class ChangeFeed<K extends string = TokenVaultChange['kind']> {
  readonly #listeners = new Set<(change: VaultChange<K>) => void>();
  readonly #onRemote: (message: TabMessage<K>) => void;
  #channel: TabChannel | undefined;

  /** @param onRemote runs before listeners hear of another tab's change (e.g. to drop cleared keys). */
  constructor(channelName: string, kinds: readonly K[], onRemote: (message: TabMessage<K>) => void) {
    this.#onRemote = onRemote;
    this.#channel = openChannel(channelName, kinds, (message) => {
      this.#onRemote(message);
      this.#emit({ ...message, remote: true });
    });
  }

  /** Tells the other tabs and this tab's listeners. */
  publish(message: TabMessage<K>): void {
    this.#channel?.postMessage(message);
    this.#emit({ ...message, remote: false });
  }

  /** Adds a listener; returns the unsubscribe function. */
  subscribe(listener: (change: VaultChange<K>) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /** Leaves the channel and drops every listener. */
  close(): void {
    this.#channel?.close();
    this.#channel = undefined;
    this.#listeners.clear();
  }

  #emit(change: VaultChange<K>): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(change);
      } catch (error) {
        // A faulty listener must not break the vault or the other listeners; surface it asynchronously.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
