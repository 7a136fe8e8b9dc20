import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_TRACKER_OPTIONS, Tracker, type Detection, type TrackInfo } from '../../src/tracking/tracker.ts';
import { iou, type Rect } from '../../src/core/geometry.ts';

/** A box by centre and size. */
const at = (cx: number, cy: number, w: number, h = w): Rect => ({ x: cx - w / 2, y: cy - h / 2, width: w, height: h });
const face = (box: Rect, score = 0.9, label?: string): Detection => (label === undefined ? { box, score } : { box, score, label });

/** Share of `truth` inside `box`: 1 means the face is fully hidden. */
function coverage(truth: Rect, box: Rect): number {
  const w = Math.max(0, Math.min(truth.x + truth.width, box.x + box.width) - Math.max(truth.x, box.x));
  const h = Math.max(0, Math.min(truth.y + truth.height, box.y + box.height) - Math.max(truth.y, box.y));
  return (w * h) / (truth.width * truth.height);
}

/** Best coverage of `truth` by any reported box. */
const covered = (truth: Rect, boxes: readonly TrackInfo[]) => Math.max(0, ...boxes.map((b) => coverage(truth, b.box)));

/** Deterministic jitter (Park-Miller + Box-Muller): detectors are noisy, tests must not be. */
function gaussian(seed: number): () => number {
  let state = seed;
  const next = () => (state = (state * 16807) % 2147483647) / 2147483647;
  return () => Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
}

function jittered(box: Rect, noise: () => number, share = 0.03): Rect {
  const s = share * box.height;
  return { x: box.x + noise() * s, y: box.y + noise() * s, width: box.width * (1 + noise() * share), height: box.height * (1 + noise() * share) };
}

afterEach(() => vi.restoreAllMocks());

