/**
 * Runs one detector over one labelled set and scores it, through the analysis stage the API and the cameras use
 * (so the decode and the mapping back are the product's own); only the detector call is timed. AP needs the full precision-recall curve, so detection runs at a low score
 * threshold and recall/precision are then read off at the detector's own default threshold.
 */
import { readFile } from 'node:fs/promises';
import { AnalysisStage } from '../../src/analysis/stage.ts';
import { reportedFor } from '../../src/analysis/types.ts';
import type { Detection, Detector } from '../../src/detect/types.ts';
import type { Dataset, Box } from './datasets.ts';
import { faceMetrics, objectMetrics, FACE_MIN_SIZE, STRICT_FACE_PROTOCOL, type ImagePrediction } from './metrics.ts';

/** Score threshold used while collecting detections for AP. */
export const EVAL_SCORE_THRESHOLD = 0.05;

export interface EvalResult {
  readonly model: string;
  /** Detector settings that differ from the defaults, e.g. `tiles=2x2` (empty for defaults). */
  readonly variant: string;
  readonly set: string;
  readonly task: 'face' | 'objects';
  readonly images: number;
  readonly truths: number;
  /** Face AP50, or COCO mAP50 for objects. */
  readonly ap50: number;
  /** Faces only: AP50 under the strict protocol (score >= 0.3, small unmatched detections are false positives). */
  readonly ap50Strict?: number;
  readonly threshold: number;
  readonly recall: number;
  readonly precision: number | null;
  readonly msPerImage: number;
  /** Faces only: truths and detections under the minimum size, left out of every count. */
  readonly ignored?: { readonly minSize: number; readonly truths: number; readonly detections: number };
  /** Objects only: AP50 of each class present in the ground truth. */
  readonly perClass?: readonly { readonly classId: number; readonly ap50: number; readonly truths: number }[];
}

export interface RunOptions {
  readonly variant?: string;
  readonly scoreThreshold?: number;
  /**
   * full (default): decode every image in full and let the detector resize it, as with camera frames.
   * detection: decode only what the detector needs (decodeForDetection), as `detect` and the API do with uploads;
   * boxes are mapped back to the original pixels. Only the detector call is timed either way.
   */
  readonly decode?: 'full' | 'detection';
  /** Called after each image (progress on long runs). */
  readonly onImage?: (done: number, total: number) => void;
}

function toBox(d: Detection): Box {
  return [d.box[0], d.box[1], d.box[2], d.box[3]];
}

export async function evaluateDetector(detector: Detector, dataset: Dataset, options: RunOptions = {}): Promise<EvalResult> {
  const scoreThreshold = Math.min(options.scoreThreshold ?? EVAL_SCORE_THRESHOLD, detector.defaultThreshold);
  const predictions: ImagePrediction[] = [];
  let detectMs = 0;
  const stage = new AnalysisStage({ detectors: async () => detector });
  const task = dataset.task === 'face' ? 'face' : 'objects';
  for (const [index, item] of dataset.images.entries()) {
    const bytes = new Uint8Array(await readFile(item.path));
    // keepPixels: the full decode camera frames get; without it, the reduced one uploads get.
    const analysis = await stage.analyse({ bytes }, { report: { [task]: { threshold: scoreThreshold } }, keepPixels: options.decode !== 'detection' });
    detectMs += analysis.timings[task] ?? 0;
    const detections = reportedFor(analysis, task);
    predictions.push({
      detections: detections.map((d) => ({ box: toBox(d), score: d.score, classId: d.classId })),
      truths: item.truths,
    });
    options.onImage?.(index + 1, dataset.images.length);
  }
  const base = {
    model: detector.modelId,
    variant: options.variant ?? '',
    set: dataset.name,
    task: dataset.task,
    images: dataset.images.length,
    truths: dataset.images.reduce((n, img) => n + img.truths.length, 0),
    threshold: detector.defaultThreshold,
    msPerImage: dataset.images.length > 0 ? detectMs / dataset.images.length : 0,
  };
  if (dataset.task === 'face') {
    const m = faceMetrics(predictions, detector.defaultThreshold, { minSize: FACE_MIN_SIZE });
    return {
      ...base,
      ap50: m.ap50,
      ap50Strict: faceMetrics(predictions, detector.defaultThreshold, STRICT_FACE_PROTOCOL).ap50,
      recall: m.atThreshold.recall,
      precision: m.atThreshold.precision ?? null,
      ignored: { minSize: FACE_MIN_SIZE, truths: m.ignoredTruths, detections: m.ignoredDetections },
    };
  }
  const m = objectMetrics(predictions, detector.defaultThreshold);
  return {
    ...base,
    ap50: m.map50,
    recall: m.atThreshold.recall,
    precision: m.atThreshold.precision ?? null,
    perClass: m.perClass,
  };
}
