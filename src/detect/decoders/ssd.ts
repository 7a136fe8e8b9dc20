/**
 * SSD box decoder (face-api's SSD MobileNetV1, trained on WIDER FACE). Pure: raw box encodings [1,N,4] and class
 * scores [1,N,C] in, candidates out with corners in MODEL-INPUT PIXELS (0..input.width, 0..input.height), not
 * clipped (face-api runs NMS on unclipped boxes and clips afterwards; the runtime clips to the image).
 *
 * Anchors: face-api loads them as a constant (`Output/extra_dim`, [1,5118,4] ymin/xmin/ymax/xmax, normalised).
 * They are the TensorFlow Object Detection API's `ssd_anchor_generator` grid, so we regenerate them from its
 * parameters in the manifest instead of shipping 20k floats; the decoder test checks them against face-api's
 * constant (max abs diff ~1e-7). Box coder (outputLayer.ts decodeBoxesLayer), encodings in [ty, tx, th, tw]:
 *   yc = ty / 10 * ha + yca, xc = tx / 10 * wa + xca, h = exp(th / 5) * ha, w = exp(tw / 5) * wa.
 */
import type { ModelManifest } from '../manifest.ts';
import type { Candidate, DecodeFn, OutputTensor } from './common.ts';
import { numberArrayOption, numberOption, sigmoid } from './common.ts';

export interface SsdAnchorOptions {
  /** Square feature-map sizes, one per predictor layer, finest first (512 input: 32, 16, 8, 4, 2, 1). */
  readonly featureMapSizes: readonly number[];
  readonly minScale: number;
  readonly maxScale: number;
  /** Aspect ratios (width / height) of the anchors of every layer but the lowest, in output order. */
  readonly aspectRatios: readonly number[];
  /** Aspect ratio of the extra anchor at scale sqrt(s_i * s_i+1); 0 for none. */
  readonly interpolatedScaleAspectRatio: number;
  /** Where the extra anchor sits among a layer's anchors (face-api's model: 1, right after the first). */
  readonly interpolatedAnchorIndex: number;
  /** [scale, aspectRatio] of the lowest layer's anchors (`reduce_boxes_in_lowest_layer`). */
  readonly lowestLayerBoxes: readonly (readonly [number, number])[];
}

/**
 * Anchors as the TF OD API builds them (float32 arithmetic, like its graph): per layer, row-major over the grid,
 * then per anchor; centres at (i + 0.5) / size; corners centre -/+ 0.5 * size. Returns [ymin, xmin, ymax, xmax]
 * per anchor, normalised to the input.
 */
export function ssdAnchors(o: SsdAnchorOptions): Float32Array {
  const f = Math.fround;
  const layers = o.featureMapSizes.length;
  const scales = o.featureMapSizes.map((_, i) => (layers === 1 ? o.minScale : o.minScale + ((o.maxScale - o.minScale) * i) / (layers - 1)));
  scales.push(1);
  const out: number[] = [];
  o.featureMapSizes.forEach((size, layer) => {
    let specs: (readonly [number, number])[];
    if (layer === 0 && o.lowestLayerBoxes.length > 0) {
      specs = [...o.lowestLayerBoxes];
    } else {
      specs = o.aspectRatios.map((ar) => [scales[layer], ar] as const);
      if (o.interpolatedScaleAspectRatio > 0) {
        specs.splice(o.interpolatedAnchorIndex, 0, [Math.sqrt(scales[layer] * scales[layer + 1]), o.interpolatedScaleAspectRatio]);
      }
    }
    const heights = specs.map(([s, ar]) => f(f(s) / f(Math.sqrt(f(ar)))));
    const widths = specs.map(([s, ar]) => f(f(s) * f(Math.sqrt(f(ar)))));
    const stride = f(1 / size);
    const offset = f(0.5 * stride);
    for (let y = 0; y < size; y++) {
      const cy = f(f(y * stride) + offset);
      for (let x = 0; x < size; x++) {
        const cx = f(f(x * stride) + offset);
        for (let k = 0; k < specs.length; k++) {
          const hh = f(0.5 * heights[k]);
          const hw = f(0.5 * widths[k]);
          out.push(cy - hh, cx - hw, cy + hh, cx + hw);
        }
      }
    }
  });
  return Float32Array.from(out);
}

export interface SsdDecodeParams {
  /** Anchors [ymin, xmin, ymax, xmax] per anchor, normalised (ssdAnchors). */
  readonly anchors: Float32Array;
  /** Box coder scale factors [y, x, h, w] (TF OD API default and face-api: 10, 10, 5, 5). */
  readonly scaleFactors: readonly number[];
  readonly numClasses: number;
  /** Class column read as the score (face-api: 1, column 0 is the background). */
  readonly scoreClass: number;
  /** 'none' when the model already applies the sigmoid (our ONNX graph), 'sigmoid' for raw logits. */
  readonly scoreActivation: 'none' | 'sigmoid';
  readonly minScore: number;
  /** Model input size in pixels: the normalised boxes are scaled by it. */
  readonly width: number;
  readonly height: number;
}