describe('Tracker: privacy', () => {
  it('hides a new face from its first frame, exactly where it was detected', () => {
    const tracker = new Tracker();
    const box = at(320, 200, 40);
    const { boxes, started, ended } = tracker.update([face(box, 0.6)], 1000);
    expect(ended).toEqual([]);
    expect(started).toEqual(boxes);
    expect(boxes).toHaveLength(1);
    expect(boxes[0]).toMatchObject({ id: 1, state: 'seen', box, hits: 1, misses: 0, confirmed: false, ageMs: 0, firstSeenMs: 1000, lastSeenMs: 1000, score: 0.6, bestScore: 0.6 });
  });

  it('predicts a face moving at constant velocity forward through 5 missed frames, one id, covering where it really is', () => {
    const tracker = new Tracker();
    const noise = gaussian(3);
    const speed = 120; // px/s: a 60 px face crossing at two of its heights per second
    const truthAt = (ms: number) => at(100 + (speed * ms) / 1000, 300, 60);
    for (let ms = 0; ms < 2000; ms += 200) tracker.update([face(jittered(truthAt(ms), noise))], ms);
    const lastSeen = truthAt(1800);
    for (let ms = 2000; ms <= 2800; ms += 200) {
      const { boxes } = tracker.update([], ms);
      expect(boxes).toHaveLength(1);
      expect(boxes[0]).toMatchObject({ id: 1, state: 'predicted', misses: (ms - 1800) / 200 });
      const truth = truthAt(ms);
      expect(coverage(truth, boxes[0].box)).toBeGreaterThanOrEqual(0.99);
      // Forward, not held: the hidden box's centre is past the last detection, towards the face.
      const centre = boxes[0].box.x + boxes[0].box.width / 2;
      expect(centre).toBeGreaterThan(lastSeen.x + 30 + 0.5 * (truth.x - lastSeen.x));
    }
    // A box held in place (the old face hold) would have left most of the face visible by now.
    expect(coverage(truthAt(2800), lastSeen)).toBeLessThan(0.1);
    const back = tracker.update([face(truthAt(3000))], 3000);
    expect(back.boxes).toHaveLength(1);
    expect(back.boxes[0]).toMatchObject({ id: 1, state: 'seen', misses: 0, hits: 11 });
  });

  it('keeps the id and the hidden area through an occlusion of about 1 s, also when the face stops behind it', () => {
    for (const stops of [false, true]) {
      const tracker = new Tracker();
      const noise = gaussian(11);
      let x = 200;
      const v = 60; // px/s, a 50 px face at 1.2 heights per second
      for (let ms = 0; ms <= 3000; ms += 200) {
        const truth = at(x, 240, 50);
        const occluded = ms > 1000 && ms <= 2000; // 5 frames at 5 fps
        const seen = jittered(truth, noise);
        const { boxes, ended } = tracker.update(occluded ? [] : [face(seen)], ms);
        expect(ended).toEqual([]);
        expect(boxes.map((b) => b.id)).toEqual([1]);
        expect(boxes[0].state).toBe(occluded ? 'predicted' : 'seen');
        if (occluded) expect(covered(truth, boxes)).toBeGreaterThanOrEqual(0.9);
        else expect(boxes[0].box).toEqual(seen);
        if (!(stops && occluded)) x += v * 0.2;
      }
    }
  });

  it('a low-score detection (0.2) continues a track but does not start one', () => {
    const tracker = new Tracker();
    expect(tracker.update([face(at(100, 100, 40), 0.2)], 0).boxes).toEqual([]);
    tracker.update([face(at(300, 100, 40), 0.8)], 200);
    for (let k = 1; k <= 4; k++) {
      const box = at(300 + 4 * k, 100, 40);
      const { boxes } = tracker.update([face(box, 0.2), face(at(100, 100, 40), 0.2)], 200 + 200 * k);
      expect(boxes).toHaveLength(1);
      expect(boxes[0]).toMatchObject({ id: 1, state: 'seen', box, score: 0.2, bestScore: 0.8, hits: 1 + k });
    }
    // Below lowScore a detection is ignored: the track is predicted, not seen.
    expect(tracker.update([face(at(316, 100, 40), 0.05)], 1200).boxes[0].state).toBe('predicted');
  });

  it('asks more overlap of a low-score detection than of a high-score one', () => {
    const shifted = at(100 + 22, 100, 40); // IoU with the track's box about 0.29: above matchIou, below lowMatchIou
    expect(iou(shifted, at(100, 100, 40))).toBeGreaterThan(DEFAULT_TRACKER_OPTIONS.matchIou);
    expect(iou(shifted, at(100, 100, 40))).toBeLessThan(DEFAULT_TRACKER_OPTIONS.lowMatchIou);
    for (const [score, state] of [[0.9, 'seen'], [0.3, 'predicted']] as const) {
      const tracker = new Tracker({ centreFallback: false });
      tracker.update([face(at(100, 100, 40))], 0);
      const { boxes } = tracker.update([face(shifted, score)], 100);
      expect(boxes.find((b) => b.id === 1)?.state).toBe(state);
    }
  });

  it('ends a track once, in `ended`, after maxMissedMs without a detection; a tentative one sooner', () => {
    const tracker = new Tracker({ maxMissedMs: 1000 });
    tracker.update([face(at(100, 100, 40)), face(at(400, 100, 40))], 0);
    tracker.update([face(at(100, 100, 40))], 200); // track 1 confirmed, track 2 seen once
    const seen: number[][] = [];
    const ends: Array<{ id: number; endedMs: number; reason: string; hits: number }> = [];
    for (let ms = 400; ms <= 2000; ms += 200) {
      const { boxes, ended } = tracker.update([], ms);
      seen.push(boxes.map((b) => b.id));
      ends.push(...ended.map(({ id, endedMs, reason, hits }) => ({ id, endedMs, reason, hits })));
    }
    // Track 2 (tentative, 600 ms) is hidden until 600 ms after 0; track 1 until 1000 ms after 200.
    expect(seen).toEqual([[1, 2], [1, 2], [1], [1], [1], [], [], [], []]);
    expect(ends).toEqual([
      { id: 2, endedMs: 800, reason: 'missed', hits: 1 },
      { id: 1, endedMs: 1400, reason: 'missed', hits: 2 },
    ]);
    expect(tracker.tracks()).toEqual([]);
  });

  it('keeps a track whose detection came with a hold (a pass taken in turn) until the hold is over, tentative or not', () => {
    const tracker = new Tracker({ maxMissedMs: 1000 });
    // Track 1: found once by a tile that runs again only 2.6 s later; track 2: the same without the hold.
    tracker.update([{ ...face(at(100, 100, 40)), holdMs: 2600 }, face(at(400, 100, 40))], 0);
    const alive = (ms: number) => tracker.update([], ms).boxes.map((b) => b.id);
    expect(alive(600)).toEqual([1, 2]);
    expect(alive(800)).toEqual([1]);
    expect(alive(2600)).toEqual([1]);
    expect(alive(2800)).toEqual([]);
    // A later detection without a hold (the whole-image pass saw it) gives the track its normal limit back.
    tracker.update([{ ...face(at(700, 100, 40)), holdMs: 2600 }], 3000);
    tracker.update([face(at(700, 100, 40))], 3200);
    expect(alive(4200)).toEqual([3]);
    expect(alive(4400)).toEqual([]);
  });

  it('predicts by elapsed time when frames arrive irregularly (dropped frames)', () => {
    const speed = 100;
    const truthAt = (ms: number) => at(100 + (speed * ms) / 1000, 200, 50);
    const times = [0, 100, 200, 600, 700, 1300, 1400, 1500, 2200, 2300];
    const tracker = new Tracker();
    for (const ms of times) tracker.update([face(truthAt(ms))], ms);
    expect(tracker.tracks()[0].velocity.x).toBeCloseTo(speed, -1);
    // The same history, then a miss 100 ms or 700 ms later: the prediction moves 7 times as far.
    const twin = new Tracker();
    for (const ms of times) twin.update([face(truthAt(ms))], ms);
    const last = 100 + (speed * 2300) / 1000; // the last centre
    const soon = tracker.update([], 2400).boxes[0];
    const late = twin.update([], 3000).boxes[0];
    const moved = (b: TrackInfo) => b.box.x + b.box.width / 2 - last;
    // Constant velocity would give 7; the fading velocity of a missed track gives a little less, by elapsed time.
    const halfLife = DEFAULT_TRACKER_OPTIONS.lostVelocityHalfLifeMs / 1000;
    const fading = (t: number) => 1 - 2 ** (-t / halfLife);
    expect(moved(late) / moved(soon)).toBeCloseTo(fading(0.7) / fading(0.1), 3);
    expect(moved(late) / moved(soon)).toBeGreaterThan(6);
    expect(coverage(truthAt(2400), soon.box)).toBeGreaterThanOrEqual(0.99);
    expect(coverage(truthAt(3000), late.box)).toBeGreaterThanOrEqual(0.99);
  });

  it('a stationary face does not drift while it is missed', () => {
    // Detector jitter (3% of the size) makes the velocity estimate of a still face wobble by about 0.2 heights/s;
    // the prediction of a missed track must not carry that away. 20 faces, each missed for 1.4 s after 10 s.
    const drifts: number[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      const tracker = new Tracker();
      const noise = gaussian(seed);
      const truth = at(500, 300, 64);
      for (let ms = 0; ms < 10_000; ms += 200) tracker.update([face(jittered(truth, noise))], ms);
      let drift = 0;
      for (let ms = 10_000; ms <= 11_200; ms += 200) {
        const [b] = tracker.update([], ms).boxes;
        expect(b).toMatchObject({ id: 1, state: 'predicted' });
        expect(coverage(truth, b.box)).toBe(1);
        drift = Math.hypot(b.box.x + b.box.width / 2 - 500, b.box.y + b.box.height / 2 - 300) / 64;
      }
      drifts.push(drift);
    }
    drifts.sort((a, b) => a - b);
    expect(drifts[10]).toBeLessThan(0.1); // median, in face heights
    expect(drifts[19]).toBeLessThan(0.3);
  });

  it('grows a missed box with time, up to maxGrowth', () => {
    const tracker = new Tracker();
    for (let ms = 0; ms <= 1000; ms += 200) tracker.update([face(at(200, 200, 40))], ms);
    const widths = [1200, 1400, 1600, 1800, 2000, 2200].map((ms) => tracker.update([], ms).boxes[0].box.width);
    for (let k = 1; k < widths.length; k++) expect(widths[k]).toBeGreaterThanOrEqual(widths[k - 1]);
    expect(widths[0]).toBeGreaterThan(40);
    expect(widths.at(-1)).toBeLessThanOrEqual(DEFAULT_TRACKER_OPTIONS.maxGrowth * 40 + 1e-9);
  });
});

