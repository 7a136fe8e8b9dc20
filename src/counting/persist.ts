/**
 * A camera's counts kept across restarts: the day's entries, exits, dwell and crossings of each zone and line, in
 * `<state dir>/counts/<camera>.json`, written atomically (a temporary file renamed over it) when they changed, at
 * most every `intervalMs`, and once more at stop. Read at start: counts of an earlier counting day (a reset time
 * has passed since their `since`) are left behind, so a restart never carries yesterday into today; a file that
 * cannot be read or parsed is moved aside (`.bad`, for a look) with a warning, and counting starts at 0. Without
 * it a daemon restart (an update, a power cut) zeroed a shop's visitor count in the middle of the day.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CountsSnapshot, SavedCounts } from './counter.ts';
import { nextResetAfter } from './reset.ts';

const VERSION = 1;

/** Where a camera's counts live under the state directory (camera ids are [a-z0-9_-], safe as file names). */
export function countsPath(stateDir: string, camera: string): string {
  return join(stateDir, 'counts', `${camera}.json`);
}

/** The totals of a snapshot, by name. */
export function savedFrom(counts: CountsSnapshot): SavedCounts {
  return {
    since: counts.since,
    zones: Object.fromEntries(counts.zones.map((z) => [z.name, { entered: z.entered, exited: z.exited, dwellMs: z.dwellMs }])),
    lines: Object.fromEntries(counts.lines.map((l) => [l.name, { in: l.in, out: l.out }])),
  };
}

export type SavedRead =
  | { readonly state: 'restored' | 'stale'; readonly counts: SavedCounts }
  | { readonly state: 'none' }
  | { readonly state: 'bad'; readonly reason: string; readonly movedTo: string };

/**
 * The zones and lines a saved file counted that the camera no longer has (removed or renamed): their retained
 * counters stay on an external broker, and in Home Assistant, until cleared.
 */
export function retiredCounters(saved: SavedCounts, zones: readonly string[], lines: readonly string[]): { zones: string[]; lines: string[] } {
  return { zones: Object.keys(saved.zones).filter((z) => !zones.includes(z)), lines: Object.keys(saved.lines).filter((l) => !lines.includes(l)) };
}

/**
 * The counts saved at `path`, if they belong to the counting day of `now` (no reset at `resetAt` between their
 * `since` and `now`). A file that is not what this module writes is moved to `<path>.bad`.
 */
export function readSavedCounts(path: string, now: number, resetAt: string): SavedRead {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'none' };
    return moveAside(path, `cannot be read: ${(error as Error).message}`);
  }
  let counts: SavedCounts;
  try {
    counts = parseSaved(JSON.parse(text) as unknown);
  } catch (error) {
    return moveAside(path, (error as Error).message);
  }
  if (counts.since > now || nextResetAfter(counts.since, resetAt) <= now) return { state: 'stale', counts };
  return { state: 'restored', counts };
}

/** Saves a camera's counts when they changed, at most every `intervalMs`, and on `flush()`. */
export class CountsStore {
  private readonly path: string;
  private readonly intervalMs: number;
  private pending: SavedCounts | undefined;
  private lastJson: string | undefined;
  private lastWrite = -Infinity;

  constructor(path: string, intervalMs = 5000) {
    this.path = path;
    this.intervalMs = intervalMs;
  }

  /** The counts after a frame (`now`: wall clock ms). Throws what writing throws (the caller logs it). */
  offer(counts: CountsSnapshot | undefined, now: number): void {
    if (!counts) return;
    this.pending = savedFrom(counts);
    if (now - this.lastWrite >= this.intervalMs) this.write(now);
  }

  /** Writes what has not been written yet (the daemon stops). */
  flush(now = Date.now()): void {
    if (this.pending) this.write(now);
  }

  private write(now: number): void {
    const saved = this.pending!;
    this.pending = undefined;
    const json = JSON.stringify({ version: VERSION, ...saved });
    if (json === this.lastJson) return;
    mkdirSync(dirname(this.path), { recursive: true });
    const temporary = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temporary, json + '\n');
    renameSync(temporary, this.path);
    this.lastJson = json;
    this.lastWrite = now;
  }
}

function moveAside(path: string, reason: string): SavedRead {
  const movedTo = `${path}.bad`;
  try {
    renameSync(path, movedTo);
  } catch {
    // Cannot move it: it stays, and the next save replaces it.
  }
  return { state: 'bad', reason, movedTo };
}

function parseSaved(value: unknown): SavedCounts {
  const object = (v: unknown, what: string): Record<string, unknown> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${what} is not an object`);
    return v as Record<string, unknown>;
  };
  const count = (v: unknown, what: string): number => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`${what} is not a count (got ${JSON.stringify(v)})`);
    return v;
  };
  const root = object(value, 'the file');
  if (root.version !== VERSION) throw new Error(`version ${JSON.stringify(root.version)} is not ${VERSION}`);
  const since = count(root.since, 'since');
  const zones = Object.fromEntries(
    Object.entries(object(root.zones, 'zones')).map(([name, z]) => {
      const o = object(z, `zone ${name}`);
      return [name, { entered: count(o.entered, `zone ${name} entered`), exited: count(o.exited, `zone ${name} exited`), dwellMs: count(o.dwellMs, `zone ${name} dwellMs`) }];
    }),
  );
  const lines = Object.fromEntries(
    Object.entries(object(root.lines, 'lines')).map(([name, l]) => {
      const o = object(l, `line ${name}`);
      return [name, { in: count(o.in, `line ${name} in`), out: count(o.out, `line ${name} out`) }];
    }),
  );
  return { since, zones, lines };
}
