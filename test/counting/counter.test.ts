/**
 * Zones and lines (src/counting/counter.ts) through the real object tracking (src/analysis/object-tracking.ts:
 * tracker, events, counter) on synthetic person detections and fake time: crossings per direction, hysteresis
 * against jitter on a line, a track that breaks and comes back (never counted twice, nor missed when the break is on
 * the line), zone entries, exits and dwell, the daily reset, and ids shared with another tracker.
 */
import { describe, expect, it } from 'vitest';
import { ObjectTracking, type ObjectTrackingSettings, type ObjectTrackingStep } from '../../src/analysis/object-tracking.ts';
import { DEFAULT_COUNTING, referencePoint, type CountingSettings } from '../../src/counting/counter.ts';
import type { Detection } from '../../src/detect/types.ts';
import type { TrackEvent } from '../../src/tracking/events.ts';
import { TrackIds, Tracker } from '../../src/tracking/tracker.ts';

const W = 800;
const H = 400;
/** Noon on a day, local time: no reset is due in a test that runs minutes of fake time. */
const T0 = new Date(2026, 5, 10, 12, 0, 0).getTime();

/** A person whose feet are at (fx, fy) in 0-1 frame coordinates, 160 px tall. */
function person(fx: number, fy: number, score = 0.8): Detection {
  const h = 160;
  const w = 60;
  return { label: 'person', score, box: [fx * W - w / 2, fy * H - h, w, h] };
}

const LINE = { name: 'door', a: [0.5, 1], b: [0.5, 0], in: 'left_to_right' } as const;
const ZONE = { name: 'desk', points: [[0.6, 0.5], [0.9, 0.5], [0.9, 0.95], [0.6, 0.95]] } as const;

function tracking(counting: Partial<CountingSettings> = {}, extra: Partial<ObjectTrackingSettings> = {}, ids = new TrackIds()): ObjectTracking {
  return new ObjectTracking(
    {
      labels: ['person'],
      maxMissedMs: 500,
      eventUpdateMs: 1000,
      resetAt: '00:00',
      counting: { zones: [ZONE], lines: [LINE], ...DEFAULT_COUNTING, ...counting },
      ...extra,
    },
    ids,
  );
}

/** Runs frames at 5 fps from `start`: each frame's detections from `at(frameIndex)`. */
function run(t: ObjectTracking, frames: number, at: (i: number) => Detection[], start = T0, reportThreshold = 0): { last: ObjectTrackingStep; events: TrackEvent[]; end: number } {
  let last: ObjectTrackingStep | undefined;
  const events: TrackEvent[] = [];
  for (let i = 0; i < frames; i++) {
    last = t.step(at(i), W, H, start + i * 200, reportThreshold);
    events.push(...last.events);
  }
  return { last: last!, events, end: start + frames * 200 };
}

const line = (s: ObjectTrackingStep) => s.counts.lines[0];
const zone = (s: ObjectTrackingStep) => s.counts.zones[0];