describe('Tracker: association', () => {
  it('two faces crossing keep their ids', () => {
    const tracker = new Tracker();
    const noise = gaussian(9);
    const a = (ms: number) => at(100 + (200 * ms) / 1000, 200, 60); // left to right
    const b = (ms: number) => at(500 - (200 * ms) / 1000, 215, 60); // right to left, slightly lower
    let overlapped = 0;
    const idOf = new Map<string, number>();
    for (let ms = 0; ms <= 2000; ms += 200) {
      const dets = [face(jittered(a(ms), noise)), face(jittered(b(ms), noise))];
      if (ms % 400 === 0) dets.reverse(); // input order carries no identity
      const { boxes } = tracker.update(dets, ms);
      expect(boxes.map((x) => x.id)).toEqual([1, 2]);
      for (const [name, truth] of [['a', a(ms)], ['b', b(ms)]] as const) {
        const mine = boxes.reduce((best, x) => (iou(x.box, truth) > iou(best.box, truth) ? x : best));
        expect(iou(mine.box, truth)).toBeGreaterThan(0.7);
        if (!idOf.has(name)) idOf.set(name, mine.id);
        expect(mine.id).toBe(idOf.get(name));
      }
      if (iou(a(ms), b(ms)) > 0.3) overlapped++;
    }
    expect(new Set(idOf.values()).size).toBe(2);
    expect(overlapped).toBeGreaterThan(0); // they really did cross
  });

  it('assigns crowded boxes optimally where greedy would swap them', () => {
    // Tracks A (x 0..100) and B (x 30..130). Greedy pairs A with d1 (IoU .82, the best pair) and leaves B the
    // poor d2 (.29); the optimum gives A d2 (.60) and B d1 (.67), more overlap in total.
    const tracker = new Tracker({ centreFallback: false });
    tracker.update([face({ x: 0, y: 0, width: 100, height: 100 }), face({ x: 30, y: 0, width: 100, height: 100 })], 0);
    const d1 = { x: 10, y: 0, width: 100, height: 100 };
    const d2 = { x: -25, y: 0, width: 100, height: 100 };
    const { boxes } = tracker.update([face(d1), face(d2)], 100);
    expect(boxes.map((b) => [b.id, b.box])).toEqual([
      [1, d2],
      [2, d1],
    ]);
  });

  it('keeps tracks of different labels apart', () => {
    const tracker = new Tracker();
    const box = at(200, 200, 80);
    tracker.update([face(box, 0.9, 'face')], 0);
    const { boxes } = tracker.update([face(box, 0.9, 'person')], 200);
    expect(boxes.map((b) => [b.id, b.label, b.state])).toEqual([
      [1, 'face', 'predicted'],
      [2, 'person', 'seen'],
    ]);
    const next = tracker.update([face(box, 0.9, 'face'), face(box, 0.9, 'person')], 400);
    expect(next.boxes.map((b) => [b.id, b.state])).toEqual([
      [1, 'seen'],
      [2, 'seen'],
    ]);
  });

  it('centre fallback: a small fast face whose second box does not overlap its first keeps its id', () => {
    // 16 px face moving 100 px/s at 5 fps: 20 px per frame, IoU 0 with an at-rest prediction.
    const track = (options: ConstructorParameters<typeof Tracker>[0]) => {
      const tracker = new Tracker(options);
      const ids: number[] = [];
      for (let k = 0; k < 5; k++) ids.push(tracker.update([face(at(100 + 20 * k, 100, 16))], 200 * k).boxes.find((b) => b.state === 'seen')!.id);
      return ids;
    };
    expect(iou(at(100, 100, 16), at(120, 100, 16))).toBe(0);
    expect(track({})).toEqual([1, 1, 1, 1, 1]);
    expect(track({ centreFallback: false })).toEqual([1, 2, 3, 4, 5]);
  });

  it('centre fallback refuses a box of another size or farther than the gate', () => {
    for (const [next, expected] of [
      [at(120, 100, 16), 1],
      [at(120, 100, 30), 2], // nearly twice the height: another face
      [at(170, 100, 16), 2], // 70 px away in 200 ms: beyond the uncertainty of a face at rest
    ] as const) {
      const tracker = new Tracker();
      tracker.update([face(at(100, 100, 16))], 0);
      const seen = tracker.update([face(next)], 200).boxes.find((b) => b.state === 'seen')!;
      expect(seen.id).toBe(expected);
    }
  });

  it('gives ids that are stable, monotonic and never reused', () => {
    const tracker = new Tracker({ tentativeMaxMissedMs: 100 });
    const ids: number[] = [];
    for (let k = 0; k < 6; k++) {
      const { boxes } = tracker.update([face(at(100 + 300 * (k % 2), 100, 40))], 1000 * k);
      ids.push(...boxes.filter((b) => b.state === 'seen').map((b) => b.id));
    }
    expect(ids).toEqual([1, 2, 3, 4, 5, 6]);
    // `started` names each id once, in its first frame; later frames of the same face do not repeat it.
    const again = new Tracker();
    const firsts = [0, 200, 400].map((ms) => again.update([face(at(100, 100, 40))], ms).started.map((t) => t.id));
    expect(firsts).toEqual([[1], [], []]);
  });
});

