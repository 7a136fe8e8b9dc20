/**
 * Slows down key guessing: after `maxFailures` wrong or missing keys from one client address within `windowMs`,
 * that address gets 429 until the window ends. The map is bounded (oldest entry evicted first) so a flood of
 * addresses cannot grow memory, and entries expire.
 */
export interface FailureLimiterOptions {
  readonly maxFailures?: number;
  readonly windowMs?: number;
  readonly maxEntries?: number;
  readonly now?: () => number;
}

interface Entry {
  count: number;
  readonly since: number;
}

export class FailureLimiter {
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly maxEntries: number;
  private readonly now: () => number;
  private readonly entries = new Map<string, Entry>();

  constructor(options: FailureLimiterOptions = {}) {
    this.maxFailures = options.maxFailures ?? 10;
    this.windowMs = options.windowMs ?? 60_000;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** Seconds until `client` may try again, or 0 when it is not blocked. */
  retryAfterSeconds(client: string): number {
    const entry = this.current(client);
    if (!entry || entry.count < this.maxFailures) return 0;
    return Math.max(1, Math.ceil((entry.since + this.windowMs - this.now()) / 1000));
  }

  recordFailure(client: string): void {
    const entry = this.current(client);
    if (entry) {
      entry.count += 1;
      return;
    }
    if (this.entries.size >= this.maxEntries) this.evict();
    this.entries.set(client, { count: 1, since: this.now() });
  }

  recordSuccess(client: string): void {
    this.entries.delete(client);
  }

  get size(): number {
    return this.entries.size;
  }

  private current(client: string): Entry | undefined {
    const entry = this.entries.get(client);
    if (entry && this.now() - entry.since >= this.windowMs) {
      this.entries.delete(client);
      return undefined;
    }
    return entry;
  }

  /**
   * Drop expired entries, then the oldest if still full. Entries are inserted in time order and never moved, so
   * the expired ones are a prefix of the Map's order and the loop stops at the first live one.
   */
  private evict(): void {
    const now = this.now();
    for (const [client, entry] of this.entries) {
      if (now - entry.since < this.windowMs) break;
      this.entries.delete(client);
    }
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }
}
