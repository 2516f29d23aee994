import { optionalInteger } from '../util/validate.js';

/** When and how often a {@link TokenVault} refreshes on its own. */
export interface BackgroundRefreshOptions {
  /** Refresh when the access token expires within this many ms; default 5 min. */
  windowMs?: number;
  /** How often to check, in ms; default 30 s, at least 10. */
  intervalMs?: number;
}

const MAX_MS = 24 * 3600 * 1000;

/**
 * A timer that refreshes ahead of expiry, so a user's next API call rarely
 * waits for the token endpoint. Each tick only *asks* for a refresh; the
 * vault's single flight (in the tab and across tabs) decides whether one
 * happens, so many tabs with timers still refresh once.
 */
export class BackgroundRefresh {
  readonly #windowMs: number;
  readonly #intervalMs: number;
  readonly #tick: (windowMs: number) => Promise<void>;
  readonly #onError: ((error: unknown) => void) | undefined;
  readonly #paused: () => boolean;
  #timer: ReturnType<typeof setInterval> | undefined;

  /**
   * @param settings validated here (`InvalidRequestError` naming `options.backgroundRefresh.*`).
   * @param tick refreshes if the token expires within `windowMs`.
   * @param paused skips a tick (a locked or closed vault).
   */
  constructor(
    settings: BackgroundRefreshOptions,
    tick: (windowMs: number) => Promise<void>,
    onError: ((error: unknown) => void) | undefined,
    paused: () => boolean,
  ) {
    this.#windowMs = optionalInteger('options.backgroundRefresh.windowMs', settings.windowMs, 0, MAX_MS) ?? 300_000;
    this.#intervalMs = optionalInteger('options.backgroundRefresh.intervalMs', settings.intervalMs, 10, MAX_MS) ?? 30_000;
    this.#tick = tick;
    this.#onError = onError;
    this.#paused = paused;
  }

  /** Starts the timer; a second call while running does nothing. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      if (this.#paused()) return;
      // Foreground calls throw their errors; a timer has no caller, so hand them over.
      this.#tick(this.#windowMs).catch((error: unknown) => this.#onError?.(error));
    }, this.#intervalMs);
  }

  /** Stops the timer (after `clear()`, until the next `save()`; for good after `close()`). */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