describe('Tracker: contract', () => {
  it('is pure: the same input gives the same output, and no clock is read', () => {
    const now = vi.spyOn(Date, 'now');
    const perf = vi.spyOn(performance, 'now');
    const run = () => {
      const tracker = new Tracker();
      const noise = gaussian(1);
      const out = [];
      for (let ms = 0; ms < 3000; ms += 150) out.push(tracker.update(ms % 900 === 0 ? [] : [face(jittered(at(100 + ms / 10, 100, 40), noise)), face(at(400, 300, 30), 0.3)], ms));
      return out;
    };
    expect(run()).toEqual(run());
    expect(now).not.toHaveBeenCalled();
    expect(perf).not.toHaveBeenCalled();
  });

  it('reports tracks() as the latest boxes and clear() ends every track once', () => {
    const tracker = new Tracker();
    const { boxes } = tracker.update([face(at(100, 100, 40)), face(at(300, 100, 40))], 500);
    expect(tracker.tracks()).toEqual(boxes);
    const cleared = tracker.clear();
    expect(cleared.map((t) => [t.id, t.reason, t.endedMs])).toEqual([
      [1, 'cleared', 500],
      [2, 'cleared', 500],
    ]);
    expect(tracker.clear()).toEqual([]);
    expect(tracker.update([], 600)).toEqual({ boxes: [], started: [], ended: [] });
  });

  it('ignores unusable detections and does not move backwards in time', () => {
    const tracker = new Tracker();
    const { boxes } = tracker.update([face({ x: 0, y: 0, width: 0, height: 10 }), face({ x: NaN, y: 0, width: 10, height: 10 }), face(at(50, 50, 20), NaN), face(at(100, 100, 20))], 1000);
    expect(boxes).toHaveLength(1);
    const back = tracker.update([face(at(100, 100, 20))], 400); // an earlier time is taken as 1000
    expect(back.boxes[0]).toMatchObject({ id: 1, lastSeenMs: 1000, ageMs: 0, hits: 2 });
    expect(() => tracker.update([], NaN)).toThrow(RangeError);
  });

  it('rejects settings that cannot work, naming each', () => {
    expect(() => new Tracker({ lowScore: 0.6, highScore: 0.5 })).toThrow(/lowScore/);
    expect(() => new Tracker({ maxGrowth: 0.5, confirmHits: 0 })).toThrow(/confirmHits.*maxGrowth|maxGrowth.*confirmHits/);
    expect(() => new Tracker({ motion: { measurementStd: 0 } })).toThrow(/measurementStd/);
    expect(new Tracker({ centreFallback: { chi2: 9.21 } })).toBeInstanceOf(Tracker);
  });
});

