import { describe, expect, it } from 'vitest';
import {
  averagePrecision,
  faceMetrics,
  iou,
  matchImage,
  objectMetrics,
  operatingPoint,
  prCurve,
  STRICT_FACE_PROTOCOL,
} from '../../scripts/eval/metrics.ts';
import type { Box } from '../../scripts/eval/datasets.ts';

const d = (box: Box, score: number, classId?: number) => ({ box, score, classId });
const t = (box: Box, classId?: number) => ({ box, classId });

describe('iou', () => {
  it('is intersection over union of [x, y, w, h] boxes', () => {
    // Overlap 5x10 = 50; union 100 + 100 - 50 = 150.
    expect(iou([0, 0, 10, 10], [5, 0, 10, 10])).toBeCloseTo(1 / 3, 12);
    expect(iou([0, 0, 10, 10], [0, 0, 10, 10])).toBe(1);
    expect(iou([0, 0, 10, 10], [10, 0, 10, 10])).toBe(0);
    // A 20x20 box containing a 10x10 one: 100 / 400.
    expect(iou([0, 0, 20, 20], [5, 5, 10, 10])).toBe(0.25);
  });
});

describe('matchImage', () => {
  it('takes detections by descending score; a second hit on a matched truth is a false positive', () => {
    const m = matchImage([d([0, 0, 20, 20], 0.5), d([1, 1, 20, 20], 0.9)], [[0, 0, 20, 20]]);
    expect(m.outcomes).toEqual([
      { score: 0.9, outcome: 'tp' },
      { score: 0.5, outcome: 'fp' },
    ]);
  });

  it('matches the free truth with the highest IoU, and IoU exactly 0.5 counts', () => {
    // The detection overlaps truth A by 1/3 and truth B exactly by 0.5 ([0,0,20,20] vs [0,0,20,10]: 200/400).
    const m = matchImage([d([0, 0, 20, 20], 0.9)], [[10, 0, 20, 20], [0, 0, 20, 10]]);
    expect(m.outcomes[0].outcome).toBe('tp');
    const miss = matchImage([d([0, 0, 20, 20], 0.9)], [[0, 0, 20, 9.9]]);
    expect(miss.outcomes[0].outcome).toBe('fp');
  });

  it('greedy: a taken truth is skipped in favour of the next best free one', () => {
    // Two truths side by side; the first detection covers T1 best; the second overlaps T1 more than T2 but T1 is taken.
    const truths: Box[] = [[0, 0, 20, 20], [4, 0, 20, 20]];
    const m = matchImage([d([0, 0, 20, 20], 0.9), d([1, 0, 20, 20], 0.8)], truths);
    expect(m.outcomes.map((o) => o.outcome)).toEqual(['tp', 'tp']);
  });

  it('ignores truths under minSize, detections matched to them, and unmatched detections under minSize', () => {
    const truths: Box[] = [[100, 100, 8, 30], [0, 0, 20, 20]];
    const m = matchImage(
      [d([100, 100, 8, 30], 0.95), d([50, 50, 6, 6], 0.9), d([0, 0, 20, 20], 0.8), d([200, 200, 20, 20], 0.7)],
      truths,
      { minSize: 10 },
    );
    expect(m.outcomes.map((o) => o.outcome)).toEqual(['ignored', 'ignored', 'tp', 'fp']);
    expect(m.counted).toBe(1);
    expect(m.ignoredTruths).toBe(1);
    // The strict variant counts the small stray detection as a false positive, still ignores the one on the small face.
    const strict = matchImage([d([100, 100, 8, 30], 0.95), d([50, 50, 6, 6], 0.9)], truths, { minSize: 10, countSmallDetections: true });
    expect(strict.outcomes.map((o) => o.outcome)).toEqual(['ignored', 'fp']);
  });

  it('prefers a counted truth over an ignored one when both overlap enough', () => {
    // Ignored truth 9x20 and counted truth 20x20 share the region; the detection matches the counted one.
    const m = matchImage([d([0, 0, 20, 20], 0.9)], [[0, 0, 9, 20], [0, 0, 20, 20]], { minSize: 10 });
    expect(m.outcomes[0].outcome).toBe('tp');
  });
});

