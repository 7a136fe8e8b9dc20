import { describe, expect, it } from 'vitest';
import { readManifest } from '../../src/detect/manifest.ts';
import { anchorsForManifest, decodeSsd, decodeSsdBoxes, ssdAnchors } from '../../src/detect/decoders/ssd.ts';
import { loadFaceApiSsdWeights } from '../../scripts/faceapi-ssd.ts';

const manifest = readManifest('ssd-mobilenetv1-face');

describe('ssd anchors', () => {
  it("match face-api's baked Output/extra_dim constant", () => {
    const extraDim = loadFaceApiSsdWeights().get('Output/extra_dim');
    expect(extraDim?.shape).toEqual([1, 5118, 4]);
    const anchors = anchorsForManifest(manifest);
    expect(anchors.length).toBe(5118 * 4);
    let maxDiff = 0;
    for (let i = 0; i < anchors.length; i++) maxDiff = Math.max(maxDiff, Math.abs(anchors[i] - (extraDim?.data[i] ?? NaN)));
    expect(maxDiff).toBeLessThan(1e-6);
  });

  it('put the interpolated anchor where the options say', () => {
    const base = { featureMapSizes: [1], minScale: 0.5, maxScale: 0.5, aspectRatios: [1, 2], interpolatedScaleAspectRatio: 1, lowestLayerBoxes: [] };
    // One layer, scales [0.5, 1]: anchors ar1 s0.5, then (sqrt(0.5), ar 1) at index 1, then ar2.
    const a = ssdAnchors({ ...base, interpolatedAnchorIndex: 1 });
    expect(a.length).toBe(12);
    expect(a[2] - a[0]).toBeCloseTo(0.5, 6);
    expect(a[6] - a[4]).toBeCloseTo(Math.sqrt(0.5), 6);
    expect(a[11] - a[9]).toBeCloseTo(0.5 * Math.SQRT2, 6); // width of the ar-2 anchor
    const last = ssdAnchors({ ...base, interpolatedAnchorIndex: 2 });
    expect(last[10] - last[8]).toBeCloseTo(Math.sqrt(0.5), 6);
  });
});

describe('decodeSsdBoxes', () => {
  const anchors = Float32Array.from([0.25, 0.25, 0.75, 0.75, 0, 0, 0.5, 0.25]);
  const params = { anchors, scaleFactors: [10, 10, 5, 5], numClasses: 2, scoreClass: 1, scoreActivation: 'none' as const, minScore: 0.5, width: 200, height: 100 };

  it('returns the anchor itself for zero encodings, in model-input pixels', () => {
    const [c] = decodeSsdBoxes(new Float32Array(8), Float32Array.from([0.1, 0.9, 0.9, 0.1]), params);
    expect(c).toMatchObject({ x1: 50, y1: 25, x2: 150, y2: 75, score: expect.closeTo(0.9, 6), classId: 0 });
  });

  it('applies the box coder: centre shift / 10, size exp(t / 5)', () => {
    // Anchor 2: yc 0.25, xc 0.125, h 0.5, w 0.25; ty 1 -> yc + 0.05; th = 5 ln 2 -> h doubles.
    const enc = Float32Array.from([0, 0, 0, 0, 1, -2, 5 * Math.LN2, 0]);
    const [c] = decodeSsdBoxes(enc, Float32Array.from([0.9, 0.1, 0.2, 0.8]), params);
    expect(c.y1).toBeCloseTo((0.3 - 0.5) * 100, 4);
    expect(c.y2).toBeCloseTo((0.3 + 0.5) * 100, 4);
    expect(c.x1).toBeCloseTo((0.125 - 0.05 - 0.125) * 200, 4);
    expect(c.x2).toBeCloseTo((0.125 - 0.05 + 0.125) * 200, 4);
    expect(c.score).toBeCloseTo(0.8, 6);
  });

  it('filters by minScore and applies a sigmoid to logits when asked', () => {
    const enc = new Float32Array(8);
    expect(decodeSsdBoxes(enc, Float32Array.from([0, 0.49, 0, 0.5]), params)).toHaveLength(1);
    const logits = decodeSsdBoxes(enc, Float32Array.from([0, 2, 0, -2]), { ...params, scoreActivation: 'sigmoid' });
    expect(logits).toHaveLength(1);
    expect(logits[0].score).toBeCloseTo(1 / (1 + Math.exp(-2)), 6);
  });

  it('rejects outputs that do not fit the anchors', () => {
    expect(() => decodeSsdBoxes(new Float32Array(4), new Float32Array(4), params)).toThrow(RangeError);
    expect(() => decodeSsdBoxes(new Float32Array(8), new Float32Array(6), params)).toThrow(RangeError);
  });
});

describe('decodeSsd (manifest)', () => {
  it('decodes [1,5118,4] + [1,5118,3] outputs with the manifest anchors', () => {
    const n = 5118;
    const boxes = { data: new Float32Array(n * 4), dims: [1, n, 4] };
    const scores = { data: new Float32Array(n * 3), dims: [1, n, 3] };
    scores.data[5117 * 3 + 1] = 0.97; // last anchor: 1x1 layer, 0.3333 aspect (tall)
    scores.data[5117 * 3 + 2] = 0.99; // another class column: must be ignored
    const out = decodeSsd([boxes, scores], manifest, 0.5);
    expect(out).toHaveLength(1);
    expect(out[0].score).toBeCloseTo(0.97, 6);
    expect((out[0].y2 - out[0].y1) / (out[0].x2 - out[0].x1)).toBeCloseTo(3, 2);
    expect((out[0].x1 + out[0].x2) / 2).toBeCloseTo(256, 3);
  });
});
