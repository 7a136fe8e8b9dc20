import { describe, expect, it } from 'vitest';
import { iou, nms } from '../../src/detect/nms.ts';
import type { Candidate } from '../../src/detect/decoders/common.ts';

const box = (x1: number, y1: number, x2: number, y2: number, score: number, classId = 0): Candidate => ({ x1, y1, x2, y2, score, classId });

describe('iou', () => {
  it('is 1 for the same box, 0 for disjoint or touching boxes, and exact for a half overlap', () => {
    expect(iou(box(0, 0, 10, 10, 1), box(0, 0, 10, 10, 1))).toBe(1);
    expect(iou(box(0, 0, 10, 10, 1), box(10, 0, 20, 10, 1))).toBe(0);
    expect(iou(box(0, 0, 10, 10, 1), box(50, 50, 60, 60, 1))).toBe(0);
    // overlap 5x10 = 50, union 150
    expect(iou(box(0, 0, 10, 10, 1), box(5, 0, 15, 10, 1))).toBeCloseTo(50 / 150, 10);
  });
});

describe('greedy nms', () => {
  it('keeps the best of overlapping boxes and all disjoint ones, best first', () => {
    const kept = nms([box(1, 1, 11, 11, 0.6), box(0, 0, 10, 10, 0.9), box(100, 100, 120, 120, 0.7)], { iouThreshold: 0.5 });
    expect(kept.map((k) => k.score)).toEqual([0.9, 0.7]);
    expect(kept[0]).toMatchObject({ x1: 0, y1: 0, x2: 10, y2: 10 });
  });

  it('is class-aware: overlapping boxes of different classes both stay', () => {
    const kept = nms([box(0, 0, 10, 10, 0.9, 0), box(0, 0, 10, 10, 0.8, 1)], { iouThreshold: 0.5 });
    expect(kept).toHaveLength(2);
  });

  it('keeps boxes whose overlap is at or below the threshold', () => {
    // IoU 1/3 < 0.5
    expect(nms([box(0, 0, 10, 10, 0.9), box(5, 0, 15, 10, 0.8)], { iouThreshold: 0.5 })).toHaveLength(2);
    expect(nms([box(0, 0, 10, 10, 0.9), box(5, 0, 15, 10, 0.8)], { iouThreshold: 0.3 })).toHaveLength(1);
  });

  it('honours maxDetections', () => {
    const many = Array.from({ length: 10 }, (_, i) => box(i * 20, 0, i * 20 + 10, 10, 1 - i / 100));
    expect(nms(many, { iouThreshold: 0.5, maxDetections: 3 }).map((k) => k.x1)).toEqual([0, 20, 40]);
  });
});

describe('weighted nms', () => {
  it('averages a cluster by score and keeps the best score', () => {
    const kept = nms([box(0, 0, 10, 10, 0.75), box(2, 2, 12, 12, 0.25), box(50, 50, 60, 60, 0.5)], { iouThreshold: 0.3, mode: 'weighted' });
    expect(kept).toHaveLength(2);
    expect(kept[0].score).toBe(0.75);
    expect(kept[0].x1).toBeCloseTo(0.5, 10);
    expect(kept[0].x2).toBeCloseTo(10.5, 10);
    expect(kept[1]).toMatchObject({ x1: 50, x2: 60, score: 0.5 });
  });
});
