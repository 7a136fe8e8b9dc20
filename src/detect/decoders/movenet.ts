/**
 * MoveNet MultiPose decoder (Google's CenterNet-style pose model as shipped by Human, 256 px input, stride 4). The
 * tfjs graph ends in its own post-processing (TopKV2, GatherNd, ArgMax...), which our converter cuts off
 * (models/movenet-multipose.json); this is that post-processing in TypeScript, step for step, so that for
 * `maxPeople: 6` it gives the graph's own [1,6,56] rows (test/detect/movenet-reference.test.ts):
 *
 * 1. Person centres: cells of the centre heatmap within 1e-6 of its 5x5 max-pool, the `maxPeople` highest
 *    (ties: lower index first, as TopK).
 * 2. Per centre (row r, col c): box centre (r + dy, c + dx) from box_offset, size (h, w) = max(box_scale, 0),
 *    box = centre -+ size / 2 clipped to the grid; keypoint k regressed to (r + ry_k, c + rx_k).
 * 3. Keypoint k of a person = the heatmap cell inside the person's box maximising
 *    heat_k * exp(-d² / (sigmaScale * min(H, W))), d = distance to the regressed point (the first such cell in
 *    row-major order; cell (0, 0) when none is positive), refined by keypoint_offset. Its score is the largest such
 *    weighted heat over all decoded people at that cell (the graph's Max over the person axis).
 * 4. Person score = centre score x mean of its keypoint scores above keypointThreshold (0 when none is).
 *
 * Coordinates come out normalised to the model input (0..1, y before x, as the graph's rows). Pure: no ONNX, no
 * image; pose.ts maps them to the image's pixels. With `maxPeople` above 6 the first six people are the same as
 * the graph's and only their keypoint scores can rise (step 3's max runs over more people).
 */
import type { ModelManifest } from '../manifest.ts';
import { numberOption, type OutputTensor } from './common.ts';

/** COCO keypoint order of the model's 17 keypoints. */
export const MOVENET_KEYPOINTS = [
  'nose',
  'left_eye',
  'right_eye',
  'left_ear',
  'right_ear',
  'left_shoulder',
  'right_shoulder',
  'left_elbow',
  'right_elbow',
  'left_wrist',
  'right_wrist',
  'left_hip',
  'right_hip',
  'left_knee',
  'right_knee',
  'left_ankle',
  'right_ankle',
] as const;

export type KeypointName = (typeof MOVENET_KEYPOINTS)[number];

/** One keypoint, normalised to the model input. */
export interface NormKeypoint {
  readonly y: number;
  readonly x: number;
  readonly score: number;
}

/** One decoded person, normalised to the model input: a row of the graph's [1,6,56] output. */
export interface MovenetPerson {
  readonly keypoints: readonly NormKeypoint[];
  readonly box: { readonly ymin: number; readonly xmin: number; readonly ymax: number; readonly xmax: number };
  readonly score: number;
  /** The person-centre heatmap value the person was picked with. */
  readonly centerScore: number;
}

export interface MovenetDecodeOptions {
  /** How many person centres to decode (the graph: 6). Default decoderOptions.maxPeople, else 6. */
  readonly maxPeople?: number;
}

/** An NHWC [1,H,W,C] map. */
interface Map4 {
  readonly h: number;
  readonly w: number;
  readonly c: number;
  readonly d: Float32Array;
}

function asMap(t: OutputTensor | undefined, channels: number, name: string): Map4 {
  if (!t || t.dims.length !== 4 || t.dims[0] !== 1 || t.dims[3] !== channels) {
    throw new Error(`movenet decoder: output ${name} must be [1,H,W,${channels}] NHWC, got [${t?.dims.join(',') ?? ''}]`);
  }
  return { h: t.dims[1], w: t.dims[2], c: channels, d: t.data };
}

/** Indices of the `k` highest peak-masked centre cells, highest first, ties by lower index (TopKV2). */
function topCenters(center: Map4, pool: number, k: number): number[] {
  const { h, w, d } = center;
  const half = Math.floor(pool / 2);
  const peaks: number[] = [];
  const zeros: number[] = [];
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const v = d[r * w + c];
      let max = v;
      // TF 'SAME' max-pool with stride 1 and an odd window: the window centred on the cell, clipped to the map.
      for (let rr = Math.max(0, r - half); rr <= Math.min(h - 1, r + half); rr++) {
        for (let cc = Math.max(0, c - half); cc <= Math.min(w - 1, c + half); cc++) if (d[rr * w + cc] > max) max = d[rr * w + cc];
      }
      // The graph keeps cells with |v - maxpool(v)| < 1e-6 (its Less constant), and multiplies the rest by 0.
      if (Math.abs(v - max) < 1.0132789611816406e-6 && v > 0) peaks.push(r * w + c);
      else zeros.push(r * w + c);
    }
  }
  peaks.sort((a, b) => d[b] - d[a] || a - b);
  const out = peaks.slice(0, k);
  for (let i = 0; out.length < k && i < zeros.length; i++) out.push(zeros[i]);
  return out;
}

interface Candidate {
  readonly index: number;
  readonly centerScore: number;
  /** Box in grid cells, clipped to the grid. */
  readonly ymin: number;
  readonly xmin: number;
  readonly ymax: number;
  readonly xmax: number;
  /** Regressed keypoints in grid cells: ry[k], rx[k]. */
  readonly ry: Float64Array;
  readonly rx: Float64Array;
}

const clip = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);

