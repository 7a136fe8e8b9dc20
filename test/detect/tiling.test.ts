import { describe, expect, it } from 'vitest';
import { planRegions, touchesInnerEdge, windowStarts } from '../../src/detect/tiling.ts';

describe('windowStarts', () => {
  it('spreads windows evenly to cover the length exactly', () => {
    expect(windowStarts(100, 60, 2)).toEqual([0, 40]);
    expect(windowStarts(100, 40, 3)).toEqual([0, 30, 60]);
    expect(windowStarts(100, 120, 3)).toEqual([0]);
  });
});

describe('planRegions', () => {
  it('gives only the whole image when tiling is off or the image is small for the model', () => {
    expect(planRegions(416, 416, 256, { tiles: 0, overlap: 0.25, minImageToInput: 1 })).toEqual([{ x: 0, y: 0, width: 416, height: 416, whole: true }]);
    expect(planRegions(300, 200, 256, { tiles: 2, overlap: 0.25, minImageToInput: 1.5 })).toHaveLength(1);
  });

  it('adds a 2x2 grid of overlapping square tiles covering the image', () => {
    const regions = planRegions(416, 416, 256, { tiles: 2, overlap: 0.25, minImageToInput: 1.5 });
    expect(regions).toHaveLength(5);
    const tiles = regions.filter((r) => !r.whole);
    const side = Math.ceil(416 / 1.75);
    for (const t of tiles) expect([t.width, t.height]).toEqual([side, side]);
    expect(tiles.map((t) => [t.x, t.y])).toEqual([[0, 0], [416 - side, 0], [0, 416 - side], [416 - side, 416 - side]]);
  });

  it('adds more tiles along the longer side of a wide image', () => {
    const regions = planRegions(1920, 1080, 256, { tiles: 3, overlap: 0.2, minImageToInput: 1.5 });
    const tiles = regions.filter((r) => !r.whole);
    const xs = new Set(tiles.map((t) => t.x));
    const ys = new Set(tiles.map((t) => t.y));
    expect(xs.size).toBe(3);
    expect(ys.size).toBe(2);
    for (const t of tiles) {
      expect(t.x + t.width).toBeLessThanOrEqual(1920);
      expect(t.y + t.height).toBeLessThanOrEqual(1080);
    }
    expect(Math.max(...tiles.map((t) => t.x + t.width))).toBe(1920);
    expect(Math.max(...tiles.map((t) => t.y + t.height))).toBe(1080);
  });
});

describe('touchesInnerEdge', () => {
  const tile = { x: 100, y: 0, width: 200, height: 200 };
  it('flags boxes cut by a tile edge inside the image, not by the image border', () => {
    expect(touchesInnerEdge({ x1: 100, y1: 50, x2: 150, y2: 100 }, tile, 300, 400)).toBe(true); // left edge, inside image
    expect(touchesInnerEdge({ x1: 150, y1: 150, x2: 200, y2: 200 }, tile, 300, 400)).toBe(true); // bottom edge, inside image
    expect(touchesInnerEdge({ x1: 150, y1: 0, x2: 300, y2: 100 }, tile, 300, 400)).toBe(false); // top/right are image borders
    expect(touchesInnerEdge({ x1: 150, y1: 50, x2: 200, y2: 100 }, tile, 300, 400)).toBe(false);
  });
});
