/** Track events from the real tracker on scripted detections: new/end pairs, stable ids through an occlusion, rate-limited updates. */
import { describe, expect, it } from 'vitest';
import { TrackEvents, type TrackEvent } from '../../src/tracking/events.ts';
import { Tracker } from '../../src/tracking/tracker.ts';

const face = (x: number, score = 0.9) => ({ box: { x, y: 100, width: 40, height: 40 }, score, label: 'face' });

function run(frames: Array<ReturnType<typeof face>[]>, stepMs: number, updateIntervalMs = 1000): TrackEvent[] {
  const tracker = new Tracker({ maxMissedMs: 1500 });
  const events = new TrackEvents({ updateIntervalMs });
  return frames.flatMap((detections, i) => events.next(tracker.update(detections, i * stepMs), i * stepMs));
}

describe('TrackEvents', () => {
  it('a face seen for 3 s at 5 fps: new on its second frame, an update per second, one end 1.5 s after it left', () => {
    const frames = [...Array.from({ length: 15 }, (_, i) => [face(100 + 4 * i)]), ...Array.from({ length: 10 }, () => [])];
    const events = run(frames, 200);
    expect(events.map((e) => e.type)).toEqual(['new', 'update', 'update', 'end']);
    expect(new Set(events.map((e) => e.id)).size).toBe(1);
    const [created, , , ended] = events;
    expect(created).toMatchObject({ label: 'face', firstSeen: 0, lastSeen: 200, bestScore: 0.9 });
    expect(ended).toMatchObject({ firstSeen: 0, lastSeen: 2800 });
  });

  it('keeps the id through a short occlusion (1 s): no end, no second new', () => {
    const seen = (i: number) => [face(100 + 4 * i)];
    const frames = [...Array.from({ length: 5 }, (_, i) => seen(i)), [], [], [], [], [], ...Array.from({ length: 5 }, (_, i) => seen(i + 10)), ...Array.from({ length: 10 }, () => [])];
    const events = run(frames, 200, 60_000);
    expect(events.map((e) => e.type)).toEqual(['new', 'end']);
    expect(events[0].id).toBe(events[1].id);
  });

  it('a one-frame detection (tentative, never confirmed) makes no event; two faces make two pairs', () => {
    expect(run([[face(300)], [], [], [], [], []], 200)).toEqual([]);
    const two = run([[face(100), face(400)], [face(102), face(398)], ...Array.from({ length: 10 }, () => [])], 200);
    expect(two.map((e) => e.type).sort()).toEqual(['end', 'end', 'new', 'new']);
    expect(new Set(two.map((e) => e.id)).size).toBe(2);
  });

  it('endAll ends every announced track once (a camera that stops)', () => {
    const tracker = new Tracker();
    const events = new TrackEvents();
    events.next(tracker.update([face(100)], 0), 0);
    expect(events.next(tracker.update([face(101)], 200), 200).map((e) => e.type)).toEqual(['new']);
    expect(events.endAll(tracker.clear()).map((e) => e.type)).toEqual(['end']);
    expect(events.endAll(tracker.clear())).toEqual([]);
  });
});