describe('line crossings', () => {
  it('counts a walk left to right as in and right to left as out, once each', () => {
    const t = tracking();
    const there = run(t, 20, (i) => [person(0.2 + i * 0.03, 0.8)]);
    expect(line(there.last)).toMatchObject({ in: 1, out: 0 });
    const back = run(t, 20, (i) => [person(0.77 - i * 0.03, 0.8)], there.end);
    expect(line(back.last)).toMatchObject({ in: 1, out: 1 });
  });

  it('does not count feet that jitter on the line; without hysteresis the same jitter counts', () => {
    // +-6 px around the line: a box's bottom wobbles that much between frames; the band is 0.1 x 160 = 16 px.
    const jitter = (i: number) => [person(0.5 + (i % 2 === 0 ? 6 : -6) / W, 0.8)];
    const approach = (i: number) => [person(0.3 + i * 0.02, 0.8)];
    for (const [hysteresis, expected] of [[DEFAULT_COUNTING.hysteresis, 0], [0, 10]] as const) {
      const t = tracking({ hysteresis });
      const a = run(t, 8, approach);
      const b = run(t, 20, jitter, a.end);
      expect(line(b.last).in + line(b.last).out, `hysteresis ${hysteresis}`).toBeGreaterThanOrEqual(expected);
      if (expected === 0) expect(line(b.last)).toMatchObject({ in: 0, out: 0 });
    }
  });

  it('does not count a walk past the end of the line', () => {
    const t = tracking({}, {}, new TrackIds());
    const short = new ObjectTracking(
      { labels: ['person'], maxMissedMs: 500, eventUpdateMs: 1000, resetAt: '00:00', counting: { ...DEFAULT_COUNTING, zones: [], lines: [{ ...LINE, a: [0.5, 0.5], b: [0.5, 0] }] } },
      new TrackIds(),
    );
    expect(line(run(short, 20, (i) => [person(0.2 + i * 0.03, 0.8)]).last)).toMatchObject({ in: 0, out: 0 });
    expect(line(run(t, 20, (i) => [person(0.2 + i * 0.03, 0.8)]).last)).toMatchObject({ in: 1, out: 0 });
  });

  it('counts a person whose track breaks ON the line once, as the one track it continues', () => {
    // Seen left of the line, missed for 1.2 s (past the tracker's 0.5 s: a new id), seen again right of it.
    const walk = (i: number) => (i >= 10 && i < 16 ? [] : [person(0.2 + i * 0.03, 0.8)]);
    const t = tracking();
    const r = run(t, 25, walk);
    expect(line(r.last)).toMatchObject({ in: 1, out: 0 });
    const news = r.events.filter((e) => e.type === 'new');
    expect(news).toHaveLength(2);
    expect(news[1].continues).toBe(news[0].id);
    // Without the rejoin rule the new track starts on the far side and the crossing is lost.
    expect(line(run(tracking({ rejoinMs: 0 }), 25, walk).last)).toMatchObject({ in: 0, out: 0 });
  });

  it('counts once a person whose track breaks just after the line and who walks on', () => {
    // Crossed at frame 10 (counted), missed for 1.2 s from frame 12, seen again further right: the same person.
    const walk = (i: number) => (i >= 12 && i < 18 ? [] : [person(0.2 + i * 0.03, 0.8)]);
    const r = run(tracking(), 26, walk);
    expect(line(r.last)).toMatchObject({ in: 1, out: 0 });
    expect(r.events.filter((e) => e.type === 'new').map((e) => e.continues !== undefined)).toEqual([false, true]);
  });

  it('does not join two people: one leaves on the left while another appears far away', () => {
    const t = tracking();
    const a = run(t, 8, (i) => [person(0.2 + i * 0.01, 0.8)]);
    const b = run(t, 20, (i) => [person(0.95 - i * 0.01, 0.8)], a.end + 400);
    expect(b.events.find((e) => e.type === 'new')?.continues).toBeUndefined();
  });
});