/** Decodes every anchor whose score reaches minScore, exactly like face-api's outputLayer.ts (float32 steps). */
export function decodeSsdBoxes(encodings: Float32Array, scores: Float32Array, p: SsdDecodeParams): Candidate[] {
  const n = p.anchors.length / 4;
  if (encodings.length !== n * 4) throw new RangeError(`ssd: ${encodings.length / 4} box encodings for ${n} anchors`);
  if (scores.length !== n * p.numClasses) throw new RangeError(`ssd: ${scores.length} scores for ${n} anchors x ${p.numClasses} classes`);
  const f = Math.fround;
  const [sy, sx, sh, sw] = p.scaleFactors;
  const a = p.anchors;
  const out: Candidate[] = [];
  for (let i = 0; i < n; i++) {
    const raw = scores[i * p.numClasses + p.scoreClass];
    const score = p.scoreActivation === 'sigmoid' ? sigmoid(raw) : raw;
    if (!(score >= p.minScore)) continue;
    const j = i * 4;
    // getCenterCoordinatesAndSizesLayer: sizes from corners, centres = min + size / 2.
    const ha = f(a[j + 2] - a[j]);
    const wa = f(a[j + 3] - a[j + 1]);
    const yca = f(a[j] + f(ha / 2));
    const xca = f(a[j + 1] + f(wa / 2));
    const halfH = f(f(f(Math.exp(f(encodings[j + 2] / sh))) * ha) / 2);
    const halfW = f(f(f(Math.exp(f(encodings[j + 3] / sw))) * wa) / 2);
    const yc = f(f(f(encodings[j] / sy) * ha) + yca);
    const xc = f(f(f(encodings[j + 1] / sx) * wa) + xca);
    out.push({
      x1: f(xc - halfW) * p.width,
      y1: f(yc - halfH) * p.height,
      x2: f(xc + halfW) * p.width,
      y2: f(yc + halfH) * p.height,
      score,
      classId: 0,
    });
  }
  return out;
}

function anchorOptionsOf(options: Readonly<Record<string, unknown>>): SsdAnchorOptions {
  const lowest = options.lowestLayerBoxes ?? [];
  if (!Array.isArray(lowest) || !lowest.every((b) => Array.isArray(b) && b.length === 2 && b.every((v) => typeof v === 'number'))) {
    throw new TypeError('decoderOptions.lowestLayerBoxes must be an array of [scale, aspectRatio] pairs');
  }
  return {
    featureMapSizes: numberArrayOption(options, 'featureMapSizes', []),
    minScale: numberOption(options, 'minScale', 0.2),
    maxScale: numberOption(options, 'maxScale', 0.95),
    aspectRatios: numberArrayOption(options, 'aspectRatios', [1, 2, 0.5, 3, 0.3333]),
    interpolatedScaleAspectRatio: numberOption(options, 'interpolatedScaleAspectRatio', 1),
    interpolatedAnchorIndex: numberOption(options, 'interpolatedAnchorIndex', 1),
    lowestLayerBoxes: lowest as [number, number][],
  };
}

/** Anchors depend only on the manifest: computed once per decoderOptions object. */
const anchorCache = new WeakMap<object, Float32Array>();

export function anchorsForManifest(manifest: ModelManifest): Float32Array {
  let anchors = anchorCache.get(manifest.decoderOptions);
  if (!anchors) {
    anchors = ssdAnchors(anchorOptionsOf(manifest.decoderOptions));
    anchorCache.set(manifest.decoderOptions, anchors);
  }
  return anchors;
}

/** DecodeFn for `decoder: 'ssd'`: outputs = [box encodings [1,N,4], class scores [1,N,C]]. */
export const decodeSsd: DecodeFn = (outputs: readonly OutputTensor[], manifest: ModelManifest, minScore: number) => {
  const [boxes, scores] = outputs;
  if (!boxes || !scores) throw new RangeError(`ssd: expected 2 outputs, got ${outputs.length}`);
  const o = manifest.decoderOptions;
  const activation = o.scoreActivation ?? 'none';
  if (activation !== 'none' && activation !== 'sigmoid') throw new TypeError("decoderOptions.scoreActivation must be 'none' or 'sigmoid'");
  return decodeSsdBoxes(boxes.data, scores.data, {
    anchors: anchorsForManifest(manifest),
    scaleFactors: numberArrayOption(o, 'scaleFactors', [10, 10, 5, 5]),
    numClasses: numberOption(o, 'numClasses', scores.dims[scores.dims.length - 1] ?? 1),
    scoreClass: numberOption(o, 'scoreClass', 1),
    scoreActivation: activation,
    minScore,
    width: manifest.input.width,
    height: manifest.input.height,
  });
};
