import { describe, expect, it } from 'vitest';

/** Float32 tensors round exp(log 2) slightly; compare boxes to 1e-5. */
function expectBox(actual: readonly number[], expected: readonly number[]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
}
import { letterboxSize, nms, packNchw } from '../../scripts/eval/reference/common.ts';
import { decodeUltraface } from '../../scripts/eval/reference/ultraface.ts';
import { decodeYolox } from '../../scripts/eval/reference/yolox.ts';
import { decodeYunet, roundUp32 } from '../../scripts/eval/reference/yunet.ts';

describe('packNchw', () => {
  it('writes planes in the requested channel order, normalised, and pads right/bottom', () => {
    const image = { width: 2, height: 1, data: Uint8Array.from([10, 20, 30, 40, 50, 60]) };
    // BGR raw into a 3x2 tensor padded with 114.
    const bgr = packNchw(image, 3, 2, { bgr: true, mean: 0, std: 1 }, 114);
    expect(Array.from(bgr)).toEqual([30, 60, 114, 114, 114, 114, 20, 50, 114, 114, 114, 114, 10, 40, 114, 114, 114, 114]);
    const rgb = packNchw(image, 2, 1, { bgr: false, mean: 127, std: 128 });
    expect(Array.from(rgb)).toEqual([(10 - 127) / 128, (40 - 127) / 128, (20 - 127) / 128, (50 - 127) / 128, (30 - 127) / 128, (60 - 127) / 128]);
  });

  it('letterbox keeps the aspect ratio', () => {
    expect(letterboxSize({ width: 640, height: 480 }, 416, 416)).toEqual({ scale: 0.65, width: 416, height: 312 });
    expect(roundUp32(416)).toBe(416);
    expect(roundUp32(417)).toBe(448);
  });
});

describe('nms', () => {
  it('suppresses overlaps above the IoU within a class only, best score first', () => {
    const kept = nms(
      [
        { box: [0, 0, 10, 10], score: 0.8, classId: 1 },
        { box: [1, 0, 10, 10], score: 0.9, classId: 1 },
        { box: [1, 0, 10, 10], score: 0.7, classId: 2 },
        { box: [50, 0, 10, 10], score: 0.6, classId: 1 },
      ],
      0.45,
    );
    expect(kept.map((k) => k.score)).toEqual([0.9, 0.7, 0.6]);
    expect(nms([{ box: [0, 0, 1, 1], score: 0.1 }, { box: [5, 5, 1, 1], score: 0.2 }], 0.3, 1)).toHaveLength(1);
  });
});

describe('decoders', () => {
  it('YuNet: score = sqrt(cls*obj); centre from (col,row)+offset times the stride, size exp(.)*stride', () => {
    // 64x64 input: 8x8 cells at stride 8, 4x4 at 16, 2x2 at 32.
    const zeros = (n: number) => new Float32Array(n);
    const outputs: Record<string, { data: Float32Array }> = {};
    for (const [s, cells] of [[8, 64], [16, 16], [32, 4]] as const) {
      outputs[`cls_${s}`] = { data: zeros(cells) };
      outputs[`obj_${s}`] = { data: zeros(cells) };
      outputs[`bbox_${s}`] = { data: zeros(cells * 4) };
    }
    // Stride 8, row 1, col 2 (index 10).
    outputs.cls_8.data[10] = 0.81;
    outputs.obj_8.data[10] = 1;
    outputs.bbox_8.data.set([0.5, 0.5, 0, Math.log(2)], 40);
    // Stride 32, row 1, col 0 (index 2): cls above 1 is clamped.
    outputs.cls_32.data[2] = 1.2;
    outputs.obj_32.data[2] = 0.25;
    const found = decodeYunet(outputs, 64, 64, 0.4);
    expect(found).toHaveLength(2);
    expect(found[0].score).toBeCloseTo(0.9, 6);
    // cx = 2.5*8 = 20, cy = 1.5*8 = 12, w = 8, h = 16.
    expectBox(found[0].box, [16, 4, 8, 16]);
    expect(found[1].score).toBeCloseTo(0.5, 6);
    // cx = 0*32, cy = 1*32, w = h = exp(0)*32 (boxes are clipped later, not by the decoder).
    expectBox(found[1].box, [-16, 16, 32, 32]);
  });

  it('YOLOX: (xy+grid)*stride, exp(wh)*stride, score objectness x best class', () => {
    const side = 64;
    const rows = 64 + 16 + 4;
    const out = new Float32Array(rows * 85);
    // Stride 16 cell gx=1, gy=1 is row 64 + 1*4 + 1 = 69.
    out.set([0.5, 0.5, Math.log(2), Math.log(2), 0.9], 69 * 85);
    out[69 * 85 + 5 + 3] = 0.5;
    out[69 * 85 + 5 + 4] = 0.2;
    const found = decodeYolox(out, side, 0.3);
    expect(found).toHaveLength(1);
    expect(found[0].classId).toBe(3);
    expect(found[0].score).toBeCloseTo(0.45, 6);
    expectBox(found[0].box, [8, 8, 32, 32]);
    expect(() => decodeYolox(new Float32Array(85), side, 0.3)).toThrow(/expected/);
  });

  it('UltraFace: face probability at index 1, normalised corners scaled to the image', () => {
    const scores = Float32Array.from([0.9, 0.1, 0.2, 0.8]);
    const boxes = Float32Array.from([0, 0, 1, 1, 0.25, 0.5, 0.75, 1]);
    expect(decodeUltraface(scores, boxes, 200, 100, 0.5)).toEqual([{ box: [50, 50, 100, 50], score: scores[3] }]);
  });
});
