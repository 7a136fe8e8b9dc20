/** Decoders on hand-made tensors: each test builds the exact layout a model emits and checks the decoded box. */
import { describe, expect, it } from 'vitest';
import { decodeBlazeface, defaultAnchorLayout, generateAnchors } from '../../src/detect/decoders/blazeface.ts';
import { decodeCenternet } from '../../src/detect/decoders/centernet.ts';
import { decodeNanodet, distributionExpectation } from '../../src/detect/decoders/nanodet.ts';
import { logit, type OutputTensor } from '../../src/detect/decoders/common.ts';
import type { ModelManifest } from '../../src/detect/manifest.ts';

function manifest(size: number, decoder: ModelManifest['decoder'], decoderOptions: Record<string, unknown> = {}): ModelManifest {
  return {
    id: 'test',
    task: decoder === 'blazeface' ? 'face' : 'objects',
    description: '',
    source: { package: '', path: '', format: 'tfjs-graph', license: '' },
    input: { name: 'input', width: size, height: size, layout: 'NCHW', mean: [0, 0, 0], std: [1, 1, 1], resize: 'stretch' },
    outputs: [],
    decoder,
    decoderOptions,
    defaultThreshold: 0.5,
    nmsIou: 0.3,
  };
}

describe('blazeface anchors', () => {
  it('match Human: 128 px input → 16x16x2 + 8x8x6 = 896 anchors at cell centres', () => {
    const levels = generateAnchors(128, 128, defaultAnchorLayout(128));
    expect(levels.map((l) => l.length / 2)).toEqual([512, 384]);
    expect(Array.from(levels[0].subarray(0, 6))).toEqual([4, 4, 4, 4, 12, 4]);
    expect(Array.from(levels[1].subarray(0, 2))).toEqual([8, 8]);
    // last anchor of the 8x8 grid: cell (7,7) centre
    expect(Array.from(levels[1].subarray(levels[1].length - 2))).toEqual([120, 120]);
  });

  it('match Human for 256 px (strides 16, 32) and the 192 px full-range model (stride 4, one anchor)', () => {
    expect(generateAnchors(256, 256, defaultAnchorLayout(256)).map((l) => l.length / 2)).toEqual([512, 384]);
    const full = generateAnchors(192, 192, defaultAnchorLayout(192));
    expect(full.map((l) => l.length / 2)).toEqual([2304]);
    expect(Array.from(full[0].subarray(0, 4))).toEqual([2, 2, 6, 2]);
  });
});

describe('decodeBlazeface', () => {
  it('decodes separate score [N,1] and regressor [N,16] outputs per anchor level, in any order', () => {
    const m = manifest(128, 'blazeface');
    const s512 = new Float32Array(512).fill(-10);
    const r512 = new Float32Array(512 * 16);
    const s384 = new Float32Array(384).fill(-10);
    const r384 = new Float32Array(384 * 16);
    // anchor 35 of the 16x16x2 level: cell index 17 → (col 1, row 1) → centre (12, 12)
    s512[35] = 2;
    r512.set([3, -2, 20, 30], 35 * 16);
    // anchor 0 of the 8x8x6 level: centre (8, 8)
    s384[0] = 0;
    r384.set([0, 0, 40, 40], 0);
    const outputs: OutputTensor[] = [
      { data: r384, dims: [1, 384, 16] },
      { data: s512, dims: [1, 512, 1] },
      { data: s384, dims: [1, 384, 1] },
      { data: r512, dims: [1, 512, 16] },
    ];
    const found = decodeBlazeface(outputs, m, 0.4).sort((a, b) => b.score - a.score);
    expect(found).toHaveLength(2);
    expect(found[0].score).toBeCloseTo(1 / (1 + Math.exp(-2)), 6);
    expect(found[0]).toMatchObject({ x1: 5, y1: -5, x2: 25, y2: 25, classId: 0 });
    expect(found[1].score).toBeCloseTo(0.5, 6);
    expect(found[1]).toMatchObject({ x1: -12, y1: -12, x2: 28, y2: 28 });
    expect(decodeBlazeface(outputs, m, 0.6)).toHaveLength(1);
  });

  it('decodes [N,17] rows (score + regressors) over all anchors', () => {
    const m = manifest(192, 'blazeface');
    const data = new Float32Array(2304 * 17).fill(0);
    for (let i = 0; i < 2304; i++) data[i * 17] = -8;
    // anchor at row 12, col 39 → centre (158, 50)
    const i = 12 * 48 + 39;
    data.set([logit(0.9), -1, 2, 22, 24], i * 17);
    const found = decodeBlazeface([{ data, dims: [1, 2304, 17] }], m, 0.5);
    expect(found).toHaveLength(1);
    expect(found[0].score).toBeCloseTo(0.9, 5);
    expect(found[0].x1).toBeCloseTo(157 - 11, 4);
    expect(found[0].y1).toBeCloseTo(52 - 12, 4);
    expect(found[0].x2).toBeCloseTo(157 + 11, 4);
    expect(found[0].y2).toBeCloseTo(52 + 12, 4);
  });

  it('fails loudly on outputs it does not know', () => {
    expect(() => decodeBlazeface([{ data: new Float32Array(10), dims: [1, 10] }], manifest(128, 'blazeface'), 0.5)).toThrow(/unexpected outputs/);
  });
});

