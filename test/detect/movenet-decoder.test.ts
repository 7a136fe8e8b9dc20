/**
 * decodeMovenet on small synthetic maps (pure, no model): the graph's rules one at a time. Real output against the
 * graph's own rows is test/detect/movenet-reference.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { decodeMovenet, MOVENET_KEYPOINTS } from '../../src/detect/decoders/movenet.ts';
import type { OutputTensor } from '../../src/detect/decoders/common.ts';
import type { ModelManifest } from '../../src/detect/manifest.ts';
import { pseudoRandom } from '../convert/tiny-graph.ts';

const N = 16;
const K = MOVENET_KEYPOINTS.length;
const manifest = { decoderOptions: {} } as unknown as ModelManifest;

function maps(fill: (name: string, c: number) => number = () => 0): { center: Float32Array; heat: Float32Array; regress: Float32Array; offset: Float32Array; scale: Float32Array; boxOffset: Float32Array } {
  const make = (name: string, c: number): Float32Array => Float32Array.from({ length: N * N * c }, () => fill(name, c));
  return { center: make('center', 1), heat: make('heat', K), regress: make('regress', 2 * K), offset: make('offset', 2 * K), scale: make('scale', 2), boxOffset: make('boxOffset', 2) };
}

function tensors(m: ReturnType<typeof maps>): OutputTensor[] {
  const t = (data: Float32Array, c: number): OutputTensor => ({ data, dims: [1, N, N, c] });
  return [t(m.center, 1), t(m.heat, K), t(m.regress, 2 * K), t(m.offset, 2 * K), t(m.scale, 2), t(m.boxOffset, 2)];
}

const at = (r: number, c: number, channels: number, k = 0): number => (r * N + c) * channels + k;

describe('decodeMovenet', () => {
  it('one person: centre peak, box from size and offset, keypoint at the box-masked weighted heatmap peak plus its offset', () => {
    const m = maps();
    m.center[at(5, 7, 1)] = 0.9;
    m.scale[at(5, 7, 2)] = 6; // height
    m.scale[at(5, 7, 2, 1)] = 4; // width
    m.boxOffset[at(5, 7, 2)] = 0.5; // box centre (5.5, 7): y 2.5..8.5, x 5..9
    m.regress[at(5, 7, 2 * K, 0)] = -2; // nose regressed to (3, 7)
    m.heat[at(3, 7, K, 0)] = 0.8; // the nose's peak, where it was regressed to
    m.heat[at(0, 0, K, 0)] = 0.95; // higher, but outside the box
    m.heat[at(8, 8, K, 0)] = 0.85; // inside, but far from the regressed point
    m.offset[at(3, 7, 2 * K, 0)] = 0.25;
    m.offset[at(3, 7, 2 * K, 1)] = -0.25;
    const [p] = decodeMovenet(tensors(m), manifest, { maxPeople: 1 });
    expect(p.centerScore).toBeCloseTo(0.9, 6);
    expect(p.box.ymin).toBeCloseTo(2.5 / N, 6);
    expect(p.box.ymax).toBeCloseTo(8.5 / N, 6);
    expect(p.box.xmin).toBeCloseTo(5 / N, 6);
    expect(p.box.xmax).toBeCloseTo(9 / N, 6);
    expect(p.keypoints[0].y).toBeCloseTo(3.25 / N, 6);
    expect(p.keypoints[0].x).toBeCloseTo(6.75 / N, 6);
    expect(p.keypoints[0].score).toBeCloseTo(0.8, 6);
    // No heat for the other keypoints: cell (0, 0), score 0, as the graph's ArgMax of zeros.
    expect(p.keypoints[1]).toEqual({ y: 0, x: 0, score: 0 });
    // Person score: centre x mean of the keypoint scores above 0.127 (only the nose).
    expect(p.score).toBeCloseTo(0.9 * 0.8, 6);
  });

  it('keeps the top centres by score, a peak only where it equals its 5x5 max-pool, ties by lower index', () => {
    const m = maps();
    m.center[at(2, 2, 1)] = 0.5;
    m.center[at(2, 4, 1)] = 0.6; // within 2 cells of (2,2): (2,2) is no peak
    m.center[at(10, 10, 1)] = 0.4;
    m.center[at(10, 14, 1)] = 0.4; // a tie, further right
    const people = decodeMovenet(tensors(m), manifest, { maxPeople: 4 });
    expect(people.map((p) => p.centerScore)).toEqual([0.6, 0.4, 0.4, 0].map(Math.fround));
    // With the box sizes all 0 every box is a point: person score 0.
    expect(people.every((p) => p.score === 0)).toBe(true);
  });

  it('more people than the graph: the first six keep their boxes and keypoints, keypoint scores can only rise', () => {
    let seed = 1;
    const m = maps((name, c) => {
      const v = pseudoRandom(1, seed++)[0];
      if (name === 'center' || name === 'heat') return (v + 1) / 2;
      if (name === 'scale') return 6 + 4 * v;
      return c === 2 * K && name === 'regress' ? 3 * v : v;
    });
    const six = decodeMovenet(tensors(m), manifest, { maxPeople: 6 });
    const twelve = decodeMovenet(tensors(m), manifest, { maxPeople: 12 });
    expect(twelve).toHaveLength(12);
    six.forEach((p, i) => {
      const q = twelve[i];
      expect(q.box).toEqual(p.box);
      expect(q.centerScore).toBe(p.centerScore);
      q.keypoints.forEach((k, j) => {
        expect([k.x, k.y]).toEqual([p.keypoints[j].x, p.keypoints[j].y]);
        expect(k.score).toBeGreaterThanOrEqual(p.keypoints[j].score);
      });
    });
  });

  it('rejects maps of the wrong shape', () => {
    const t = tensors(maps());
    expect(() => decodeMovenet([t[0], { data: t[1].data, dims: [1, N, N * K] }, ...t.slice(2)], manifest)).toThrow(/keypoint_heatmap must be \[1,H,W,17\]/);
  });
});