describe('Tracker: scale', () => {
  it('follows hundreds of random detections per frame without a blow-up (time reported, not asserted)', () => {
    const tracker = new Tracker();
    const noise = gaussian(17);
    let seed = 23;
    const uniform = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const faces = Array.from({ length: 300 }, () => ({ x: uniform() * 1900, y: uniform() * 1060, vx: noise() * 40, vy: noise() * 40, size: 12 + uniform() * 60 }));
    const frames = 50;
    let liveMax = 0;
    const started = performance.now();
    const cpu = process.cpuUsage();
    for (let f = 0; f < frames; f++) {
      const dets: Detection[] = [];
      for (const p of faces) {
        p.x += p.vx * 0.2;
        p.y += p.vy * 0.2;
        if (uniform() < 0.85) dets.push(face(jittered(at(p.x, p.y, p.size), noise), 0.05 + uniform() * 0.95));
      }
      for (let k = 0; k < 30; k++) dets.push(face(at(uniform() * 1900, uniform() * 1060, 10 + uniform() * 40), uniform())); // clutter
      liveMax = Math.max(liveMax, tracker.update(dets, f * 200).boxes.length);
    }
    const ms = performance.now() - started;
    const cpuMs = process.cpuUsage(cpu).user / 1000;
    console.log(`tracker: 300 faces + 30 clutter per frame, ${frames} frames: ${(ms / frames).toFixed(2)} ms per frame (wall), ${(cpuMs / frames).toFixed(2)} ms CPU, at most ${liveMax} live tracks`);
    expect(liveMax).toBeGreaterThan(250);
    expect(liveMax).toBeLessThan(1000);
  });
});