describe('zones', () => {
  it('counts an entry, occupancy while in, an exit with its dwell, and reports them on the track events', () => {
    const t = tracking();
    // Walk in from the left, stay 4 s at x = 0.75, walk out to the right.
    const x = (i: number) => (i < 10 ? 0.3 + i * 0.045 : i < 30 ? 0.75 : 0.75 + (i - 30) * 0.03);
    let inside = 0;
    const events: TrackEvent[] = [];
    for (let i = 0; i < 45; i++) {
      const s = t.step([person(x(i), 0.8)], W, H, T0 + i * 200);
      events.push(...s.events);
      if (i === 20) inside = zone(s).occupancy;
    }
    const s = t.step([], W, H, T0 + 45 * 200);
    expect(inside).toBe(1);
    expect(zone(s)).toMatchObject({ entered: 1, exited: 1, occupancy: 0 });
    // In from x = 0.62 (the band past the edge at 0.6: frame 8) to 0.92 (frame 36): 5.6 s.
    expect(zone(s).meanDwellSeconds).toBeCloseTo(5.6, 1);
    const update = events.find((e) => e.type === 'update' && e.zones?.includes('desk'));
    expect(update).toBeDefined();
    const end = [...events, ...run(t, 10, () => [], T0 + 46 * 200).events].find((e) => e.type === 'end');
    expect(end?.kind).toBe('object');
    expect(end?.zones).toEqual([]);
    expect(end?.dwell?.desk).toBeCloseTo(zone(s).meanDwellSeconds!, 0);
  });

  it('does not count a second entry for a person standing in the zone whose track breaks; without the rule it does', () => {
    const stand = (i: number) => (i >= 10 && i < 16 ? [] : [person(0.75 + (i % 3) * 0.002, 0.8)]);
    expect(zone(run(tracking(), 30, stand).last)).toMatchObject({ entered: 1, exited: 0, occupancy: 1 });
    expect(zone(run(tracking({ rejoinMs: 0 }), 30, stand).last)).toMatchObject({ entered: 2, exited: 1, occupancy: 1 });
  });

  it('counts the exit of a track that vanished inside the zone once nothing continued it, at its last sighting', () => {
    const t = tracking();
    const a = run(t, 10, () => [person(0.75, 0.8)]);
    expect(zone(a.last)).toMatchObject({ entered: 1, occupancy: 1 });
    const b = run(t, 10, () => [], a.end);
    expect(zone(b.last)).toMatchObject({ entered: 1, exited: 0, occupancy: 0 });
    const c = run(t, 15, () => [], b.end);
    expect(zone(c.last)).toMatchObject({ entered: 1, exited: 1, occupancy: 0 });
    // Entered when confirmed (its second frame, 0.2 s), last seen at 1.8 s.
    expect(zone(c.last).meanDwellSeconds).toBeCloseTo(1.6, 1);
  });

  it('counts nothing for a duplicate box of one person that lives shorter than min_track_seconds; without the rule it enters twice', () => {
    // A person walks into the zone; for the first 0.4 s the detector also gives a second box beside the first
    // (seen in CenterNet's boxes of people coming in from the bottom of the picture), a track of its own.
    const walk = (i: number) => [person(0.62 + i * 0.004, 0.8), ...(i < 2 ? [person(0.82, 0.8)] : [])];
    const held = run(tracking(), 30, walk);
    expect(zone(held.last)).toMatchObject({ entered: 1, exited: 0, occupancy: 1 });
    const counted = run(tracking({ minTrackMs: 0 }), 30, walk);
    expect(zone(counted.last)).toMatchObject({ entered: 2, exited: 1, occupancy: 1 });
    // Held back, then counted: a real track's entry shows once it is a second old, with its own time.
    const t = tracking();
    const young = run(t, 4, walk);
    expect(zone(young.last)).toMatchObject({ entered: 0, occupancy: 0 });
    const old = run(t, 3, (i) => walk(i + 4), young.end);
    expect(zone(old.last)).toMatchObject({ entered: 1, occupancy: 1 });
  });

  it('ignores a detection seen in one frame only (a tentative track)', () => {
    const t = tracking();
    const r = run(t, 10, (i) => (i === 3 ? [person(0.75, 0.8)] : []));
    expect(zone(r.last)).toMatchObject({ entered: 0, occupancy: 0 });
    expect(r.events).toEqual([]);
  });

  it('counts a person entering from the bottom of the picture in a zone drawn down to the frame border', () => {
    // Feet cut off at the bottom edge (y = 1) then 15 px above it: less than the 16 px band from that edge.
    const bottom = new ObjectTracking(
      { labels: ['person'], maxMissedMs: 500, eventUpdateMs: 1000, resetAt: '00:00', counting: { ...DEFAULT_COUNTING, lines: [], zones: [{ name: 'floor', points: [[0.3, 0.5], [0.9, 0.5], [0.9, 1], [0.3, 1]] }] } },
      new TrackIds(),
    );
    const r = run(bottom, 10, (i) => [person(0.6, i < 3 ? 1 : 1 - 15 / H)]);
    expect(zone(r.last)).toMatchObject({ entered: 1, occupancy: 1 });
  });
});

