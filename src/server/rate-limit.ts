/**
 * A fixed-window counter per caller, kept in this isolate's memory: cheap
 * and good against a single noisy caller, not a global quota (each Workers
 * isolate counts for itself, and a restart forgets). At most `maxKeys`
 * callers are tracked; the oldest window is dropped first.
 */
export class RateLimiter {
  readonly #windows = new Map<string, { start: number; count: number }>();

  constructor(
    readonly max: number,
    readonly windowMs: number,
    readonly maxKeys = 10_000,
  ) {}

  /** Counts one call by `key` at `now`: null when allowed, else the seconds until the window ends. */
  take(key: string, now: number): number | null {
    let window = this.#windows.get(key);
    if (window === undefined || now - window.start >= this.windowMs) {
      this.#windows.delete(key);
      window = { start: now, count: 0 };
      this.#windows.set(key, window);
      // Map keeps insertion order: the first key holds the oldest window.
      while (this.#windows.size > this.maxKeys) this.#windows.delete(this.#windows.keys().next().value!);
    }
    if (window.count >= this.max) return Math.max(1, Math.ceil((window.start + this.windowMs - now) / 1000));
    window.count++;
    return null;
  }
}