describe('Tracker: predictAt (video frames between analysed ones)', () => {
  it('gives what update([], t) would, without changing the tracker', () => {
    const make = () => {
      const t = new Tracker();
      for (let i = 0; i < 4; i += 1) t.update([face(at(100 + 20 * i, 100, 40))], i * 100);
      return t;
    };
    const peeked = make();
    const reference = make();
    const times = [433, 466, 500];
    const peeks = times.map((time) => peeked.predictAt(time));
    // Peeking changed nothing: the next real update matches a tracker that never peeked.
    expect(peeked.update([face(at(200, 100, 40))], 500)).toEqual(reference.update([face(at(200, 100, 40))], 500));
    const missed = make().update([], 466).boxes;
    expect(peeks[1]).toEqual(missed);
    expect(peeks[1][0].state).toBe('predicted');
    // The face walks on at 200 px/s: the peek follows it and covers it.
    expect(coverage(at(100 + 20 * 4.66, 100, 40), peeks[1][0].box)).toBeGreaterThan(0.95);
  });

  it('leaves out tracks past their limit at that time', () => {
    const t = new Tracker({ maxMissedMs: 500, tentativeMaxMissedMs: 200 });
    t.update([face(at(50, 50, 20))], 0);
    t.update([face(at(50, 50, 20))], 100);
    expect(t.predictAt(550)).toHaveLength(1);
    expect(t.predictAt(700)).toHaveLength(0);
    expect(t.tracks()).toHaveLength(1);
  });
});