describe('weak detections (ByteTrack second stage)', () => {
  // A person walks to x = 0.75 and stands there 6 s; for 2 s of it the objects model scores them 0.2 (turned away),
  // under the camera's report threshold of 0.35, as NanoDet does people seen from behind.
  const score = (i: number) => (i >= 15 && i < 25 ? 0.2 : 0.8);
  const x = (i: number) => Math.min(0.75, 0.3 + i * 0.045);
  const frames = 40;

  it('continues a track through detections under the report threshold: one id, one entry, no exit until they leave', () => {
    const t = tracking();
    const events: TrackEvent[] = [];
    let last: ObjectTrackingStep | undefined;
    for (let i = 0; i < frames; i++) {
      last = t.step([person(x(i), 0.8, score(i))], W, H, T0 + i * 200, 0.35);
      events.push(...last.events);
    }
    expect(new Set(events.map((e) => e.id)).size).toBe(1);
    expect(events.filter((e) => e.type === 'end')).toHaveLength(0);
    expect(zone(last!)).toMatchObject({ entered: 1, exited: 0, occupancy: 1 });
  });

  it('breaks the same track when only the detections at the threshold are given (what the camera did before)', () => {
    const t = tracking();
    const events: TrackEvent[] = [];
    for (let i = 0; i < frames; i++) {
      const s = t.step([person(x(i), 0.8, score(i))].filter((d) => d.score >= 0.35), W, H, T0 + i * 200, 0.35);
      events.push(...s.events);
    }
    expect(new Set(events.map((e) => e.id)).size).toBe(2);
  });

  it('never starts a track from weak detections alone', () => {
    const t = tracking();
    const s = run(t, 20, (i) => [person(0.2 + i * 0.03, 0.8, 0.2)], T0, 0.35);
    expect(s.events).toHaveLength(0);
    expect(s.last.tracks).toHaveLength(0);
    expect(line(s.last)).toMatchObject({ in: 0, out: 0 });
  });
});

describe('counts over time', () => {
  it('reset entries, exits and crossings at the local time of day, occupancy stays', () => {
    const t = tracking({}, { resetAt: '12:01' });
    const walkAndStay = (i: number) => [person(Math.min(0.75, 0.2 + i * 0.03), 0.8)];
    const a = run(t, 300, walkAndStay);
    expect(line(a.last).in).toBe(1);
    expect(zone(a.last).entered).toBe(1);
    const since = a.last.counts.since;
    const b = run(t, 5, () => [person(0.75, 0.8)], a.end);
    expect(line(b.last).in).toBe(0);
    expect(zone(b.last)).toMatchObject({ entered: 0, occupancy: 1 });
    expect(b.last.counts.since).toBeGreaterThan(since);
  });

  it('gives object tracks ids no privacy track of the same camera has', () => {
    const ids = new TrackIds();
    const privacy = new Tracker({}, ids);
    const objects = tracking({}, {}, ids);
    const seen = new Set<number>();
    for (let i = 0; i < 10; i++) {
      const p = privacy.update([{ box: { x: 10 + i, y: 10, width: 30, height: 30 }, score: 0.9, label: 'face' }], T0 + i * 200);
      const o = objects.step([person(0.2 + i * 0.03, 0.8)], W, H, T0 + i * 200);
      for (const id of [...p.started.map((s) => s.id), ...o.events.filter((e) => e.type === 'new').map((e) => e.id)]) {
        expect(seen.has(id)).toBe(false);
        seen.add(id);
      }
    }
    expect(seen.size).toBe(2);
  });

  it('takes the feet of a person and the centre of anything else', () => {
    const box = { x: 100, y: 50, width: 40, height: 100 };
    expect(referencePoint({ box, label: 'person' })).toEqual({ x: 120, y: 150 });
    expect(referencePoint({ box, label: 'car' })).toEqual({ x: 120, y: 100 });
  });
});