describe('decodeCenternet', () => {
  const m = manifest(32, 'centernet', { numClasses: 3 });
  const H = 8;
  const W = 8;

  function tensors(): { heat: Float32Array; box: Float32Array } {
    const heat = new Float32Array(H * W * 3);
    const box = new Float32Array(H * W * 4);
    return { heat, box };
  }

  it('keeps 3x3 peaks of each class plane and decodes ltrb distances from the cell point (stride = input / grid)', () => {
    const { heat, box } = tensors();
    const at = (y: number, x: number, k: number): number => (y * W + x) * 3 + k;
    heat[at(2, 3, 1)] = 0.9; // peak
    heat[at(2, 4, 1)] = 0.6; // neighbour of the peak in the same class: suppressed
    heat[at(2, 4, 2)] = 0.7; // same cell, other class: its own peak
    heat[at(6, 6, 0)] = 0.2; // below threshold
    box.set([4, 2, 6, 8], (2 * W + 3) * 4);
    box.set([1, 1, 1, 1], (2 * W + 4) * 4);
    const found = decodeCenternet([{ data: box, dims: [1, H, W, 4] }, { data: heat, dims: [1, H, W, 3] }], m, 0.3);
    expect(found).toHaveLength(2);
    expect(found[0]).toMatchObject({ classId: 1, x1: 12 - 4, y1: 8 - 2, x2: 12 + 6, y2: 8 + 8 });
    expect(found[0].score).toBeCloseTo(0.9, 6);
    expect(found[1]).toMatchObject({ classId: 2, x1: 15, y1: 7, x2: 17, y2: 9 });
  });

  it('accepts NCHW outputs and limits to topK', () => {
    const heat = new Float32Array(3 * H * W);
    const box = new Float32Array(4 * H * W).fill(1);
    // class 0 plane: isolated peaks at (0,0), (0,4), (4,0)
    heat[0] = 0.5;
    heat[4] = 0.8;
    heat[4 * W] = 0.6;
    const m2 = manifest(32, 'centernet', { numClasses: 3, topK: 2 });
    const found = decodeCenternet([{ data: heat, dims: [1, 3, H, W] }, { data: box, dims: [1, 4, H, W] }], m2, 0.1);
    expect(found.map((f) => f.score)).toEqual([Math.fround(0.8), Math.fround(0.6)]);
    expect(found[0]).toMatchObject({ x1: 15, y1: -1, x2: 17, y2: 1 });
  });
});

describe('decodeNanodet', () => {
  it('computes the softmax expectation of a side distribution', () => {
    const d = new Float32Array([0, 0, 0, 0]);
    expect(distributionExpectation(d, 0, 4)).toBeCloseTo(1.5, 10);
    const peaked = new Float32Array([-50, -50, 50, -50]);
    expect(distributionExpectation(peaked, 0, 4)).toBeCloseTo(2, 6);
  });

  it('decodes per stride level: distances × stride from the cell centre, one candidate per passing class', () => {
    const m = manifest(64, 'nanodet', { numClasses: 2, strides: [16, 32] });
    const bins = 4;
    // stride 16 → 4x4 = 16 cells; stride 32 → 2x2 = 4 cells
    const s16 = new Float32Array(16 * 2);
    const b16 = new Float32Array(16 * 4 * bins).fill(-50);
    const s32 = new Float32Array(4 * 2);
    const b32 = new Float32Array(4 * 4 * bins).fill(-50);
    // stride 16, cell (col 2, row 1) = index 6, centre (40, 24); sides l=1, t=0, r=2, b=3 bins
    s16[6 * 2 + 1] = 0.8;
    s16[6 * 2 + 0] = 0.6;
    [1, 0, 2, 3].forEach((bin, side) => (b16[6 * 16 + side * bins + bin] = 50));
    // stride 32, cell (col 1, row 1) = index 3, centre (48, 48); all sides 1 bin
    s32[3 * 2 + 0] = 0.95;
    for (let side = 0; side < 4; side++) b32[3 * 16 + side * bins + 1] = 50;
    const outputs: OutputTensor[] = [
      { data: s32, dims: [1, 4, 2] },
      { data: b16, dims: [1, 16, 16] },
      { data: s16, dims: [1, 16, 2] },
      { data: b32, dims: [1, 4, 16] },
    ];
    const found = decodeNanodet(outputs, m, 0.5).sort((a, b) => b.score - a.score);
    expect(found).toHaveLength(3);
    const close = (c: (typeof found)[number], expected: number[]): void =>
      [c.x1, c.y1, c.x2, c.y2].forEach((v, i) => expect(v).toBeCloseTo(expected[i], 3));
    expect(found[0].classId).toBe(0);
    close(found[0], [16, 16, 80, 80]);
    expect(found[1].classId).toBe(1);
    close(found[1], [24, 24, 72, 72]);
    expect(found[2].classId).toBe(0);
    close(found[2], [24, 24, 72, 72]);
  });

  it('fails loudly when a stride level is missing', () => {
    const m = manifest(64, 'nanodet', { numClasses: 2, strides: [8] });
    expect(() => decodeNanodet([{ data: new Float32Array(8), dims: [1, 4, 2] }], m, 0.5)).toThrow(/stride 8/);
  });
});
