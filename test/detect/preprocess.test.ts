import { describe, expect, it } from 'vitest';
import { hwcToNchw, planResize, preprocess, toImageSpace } from '../../src/detect/preprocess.ts';

const input = { width: 4, height: 4, mean: [127.5, 127.5, 127.5] as const, std: [127.5, 127.5, 127.5] as const };

describe('planResize', () => {
  it('stretch maps the model input onto the region, per axis', () => {
    const plan = planResize({ x: 100, y: 50, width: 800, height: 400 }, { width: 200, height: 200, resize: 'stretch' });
    expect(plan).toEqual({ resizedWidth: 200, resizedHeight: 200, transform: { scaleX: 4, scaleY: 2, offsetX: 100, offsetY: 50 } });
  });

  it('letterbox keeps the aspect ratio with the content top-left', () => {
    const plan = planResize({ x: 0, y: 0, width: 1920, height: 1080 }, { width: 512, height: 512, resize: 'letterbox' });
    expect(plan.resizedWidth).toBe(512);
    expect(plan.resizedHeight).toBe(288);
    expect(plan.transform.scaleX).toBeCloseTo(3.75, 10);
    expect(plan.transform.scaleY).toBeCloseTo(3.75, 10);
  });

  it('letterbox of a tall image pads on the right', () => {
    const plan = planResize({ x: 0, y: 0, width: 300, height: 600 }, { width: 100, height: 100, resize: 'letterbox' });
    expect([plan.resizedWidth, plan.resizedHeight]).toEqual([50, 100]);
  });
});

describe('toImageSpace', () => {
  it('maps model pixels to image pixels and clips to the image', () => {
    const t = { scaleX: 4, scaleY: 2, offsetX: 100, offsetY: 50 };
    expect(toImageSpace({ x1: 10, y1: 10, x2: 20, y2: 30, score: 0.5, classId: 3 }, t, 1000, 1000)).toEqual({
      x1: 140, y1: 70, x2: 180, y2: 110, score: 0.5, classId: 3,
    });
    const clipped = toImageSpace({ x1: -10, y1: -10, x2: 400, y2: 400, score: 1, classId: 0 }, t, 1000, 600);
    expect(clipped).toMatchObject({ x1: 60, y1: 30, x2: 1000, y2: 600 });
  });
});

describe('hwcToNchw', () => {
  it('normalises per channel into planes', () => {
    // 2x1 image: red then white
    const rgb = new Uint8Array([255, 0, 0, 255, 255, 255]);
    const t = hwcToNchw(rgb, 2, 1, { width: 2, height: 1, mean: [0, 0, 0], std: [255, 255, 255] });
    expect(Array.from(t)).toEqual([1, 1, 0, 1, 0, 1]);
  });

  it('pads the rest of a letterboxed input with 0 (the mean colour) and reuses a given buffer', () => {
    const out = new Float32Array(48).fill(9);
    const rgb = new Uint8Array(2 * 2 * 3).fill(255);
    const t = hwcToNchw(rgb, 2, 2, input, out);
    expect(t).toBe(out);
    // first plane: rows 0-1, cols 0-1 are 1; others 0
    expect(Array.from(t.subarray(0, 16))).toEqual([1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });
});

describe('preprocess', () => {
  it('resizes a region with sharp and returns the transform back to the image', async () => {
    // 8x4 image: left half black, right half white.
    const data = new Uint8Array(8 * 4 * 3);
    for (let y = 0; y < 4; y++) for (let x = 4; x < 8; x++) data.fill(255, (y * 8 + x) * 3, (y * 8 + x) * 3 + 3);
    const image = { data, width: 8, height: 4 };
    const { tensor, transform } = await preprocess(image, { ...input, name: 'x', layout: 'NCHW', resize: 'stretch' }, { x: 4, y: 0, width: 4, height: 4 });
    expect(transform).toEqual({ scaleX: 1, scaleY: 1, offsetX: 4, offsetY: 0 });
    expect(Array.from(tensor).every((v) => v === 1)).toBe(true);
    const whole = await preprocess(image, { ...input, name: 'x', layout: 'NCHW', resize: 'letterbox' });
    expect(whole.transform).toEqual({ scaleX: 2, scaleY: 2, offsetX: 0, offsetY: 0 });
    // letterboxed 4x2 content on top, padding (0) below
    expect(whole.tensor[0]).toBe(-1);
    expect(whole.tensor[3]).toBe(1);
    expect(whole.tensor[12]).toBe(0);
  });
});
