/**
 * BlazeFace-family decoder (MediaPipe's short-range BlazeFace 128, back-camera BlazeFace 256, full-range face
 * detector 192). Each anchor has a score logit and 16 regressors: box centre offset (dx, dy), box size (w, h), then
 * six keypoints, all in model-input pixels. Anchors sit at cell centres of one or more grids; Human's
 * `generateAnchors` gives the layout: 128/256 px inputs use strides input/16 and input/8 with 2 and 6 anchors per
 * cell, the 192 px full-range model one anchor per cell at stride 4.
 *
 * decoderOptions (all optional): `strides` number[], `anchorsPerCell` number[] (same length),
 * `sizeScale` (multiply w and h; default 1).
 * Outputs accepted, in any order: [1,N,1] scores with [1,N,16] regressors (paired by N), or [1,N,17] rows of
 * score + regressors. Several [1,N,17] outputs (the full-range model has two heads over the same anchors) each
 * yield candidates; NMS merges them.
 */
import type { ModelManifest } from '../manifest.ts';
import { logit, numberArrayOption, numberOption, sigmoid, type Candidate, type DecodeFn, type OutputTensor } from './common.ts';

export interface AnchorLayout {
  readonly strides: readonly number[];
  readonly anchorsPerCell: readonly number[];
}

/** Human's defaults by input size (face/facemeshutil.ts generateAnchors). */
export function defaultAnchorLayout(inputSize: number): AnchorLayout {
  return inputSize === 192 ? { strides: [4], anchorsPerCell: [1] } : { strides: [inputSize / 16, inputSize / 8], anchorsPerCell: [2, 6] };
}

/** Anchor centres as a flat [x0, y0, x1, y1, ...] array in input pixels, grid by grid, row-major. */
export function generateAnchors(inputWidth: number, inputHeight: number, layout: AnchorLayout): Float32Array[] {
  if (layout.strides.length !== layout.anchorsPerCell.length) throw new TypeError('strides and anchorsPerCell differ in length');
  return layout.strides.map((stride, level) => {
    const rows = Math.ceil(inputHeight / stride);
    const cols = Math.ceil(inputWidth / stride);
    const per = layout.anchorsPerCell[level];
    const out = new Float32Array(rows * cols * per * 2);
    let k = 0;
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < cols; x++) {
        for (let n = 0; n < per; n++) {
          out[k++] = stride * (x + 0.5);
          out[k++] = stride * (y + 0.5);
        }
      }
    }
    return out;
  });
}

// Anchor generation is cheap but runs per call otherwise; models are few, so a tiny cache keyed by layout is enough.
const anchorCache = new Map<string, Float32Array[]>();

function anchorsFor(manifest: ModelManifest): Float32Array[] {
  const size = manifest.input.width;
  const fallback = defaultAnchorLayout(size);
  const layout = {
    strides: numberArrayOption(manifest.decoderOptions, 'strides', fallback.strides),
    anchorsPerCell: numberArrayOption(manifest.decoderOptions, 'anchorsPerCell', fallback.anchorsPerCell),
  };
  const key = `${manifest.input.width}x${manifest.input.height}:${layout.strides.join(',')}:${layout.anchorsPerCell.join(',')}`;
  let levels = anchorCache.get(key);
  if (!levels) {
    levels = generateAnchors(manifest.input.width, manifest.input.height, layout);
    anchorCache.set(key, levels);
  }
  return levels;
}

/** The anchors matching an output with n rows: all levels together, or the one level with n anchors. */
function anchorsForCount(levels: readonly Float32Array[], n: number): Float32Array {
  const total = levels.reduce((s, l) => s + l.length / 2, 0);
  if (n === total) {
    if (levels.length === 1) return levels[0];
    const all = new Float32Array(total * 2);
    let off = 0;
    for (const l of levels) {
      all.set(l, off);
      off += l.length;
    }
    return all;
  }
  const match = levels.filter((l) => l.length / 2 === n);
  if (match.length !== 1) throw new Error(`blazeface decoder: no anchor level with ${n} anchors (levels: ${levels.map((l) => l.length / 2).join(', ')})`);
  return match[0];
}

interface Head {
  readonly n: number;
  /** score logit of anchor i */
  readonly score: (i: number) => number;
  /** regressor j of anchor i */
  readonly reg: (i: number, j: number) => number;
}

function heads(outputs: readonly OutputTensor[]): Head[] {
  const rowsOf = (t: OutputTensor): number => t.dims[t.dims.length - 2];
  const widthOf = (t: OutputTensor): number => t.dims[t.dims.length - 1];
  const result: Head[] = [];
  const scores = outputs.filter((t) => widthOf(t) === 1);
  const regs = outputs.filter((t) => widthOf(t) === 16);
  for (const s of scores) {
    const n = rowsOf(s);
    const r = regs.find((t) => rowsOf(t) === n);
    if (!r) throw new Error(`blazeface decoder: no [${n},16] regressors for the [${n},1] scores`);
    result.push({ n, score: (i) => s.data[i], reg: (i, j) => r.data[i * 16 + j] });
  }
  for (const t of outputs.filter((o) => widthOf(o) === 17)) {
    result.push({ n: rowsOf(t), score: (i) => t.data[i * 17], reg: (i, j) => t.data[i * 17 + 1 + j] });
  }
  if (result.length === 0) throw new Error(`blazeface decoder: unexpected outputs ${outputs.map((o) => `[${o.dims.join(',')}]`).join(' ')}`);
  return result;
}

export const decodeBlazeface: DecodeFn = (outputs, manifest, minScore) => {
  const levels = anchorsFor(manifest);
  const sizeScale = numberOption(manifest.decoderOptions, 'sizeScale', 1);
  const minLogit = logit(minScore);
  const out: Candidate[] = [];
  for (const head of heads(outputs)) {
    const anchors = anchorsForCount(levels, head.n);
    for (let i = 0; i < head.n; i++) {
      const raw = head.score(i);
      // Compare logits: sigmoid is monotonic, so only the few kept anchors pay for exp().
      if (raw < minLogit) continue;
      const cx = anchors[2 * i] + head.reg(i, 0);
      const cy = anchors[2 * i + 1] + head.reg(i, 1);
      const hw = (head.reg(i, 2) * sizeScale) / 2;
      const hh = (head.reg(i, 3) * sizeScale) / 2;
      if (!(hw > 0 && hh > 0)) continue;
      out.push({ x1: cx - hw, y1: cy - hh, x2: cx + hw, y2: cy + hh, score: sigmoid(raw), classId: 0 });
    }
  }
  return out;
};