describe('average precision (all-point, VOC2010+)', () => {
  it('TP, FP, TP over two truths gives 0.5*1 + 0.5*2/3', () => {
    const m = matchImage([d([0, 0, 20, 20], 0.9), d([100, 100, 20, 20], 0.8), d([50, 0, 20, 20], 0.7)], [[0, 0, 20, 20], [50, 0, 20, 20]]);
    const curve = prCurve([m]);
    expect(curve.recall).toEqual([0.5, 0.5, 1]);
    expect(curve.precision).toEqual([1, 0.5, 2 / 3]);
    expect(averagePrecision(curve)).toBeCloseTo(0.5 + 1 / 3, 12);
  });

  it('uses the precision envelope: a later higher precision lifts earlier recall levels', () => {
    // FP, TP, TP with two truths: P = 0, 1/2, 2/3 at R = 0, 0.5, 1 -> envelope 2/3 everywhere -> AP = 2/3.
    expect(averagePrecision({ recall: [0, 0.5, 1], precision: [0, 0.5, 2 / 3] })).toBeCloseTo(2 / 3, 12);
  });

  it('pools images, sorts by score across them and is 0 when nothing is found', () => {
    const a = matchImage([d([0, 0, 20, 20], 0.6)], [[0, 0, 20, 20]]);
    const b = matchImage([d([0, 0, 20, 20], 0.9)], [[50, 50, 20, 20]]);
    // Pooled: FP (0.9) then TP (0.6) over 2 truths: R = 0, 0.5; P = 0, 0.5 -> AP = 0.5 * 0.5.
    expect(averagePrecision(prCurve([a, b]))).toBeCloseTo(0.25, 12);
    expect(averagePrecision(prCurve([matchImage([], [[0, 0, 20, 20]])]))).toBe(0);
  });

  it('recall and precision at a threshold count only detections scoring at least that', () => {
    const m = matchImage([d([0, 0, 20, 20], 0.9), d([100, 100, 20, 20], 0.8), d([50, 0, 20, 20], 0.7)], [[0, 0, 20, 20], [50, 0, 20, 20]]);
    expect(operatingPoint([m], 0.8)).toEqual({ threshold: 0.8, truePositives: 1, falsePositives: 1, recall: 0.5, precision: 0.5 });
    expect(operatingPoint([m], 0.95).precision).toBeUndefined();
  });
});

describe('faceMetrics', () => {
  const images = [
    {
      truths: [t([0, 0, 20, 20]), t([40, 0, 20, 20]), t([80, 0, 5, 5])],
      detections: [d([0, 0, 20, 20], 0.9), d([80, 0, 5, 5], 0.85), d([200, 0, 4, 4], 0.5), d([40, 0, 20, 20], 0.2), d([300, 0, 30, 30], 0.1)],
    },
  ];

  it('reports AP, the ignored counts and the operating point', () => {
    const m = faceMetrics(images, 0.5);
    // Counted: TP 0.9, TP 0.2, FP 0.1 -> R 0.5, 1, 1; P 1, 1, 2/3 -> AP 1.
    expect(m.ap50).toBeCloseTo(1, 12);
    expect(m.counted).toBe(2);
    expect(m.ignoredTruths).toBe(1);
    expect(m.ignoredDetections).toBe(2);
    expect(m.atThreshold).toMatchObject({ truePositives: 1, falsePositives: 0, recall: 0.5, precision: 1 });
  });

  it('the strict protocol drops detections under 0.3 and counts small strays', () => {
    // Kept: TP 0.9, ignored 0.85 (on a small face), FP 0.5 (small stray) -> R 0.5, 0.5; P 1, 0.5 -> AP 0.5.
    expect(faceMetrics(images, 0.5, STRICT_FACE_PROTOCOL).ap50).toBeCloseTo(0.5, 12);
  });
});

describe('objectMetrics', () => {
  it('averages per-class AP50 over the classes in the ground truth only', () => {
    const images = [
      {
        truths: [t([0, 0, 50, 50], 0), t([100, 0, 50, 50], 1), t([200, 0, 50, 50], 1)],
        detections: [
          d([0, 0, 50, 50], 0.9, 0), // class 0: TP -> AP 1
          d([100, 0, 50, 50], 0.8, 1), // class 1: TP, then a wrong-class box, then nothing for the second truth
          d([200, 0, 50, 50], 0.7, 0), // class 0 detection on a class-1 object: FP for class 0 (after its TP, AP stays 1)
          d([300, 0, 50, 50], 0.95, 7), // class 7 is not in the ground truth: not in the mean, FP at the operating point
        ],
      },
    ];
    const m = objectMetrics(images, 0.5);
    expect(m.perClass).toEqual([
      { classId: 0, ap50: 1, truths: 1 },
      { classId: 1, ap50: 0.5, truths: 2 },
    ]);
    expect(m.map50).toBeCloseTo(0.75, 12);
    expect(m.atThreshold).toMatchObject({ truePositives: 2, falsePositives: 2, recall: 2 / 3, precision: 0.5 });
  });
});
