/**
 * A small per-isolate cache whose entries live at most `ttlMs` (0: off) and
 * which holds at most `capacity` entries (the oldest go first). For reads
 * that may be a little stale by policy: client records on an eventually
 * consistent backend, and opt-in edge validation.
 */
export class TimedCache<T> {
  readonly #ttlMs: number;
  readonly #capacity: number;
  readonly #entries = new Map<string, { value: T; until: number }>();

  constructor(ttlMs: number, capacity: number) {
    this.#ttlMs = ttlMs;
    this.#capacity = capacity;
  }

  get enabled(): boolean {
    return this.#ttlMs > 0;
  }

  /** The value cached for `key` if still fresh at `now`. */
  get(key: string, now: number): T | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.until <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: T, now: number, ttlMs = this.#ttlMs): void {
    if (ttlMs <= 0) return;
    this.#entries.delete(key);
    if (this.#entries.size >= this.#capacity) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, { value, until: now + ttlMs });
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }
}