export function decodeMovenet(outputs: readonly OutputTensor[], manifest: ModelManifest, options: MovenetDecodeOptions = {}): MovenetPerson[] {
  const o = manifest.decoderOptions;
  const nk = Array.isArray(o.keypoints) ? o.keypoints.length : MOVENET_KEYPOINTS.length;
  const [centerT, heatT, regressT, offsetT, scaleT, boxOffsetT] = outputs;
  const center = asMap(centerT, 1, 'center');
  const heat = asMap(heatT, nk, 'keypoint_heatmap');
  const regress = asMap(regressT, 2 * nk, 'keypoint_regress');
  const offset = asMap(offsetT, 2 * nk, 'keypoint_offset');
  const scale = asMap(scaleT, 2, 'box_scale');
  const boxOffset = asMap(boxOffsetT, 2, 'box_offset');
  const { h: H, w: W } = center;
  for (const m of [heat, regress, offset, scale, boxOffset]) {
    if (m.h !== H || m.w !== W) throw new Error(`movenet decoder: maps of different sizes (${m.h}x${m.w} vs ${H}x${W})`);
  }
  const maxPeople = options.maxPeople ?? numberOption(o, 'maxPeople', 6);
  const pool = numberOption(o, 'peakPool', 5);
  const kpThreshold = numberOption(o, 'keypointThreshold', 0.126953125);
  // The graph: min(H, W) * 0.300048828125 (its float16-rounded 0.3).
  const sigma = numberOption(o, 'sigmaScale', 0.300048828125) * Math.min(H, W);

  const people: Candidate[] = topCenters(center, pool, maxPeople).map((index) => {
    const r = Math.floor(index / W);
    const c = index - r * W;
    const cell = index;
    const bh = Math.max(scale.d[cell * 2], 0);
    const bw = Math.max(scale.d[cell * 2 + 1], 0);
    const cy = r + boxOffset.d[cell * 2];
    const cx = c + boxOffset.d[cell * 2 + 1];
    const ry = new Float64Array(nk);
    const rx = new Float64Array(nk);
    for (let k = 0; k < nk; k++) {
      ry[k] = r + regress.d[cell * 2 * nk + 2 * k];
      rx[k] = c + regress.d[cell * 2 * nk + 2 * k + 1];
    }
    return {
      index,
      centerScore: center.d[cell],
      ymin: clip(cy - bh / 2, 0, H),
      xmin: clip(cx - bw / 2, 0, W),
      ymax: clip(cy + bh / 2, 0, H),
      xmax: clip(cx + bw / 2, 0, W),
      ry,
      rx,
    };
  });

  /** Person p's weighted heat of keypoint k at (row, col); 0 outside its box. */
  const weighted = (p: Candidate, k: number, row: number, col: number): number => {
    if (row < p.ymin || row >= p.ymax || col < p.xmin || col >= p.xmax) return 0;
    const dy = row - p.ry[k];
    const dx = col - p.rx[k];
    return heat.d[(row * W + col) * nk + k] * Math.exp(-(dy * dy + dx * dx) / sigma);
  };

  const rowWeight = new Float64Array(H);
  const colWeight = new Float64Array(W);
  return people.map((p) => {
    const keypoints: NormKeypoint[] = [];
    // Integer rows/cols inside [ymin, ymax) x [xmin, xmax).
    const r0 = Math.ceil(p.ymin);
    const r1 = Math.ceil(p.ymax) - 1;
    const c0 = Math.ceil(p.xmin);
    const c1 = Math.ceil(p.xmax) - 1;
    let sum = 0;
    let count = 0;
    for (let k = 0; k < nk; k++) {
      // exp(-(dy² + dx²) / s) = exp(-dy² / s) * exp(-dx² / s): one exp per row and per column, not per cell.
      for (let row = r0; row <= r1; row++) rowWeight[row] = Math.exp(-((row - p.ry[k]) ** 2) / sigma);
      for (let col = c0; col <= c1; col++) colWeight[col] = Math.exp(-((col - p.rx[k]) ** 2) / sigma);
      let best = 0;
      let bestRow = 0;
      let bestCol = 0;
      for (let row = r0; row <= r1; row++) {
        const wy = rowWeight[row];
        let at = (row * W + c0) * nk + k;
        for (let col = c0; col <= c1; col++, at += nk) {
          // The first cell with the largest value wins (ArgMax), (0, 0) when none is positive.
          const v = heat.d[at] * wy * colWeight[col];
          if (v > best) {
            best = v;
            bestRow = row;
            bestCol = col;
          }
        }
      }
      let score = 0;
      for (const q of people) score = Math.max(score, weighted(q, k, bestRow, bestCol));
      const at = (bestRow * W + bestCol) * 2 * nk + 2 * k;
      keypoints.push({ y: (bestRow + offset.d[at]) / H, x: (bestCol + offset.d[at + 1]) / W, score });
      if (score > kpThreshold) {
        sum += score;
        count++;
      }
    }
    return {
      keypoints,
      box: { ymin: p.ymin / H, xmin: p.xmin / W, ymax: p.ymax / H, xmax: p.xmax / W },
      score: (p.centerScore * sum) / Math.max(count, 1),
      centerScore: p.centerScore,
    };
  });
}

/** A person as the graph's 56 numbers: 17 x (y, x, score), ymin, xmin, ymax, xmax, score. */
export function movenetRow(p: MovenetPerson): number[] {
  return [...p.keypoints.flatMap((k) => [k.y, k.x, k.score]), p.box.ymin, p.box.xmin, p.box.ymax, p.box.xmax, p.score];
}
