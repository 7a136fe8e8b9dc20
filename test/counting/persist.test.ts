/**
 * Counts kept across restarts (src/counting/persist.ts) on real files in a temp directory: a round trip through
 * the object tracking's counter, throttled atomic writes, yesterday's counts left behind at the reset time, and a
 * broken file moved aside.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ObjectTracking } from '../../src/analysis/object-tracking.ts';
import { DEFAULT_COUNTING } from '../../src/counting/counter.ts';
import { countsPath, CountsStore, readSavedCounts, type SavedRead } from '../../src/counting/persist.ts';
import type { Detection } from '../../src/detect/types.ts';
import { TrackIds } from '../../src/tracking/tracker.ts';

const W = 800;
const H = 400;
const T0 = new Date(2026, 5, 10, 12, 0, 0).getTime();
const LINE = { name: 'door', a: [0.5, 1], b: [0.5, 0], in: 'left_to_right' } as const;
const ZONE = { name: 'desk', points: [[0.6, 0.5], [0.9, 0.5], [0.9, 0.95], [0.6, 0.95]] } as const;
const person = (fx: number): Detection => ({ label: 'person', score: 0.8, box: [fx * W - 30, 0.8 * H - 160, 60, 160] });

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'raypack-persist-'));
  dirs.push(d);
  return d;
};

function tracking(restored?: SavedRead): ObjectTracking {
  return new ObjectTracking(
    {
      labels: ['person'],
      maxMissedMs: 500,
      eventUpdateMs: 1000,
      resetAt: '00:00',
      counting: { zones: [ZONE], lines: [LINE], ...DEFAULT_COUNTING },
      ...(restored?.state === 'restored' ? { restored: restored.counts } : {}),
    },
    new TrackIds(),
  );
}

/** A walk across the line and through the zone and out: 1 in, 1 entry, 1 exit. */
function walk(t: ObjectTracking, start: number) {
  for (let i = 0; i < 30; i++) t.step([person(0.2 + i * 0.03)], W, H, start + i * 200);
  return t.step([], W, H, start + 40 * 200);
}

describe('counts kept across restarts', () => {
  it('saves the counts and a new counter carries on from them', () => {
    const path = countsPath(tempDir(), 'shop');
    const store = new CountsStore(path, 0);
    const before = walk(tracking(), T0);
    expect(before.counts.lines[0]).toMatchObject({ in: 1, out: 0 });
    store.offer(before.counts, T0);
    const read = readSavedCounts(path, T0 + 60_000, '00:00');
    expect(read.state).toBe('restored');
    const again = tracking(read);
    const after = walk(again, T0 + 120_000);
    expect(after.counts.since).toBe(before.counts.since);
    expect(after.counts.lines[0]).toMatchObject({ in: 2, out: 0 });
    expect(after.counts.zones[0]).toMatchObject({ entered: 2, exited: 2 });
    // The mean dwell is of both visits: the total was kept, not only the mean.
    expect(after.counts.zones[0].dwellMs).toBeCloseTo(2 * before.counts.zones[0].dwellMs, -2);
    // Written whole: no temporary file is left beside it.
    expect(readdirSync(join(path, '..'))).toEqual(['shop.json']);
  });

  it('writes at most every interval, and what is left on flush', () => {
    const path = countsPath(tempDir(), 'shop');
    const store = new CountsStore(path, 5000);
    const t = tracking();
    const first = walk(t, T0);
    store.offer(first.counts, T0);
    const second = walk(t, T0 + 10_000);
    store.offer(second.counts, T0 + 1000);
    const saved = () => (JSON.parse(readFileSync(path, 'utf8')) as { lines: Record<string, { in: number }> }).lines.door.in;
    expect(saved()).toBe(1);
    store.flush(T0 + 2000);
    expect(saved()).toBe(2);
  });

  it('leaves counts of an earlier counting day behind: a reset time passed since they began', () => {
    const path = countsPath(tempDir(), 'shop');
    new CountsStore(path, 0).offer(walk(tracking(), T0).counts, T0);
    // Begun at noon: restored the same evening, not after the 06:00 reset next morning.
    expect(readSavedCounts(path, T0 + 8 * 3600_000, '06:00').state).toBe('restored');
    expect(readSavedCounts(path, T0 + 19 * 3600_000, '06:00').state).toBe('stale');
    expect(readSavedCounts(path, T0 - 60_000, '06:00').state).toBe('stale');
  });

  it('moves a file it cannot use aside, says why, and counting starts at 0; no file is no counts', () => {
    const dir = tempDir();
    const path = countsPath(dir, 'shop');
    expect(readSavedCounts(path, T0, '00:00')).toEqual({ state: 'none' });
    new CountsStore(path, 0).offer(walk(tracking(), T0).counts, T0);
    const good = readFileSync(path, 'utf8');
    for (const [text, reason] of [
      ['{"version": 1, "since": 5', /JSON/],
      [good.replace('"in":1', '"in":-1'), /line door in is not a count/],
      [good.replace('"version":1', '"version":7'), /version 7/],
    ] as const) {
      writeFileSync(path, text);
      const read = readSavedCounts(path, T0 + 1000, '00:00');
      expect(read).toMatchObject({ state: 'bad', reason: expect.stringMatching(reason), movedTo: `${path}.bad` });
      expect(existsSync(path)).toBe(false);
      expect(readFileSync(`${path}.bad`, 'utf8')).toBe(text);
    }
  });
});
