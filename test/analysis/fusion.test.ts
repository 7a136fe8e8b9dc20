/** Weighted box fusion for hiding (src/analysis/fusion.ts): pure, on synthetic boxes. */
import { describe, expect, it } from 'vitest';
import { weightedBoxFusion } from '../../src/analysis/fusion.ts';

const box = (x: number, y: number, w: number, h: number, score: number, source = 'face') => ({ x, y, width: w, height: h, score, source });

describe('weightedBoxFusion', () => {
  it('fuses the passes of one face into one box that keeps the best score and encloses the best member', () => {
    const fused = weightedBoxFusion([box(100, 100, 50, 60, 0.9), box(104, 98, 50, 64, 0.6, 'face:tiles'), box(96, 102, 48, 58, 0.3, 'blazeface-back')]);
    expect(fused).toHaveLength(1);
    const [f] = fused;
    expect(f.score).toBe(0.9);
    expect(f.members).toBe(3);
    expect(f.sources).toEqual(['face', 'face:tiles', 'blazeface-back']);
    // Never less than the best member alone (recall), never more than the union of the members.
    expect(f.x).toBeLessThanOrEqual(100);
    expect(f.y).toBeLessThanOrEqual(100);
    expect(f.x + f.width).toBeGreaterThanOrEqual(150);
    expect(f.y + f.height).toBeGreaterThanOrEqual(160);
    expect(f.x).toBeGreaterThanOrEqual(96);
    expect(f.x + f.width).toBeLessThanOrEqual(154);
  });

  it('keeps faces apart that overlap less than the threshold, best first', () => {
    const fused = weightedBoxFusion([box(0, 0, 40, 40, 0.5), box(30, 0, 40, 40, 0.8), box(200, 200, 20, 20, 0.35)]);
    expect(fused.map((f) => f.score)).toEqual([0.8, 0.5, 0.35]);
    expect(weightedBoxFusion([box(0, 0, 40, 40, 0.5), box(0, 0, 0, 40, 0.9)])).toHaveLength(1);
    expect(weightedBoxFusion([])).toEqual([]);
  });

  it('weights the mean by score: a weak member moves the box less', () => {
    const [f] = weightedBoxFusion([box(100, 100, 100, 100, 0.9), box(110, 100, 100, 100, 0.1)]);
    // x2 = max(weighted mean, best) = (0.9*200 + 0.1*210) / 1 = 201
    expect(f.x + f.width).toBeCloseTo(201, 6);
    expect(f.x).toBe(100);
  });
});
