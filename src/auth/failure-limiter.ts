/**
 * Slows down key guessing without letting one bad client lock out everyone who shares its address (a NAT, a
 * proxy). Per client address, over a sliding window:
 *
 * - `maxFailures` checked failures (wrong or missing keys) put the address on a *soft* block: a key is then only
 *   checked if it already succeeded from this address within `trustMs` (a known key of someone behind that NAT);
 *   any other key gets 429 without being checked. A success never clears the failures, so a client holding an
 *   ordinary key cannot interleave it to guess admin keys at full speed.
 * - `maxDistinctKeys` different wrong keys (checked or refused) put it on a *hard* block: every key from the
 *   address gets 429, known ones too. A misconfigured client repeats one wrong key and never gets there; a guesser
 *   must vary them, and is then stopped for everyone at that address, which is the price of stopping it at all.
 *
 * So a guesser gets `maxFailures` checked guesses per window, plus at most `maxDistinctKeys - maxFailures` more
 * that can only match a key already known at its address. Keys are tracked by an 8-byte prefix of their SHA-256,
 * never in plaintext. Both maps are bounded (least recently used evicted first) and entries expire.
 */
export interface FailureLimiterOptions {
  /** Checked failures per window before only known keys are checked (default 10). */
  readonly maxFailures?: number;
  /** Different wrong keys per window before no key is checked at all (default 3 x maxFailures). */
  readonly maxDistinctKeys?: number;
  /** The sliding window (default 60 s). */
  readonly windowMs?: number;
  /** How long a key that succeeded from an address stays known there (default 24 h). */
  readonly trustMs?: number;
  /** Addresses tracked at most, in each map (default 10000). */
  readonly maxEntries?: number;
  /** Known keys remembered per address (default 16). */
  readonly maxKnownKeysPerClient?: number;
  readonly now?: () => number;
}

export type LimiterVerdict = { readonly check: true } | { readonly check: false; readonly retryAfterSeconds: number; readonly hard: boolean };

interface FailureEntry {
  /** Times of the latest checked failures, oldest first, at most maxFailures of them. */
  readonly failures: number[];
  /** Wrong key id → last time it was presented. */
  readonly wrongKeys: Map<string, number>;
}

/** The id under which a presented key is counted: `none` for a missing key. */
export const MISSING_KEY = 'none';

export class FailureLimiter {
  readonly maxFailures: number;
  readonly maxDistinctKeys: number;
  readonly windowMs: number;
  readonly trustMs: number;
  readonly maxEntries: number;
  readonly maxKnownKeysPerClient: number;
  private readonly now: () => number;
  private readonly failed = new Map<string, FailureEntry>();
  private readonly known = new Map<string, Map<string, number>>();

  constructor(options: FailureLimiterOptions = {}) {
    this.maxFailures = options.maxFailures ?? 10;
    this.maxDistinctKeys = Math.max(this.maxFailures, options.maxDistinctKeys ?? 3 * this.maxFailures);
    this.windowMs = options.windowMs ?? 60_000;
    this.trustMs = options.trustMs ?? 24 * 3600_000;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.maxKnownKeysPerClient = options.maxKnownKeysPerClient ?? 16;
    this.now = options.now ?? Date.now;
  }

  /** May `keyId` be checked for `client` now? When not, for how long and whether every key is refused. */
  verdict(client: string, keyId: string): LimiterVerdict {
    const hard = this.hardRetryAfterSeconds(client);
    if (hard > 0) return { check: false, retryAfterSeconds: hard, hard: true };
    const entry = this.current(client);
    if (!entry || entry.failures.length < this.maxFailures || this.isKnown(client, keyId)) return { check: true };
    return { check: false, retryAfterSeconds: this.secondsUntil(entry.failures[entry.failures.length - this.maxFailures]), hard: false };
  }

