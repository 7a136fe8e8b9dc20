/**
 * CenterNet decoder (Human's MB3-CenterNet, COCO, 512 px input). Outputs: a class heatmap [1,H,W,80] (already
 * sigmoid) and box distances [1,H,W,4] = (left, top, right, bottom) in input pixels from the cell's corner point
 * (col*stride, row*stride); both NHWC as converted from TensorFlow (NCHW also accepted). This matches the
 * model's own in-graph `tower_0/detections` head, which we measured against: a peak is a cell that is the maximum of
 * its 3x3 neighbourhood in its class plane (CenterNet's max-pool NMS), then the top K peaks are kept.
 *
 * decoderOptions (all optional): `stride` (default input/heatmap width), `topK` (default 100).
 * Any other output (e.g. the in-graph [1,100,6] detections) is ignored.
 */
import { numberOption, type Candidate, type DecodeFn, type OutputTensor } from './common.ts';

interface Plane {
  readonly h: number;
  readonly w: number;
  readonly c: number;
  /** value of channel k at (y, x) */
  readonly at: (y: number, x: number, k: number) => number;
}

function asPlane(t: OutputTensor, channels: number): Plane | undefined {
  if (t.dims.length !== 4) return undefined;
  const [, a, b, c] = t.dims;
  const d = t.data;
  if (c === channels) return { h: a, w: b, c, at: (y, x, k) => d[(y * b + x) * c + k] };
  if (a === channels) return { h: b, w: c, c: a, at: (y, x, k) => d[(k * b + y) * c + x] };
  return undefined;
}

export const decodeCenternet: DecodeFn = (outputs, manifest, minScore) => {
  const numClasses = numberOption(manifest.decoderOptions, 'numClasses', 80);
  const heatT = outputs.find((t) => asPlane(t, numClasses));
  const boxT = outputs.find((t) => t !== heatT && asPlane(t, 4));
  if (!heatT || !boxT) throw new Error(`centernet decoder: expected [1,H,W,${numClasses}] and [1,H,W,4] outputs`);
  const heat = asPlane(heatT, numClasses) as Plane;
  const box = asPlane(boxT, 4) as Plane;
  const stride = numberOption(manifest.decoderOptions, 'stride', manifest.input.width / heat.w);
  const topK = numberOption(manifest.decoderOptions, 'topK', 100);
  const peaks: Candidate[] = [];
  for (let y = 0; y < heat.h; y++) {
    for (let x = 0; x < heat.w; x++) {
      for (let k = 0; k < heat.c; k++) {
        const v = heat.at(y, x, k);
        if (v < minScore || !isLocalMax(heat, y, x, k, v)) continue;
        const cx = x * stride;
        const cy = y * stride;
        peaks.push({ x1: cx - box.at(y, x, 0), y1: cy - box.at(y, x, 1), x2: cx + box.at(y, x, 2), y2: cy + box.at(y, x, 3), score: v, classId: k });
      }
    }
  }
  peaks.sort((a, b) => b.score - a.score);
  return peaks.length > topK ? peaks.slice(0, topK) : peaks;
};

/** 3x3 max-pool test; ties keep the cell (as `heat == maxpool(heat)` does). */
function isLocalMax(p: Plane, y: number, x: number, k: number, v: number): boolean {
  for (let dy = -1; dy <= 1; dy++) {
    const yy = y + dy;
    if (yy < 0 || yy >= p.h) continue;
    for (let dx = -1; dx <= 1; dx++) {
      const xx = x + dx;
      if ((dx === 0 && dy === 0) || xx < 0 || xx >= p.w) continue;
      if (p.at(yy, xx, k) > v) return false;
    }
  }
  return true;
}
