/** When a camera frame begins a new scene (src/analysis/scene-cut.ts), on real photos: a cut is one, a pan and noise are not. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { RgbImage } from '../../src/core/image.ts';
import { DEFAULT_SCENE_CUT, gridDifference, lumaGrid, SceneCut } from '../../src/analysis/scene-cut.ts';

const SAMPLES = join(import.meta.dirname, '../../node_modules/@vladmandic/face-api/demo');

/** A 1280x720 window of a photo scaled to 1600 wide, `dx` px from its left edge (a pan moves dx). */
async function window(file: string, dx: number): Promise<RgbImage> {
  const { data, info } = await sharp(readFileSync(join(SAMPLES, file)))
    .resize(1600, 900, { fit: 'cover' })
    .extract({ left: dx, top: 90, width: 1280, height: 720 })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}

describe('scene cuts', () => {
  it('a first frame and a new frame size begin a new scene; the same frame again does not', async () => {
    const cut = new SceneCut();
    const frame = await window('sample1.jpg', 0);
    expect(cut.next(frame)).toBe(true);
    expect(cut.next(frame)).toBe(false);
    expect(cut.difference).toBe(0);
    const small = { data: frame.data.subarray(0, 640 * 360 * 3), width: 640, height: 360 };
    expect(cut.next(small)).toBe(true);
  });

  it('a pan of 16 px per frame and JPEG-like noise are no cut; a change to another photo is', async () => {
    const cut = new SceneCut();
    expect(cut.next(await window('sample1.jpg', 0))).toBe(true);
    for (const dx of [16, 32, 48, 64]) {
      expect(cut.next(await window('sample1.jpg', dx)), `pan to ${dx}`).toBe(false);
      expect(cut.difference).toBeLessThan(DEFAULT_SCENE_CUT.threshold / 2);
    }
    const noisy = await window('sample1.jpg', 64);
    for (let i = 0; i < noisy.data.length; i += 7) noisy.data[i] = Math.min(255, noisy.data[i] + ((i * 31) % 17) - 8);
    expect(cut.next(noisy)).toBe(false);
    for (const other of ['sample2.jpg', 'sample3.jpg', 'sample6.jpg']) {
      expect(cut.next(await window(other, 100)), other).toBe(true);
      expect(cut.difference).toBeGreaterThanOrEqual(DEFAULT_SCENE_CUT.threshold);
    }
  });

  it('lights switched on (every pixel brighter by a third) begin a new scene', async () => {
    const dark = await window('sample2.jpg', 0);
    const lit = { ...dark, data: dark.data.map((v) => Math.min(255, v + 85)) };
    const cut = new SceneCut();
    cut.next(dark);
    expect(cut.next(lit)).toBe(true);
  });

  it('grids: cell means of luma in 0..1, differences in 0..1', () => {
    const white = { data: new Uint8Array(256 * 144 * 3).fill(255), width: 256, height: 144 };
    const black = { data: new Uint8Array(256 * 144 * 3), width: 256, height: 144 };
    const w = lumaGrid(white);
    expect(w).toHaveLength(DEFAULT_SCENE_CUT.cols * DEFAULT_SCENE_CUT.rows);
    expect(Math.min(...w)).toBeCloseTo(1, 5);
    expect(gridDifference(w, lumaGrid(black))).toBeCloseTo(1, 5);
    expect(gridDifference(w, w)).toBe(0);
  });
});