  /** Seconds until `client` is off a hard block (every key refused), 0 when it is not on one. */
  hardRetryAfterSeconds(client: string): number {
    const entry = this.current(client);
    if (!entry || entry.wrongKeys.size < this.maxDistinctKeys) return 0;
    const times = [...entry.wrongKeys.values()].sort((a, b) => a - b);
    return this.secondsUntil(times[times.length - this.maxDistinctKeys]);
  }

  /** A key was checked and was wrong (or missing, or not an admin key where one is needed). */
  recordFailure(client: string, keyId: string): void {
    const entry = this.entryFor(client);
    entry.failures.push(this.now());
    if (entry.failures.length > this.maxFailures) entry.failures.shift();
    this.noteWrongKey(entry, keyId);
  }

  /** A key was refused without being checked (429): it still counts as one more key tried, unless it is known. */
  recordRefusal(client: string, keyId: string): void {
    if (this.isKnown(client, keyId)) return;
    this.noteWrongKey(this.entryFor(client), keyId);
  }

  /** A key was accepted: it becomes known at this address. Failures are not cleared. */
  recordSuccess(client: string, keyId: string): void {
    const keys = this.known.get(client) ?? new Map<string, number>();
    keys.delete(keyId);
    keys.set(keyId, this.now());
    while (keys.size > this.maxKnownKeysPerClient) keys.delete(keys.keys().next().value!);
    this.known.delete(client);
    this.known.set(client, keys);
    this.bound(this.known, (k) => [...k.values()].some((t) => this.now() - t < this.trustMs));
  }

  /** Addresses with failures tracked / with known keys (bounds, tests). */
  get size(): number {
    return this.failed.size;
  }

  get knownSize(): number {
    return this.known.size;
  }

  private isKnown(client: string, keyId: string): boolean {
    const at = this.known.get(client)?.get(keyId);
    return at !== undefined && this.now() - at < this.trustMs;
  }

  private noteWrongKey(entry: FailureEntry, keyId: string): void {
    entry.wrongKeys.delete(keyId);
    entry.wrongKeys.set(keyId, this.now());
    // Beyond the hard limit the oldest ids add nothing: the address is blocked until the newest ones expire.
    while (entry.wrongKeys.size > this.maxDistinctKeys) entry.wrongKeys.delete(entry.wrongKeys.keys().next().value!);
  }

  private secondsUntil(time: number | undefined): number {
    if (time === undefined) return 1;
    return Math.max(1, Math.ceil((time + this.windowMs - this.now()) / 1000));
  }

  /** The client's failure entry with everything older than the window dropped; undefined when nothing is left. */
  private current(client: string): FailureEntry | undefined {
    const entry = this.failed.get(client);
    if (!entry) return undefined;
    const since = this.now() - this.windowMs;
    while (entry.failures.length > 0 && entry.failures[0] <= since) entry.failures.shift();
    for (const [id, at] of entry.wrongKeys) {
      if (at <= since) entry.wrongKeys.delete(id);
      else break; // in time order: the first live one ends the expired prefix
    }
    if (entry.failures.length === 0 && entry.wrongKeys.size === 0) {
      this.failed.delete(client);
      return undefined;
    }
    return entry;
  }

  private entryFor(client: string): FailureEntry {
    const entry = this.current(client) ?? { failures: [], wrongKeys: new Map<string, number>() };
    // Most recently used last, so eviction takes the least recently used first.
    this.failed.delete(client);
    this.failed.set(client, entry);
    this.bound(this.failed, (e) => e.failures.some((t) => this.now() - t < this.windowMs) || [...e.wrongKeys.values()].some((t) => this.now() - t < this.windowMs));
    return entry;
  }

  /** Keep `map` within maxEntries: expired entries first (from the least recently used end), then the oldest. */
  private bound<V>(map: Map<string, V>, alive: (value: V) => boolean): void {
    if (map.size <= this.maxEntries) return;
    for (const [client, value] of map) {
      if (map.size <= this.maxEntries) return;
      if (!alive(value)) map.delete(client);
      else break;
    }
    while (map.size > this.maxEntries) map.delete(map.keys().next().value!);
  }
}
