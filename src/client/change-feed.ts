import { openChannel, type TabChannel, type TabMessage } from './tab-sync.js';

/** A change seen by {@link TokenVault.onChange}; carries no token. */
export interface TokenVaultChange {
  readonly kind: 'saved' | 'refreshed' | 'cleared';
  /** Storage version of the token record after the change; `null` after a clear. */
  readonly version: string | null;
  /** Whether the change was made in another tab. */
  readonly remote: boolean;
}

/**
 * The vault's change notifications: local listeners plus the
 * BroadcastChannel to the other tabs. Only `{ kind, version }` crosses tabs,
 * never a token; a tab that wants the tokens reads them from storage.
 */
export class ChangeFeed {
  readonly #listeners = new Set<(change: TokenVaultChange) => void>();
  readonly #onRemote: (message: TabMessage) => void;
  #channel: TabChannel | undefined;

  /** @param onRemote runs before listeners hear of another tab's change (e.g. to drop cleared keys). */
  constructor(channelName: string, onRemote: (message: TabMessage) => void) {
    this.#onRemote = onRemote;
    this.#channel = openChannel(channelName, (message) => {
      this.#onRemote(message);
      this.#emit({ ...message, remote: true });
    });
  }

  /** Tells the other tabs and this tab's listeners. */
  publish(message: TabMessage): void {
    this.#channel?.postMessage(message);
    this.#emit({ ...message, remote: false });
  }

  /** Adds a listener; returns the unsubscribe function. */
  subscribe(listener: (change: TokenVaultChange) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /** Leaves the channel and drops every listener. */
  close(): void {
    this.#channel?.close();
    this.#channel = undefined;
    this.#listeners.clear();
  }

  #emit(change: TokenVaultChange): void {
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
