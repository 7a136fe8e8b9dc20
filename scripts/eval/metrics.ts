/**
 * Detection metrics, pure functions over plain boxes.
 *
 * Matching (per image, per class): detections are taken in descending score order; each one matches the
 * not-yet-matched counted ground truth with which it has the highest IoU, if that IoU >= 0.5 (a true positive).
 * A detection that matches no counted truth but overlaps an IGNORED truth at IoU >= 0.5, or is itself smaller
 * than the minimum size, is ignored: neither a true nor a false positive. Everything else is a false positive.
 * A truth is ignored when its width or height is below `minSize` (faces: 10 px; objects: 0, nothing ignored).
 * (`countSmallDetections` turns the small-detection rule off, for the strict protocol below.)
 *
 * AP is the all-point interpolated average precision of VOC2010+: the area under the precision-recall curve after
 * making precision monotonically non-increasing, summed at every recall step.
 */
import type { Box } from './datasets.ts';

export const IOU_MATCH = 0.5;
export const FACE_MIN_SIZE = 10;

export function iou(a: Box, b: Box): number {
  const ix = Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]);
  const iy = Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]);
  if (ix <= 0 || iy <= 0) return 0;
  const inter = ix * iy;
  const union = a[2] * a[3] + b[2] * b[3] - inter;
  return union > 0 ? inter / union : 0;
}

export function isSmall(box: Box, minSize: number): boolean {
  return box[2] < minSize || box[3] < minSize;
}

export type Outcome = 'tp' | 'fp' | 'ignored';

export interface ScoredOutcome {
  readonly score: number;
  readonly outcome: Outcome;
}

export interface ImageMatch {
  /** One entry per detection, in descending score order. */
  readonly outcomes: ScoredOutcome[];
  /** Ground truths that count (not ignored). */
  readonly counted: number;
  readonly ignoredTruths: number;
}

/** Match one image's detections to its ground truths (one class). */
export interface MatchOptions {
  /** Truths (and, unless `countSmallDetections`, unmatched detections) with width or height below this are ignored. */
  readonly minSize?: number;
  readonly iouThreshold?: number;
  /** Count unmatched detections under minSize as false positives instead of ignoring them. */
  readonly countSmallDetections?: boolean;
}

export function matchImage(
  detections: readonly { readonly box: Box; readonly score: number }[],
  truths: readonly Box[],
  options: MatchOptions = {},
): ImageMatch {
  const minSize = options.minSize ?? 0;
  const threshold = options.iouThreshold ?? IOU_MATCH;
  const ignored = truths.map((t) => isSmall(t, minSize));
  const taken = truths.map(() => false);
  const order = [...detections].sort((a, b) => b.score - a.score);
  const outcomes = order.map((det): ScoredOutcome => {
    let best = -1;
    let bestIou = threshold;
    let touchesIgnored = false;
    truths.forEach((truth, i) => {
      const overlap = iou(det.box, truth);
      if (overlap < threshold) return;
      if (ignored[i]) {
        touchesIgnored = true;
      } else if (!taken[i] && overlap >= bestIou) {
        best = i;
        bestIou = overlap;
      }
    });
    if (best >= 0) {
      taken[best] = true;
      return { score: det.score, outcome: 'tp' };
    }
    if (touchesIgnored || (!options.countSmallDetections && isSmall(det.box, minSize))) return { score: det.score, outcome: 'ignored' };
    return { score: det.score, outcome: 'fp' };
  });
  const ignoredTruths = ignored.filter(Boolean).length;
  return { outcomes, counted: truths.length - ignoredTruths, ignoredTruths };
}

export interface PrCurve {
  /** Cumulative recall and precision after each non-ignored detection, by descending score. */
  readonly recall: number[];
  readonly precision: number[];
  readonly scores: number[];
  readonly counted: number;
}

/** Pool the matches of many images into one precision-recall curve. */
export function prCurve(matches: readonly ImageMatch[]): PrCurve {
  const all = matches.flatMap((m) => m.outcomes).filter((o) => o.outcome !== 'ignored');
  // Stable sort keeps per-image order for equal scores, so the result does not depend on how ties are broken.
  all.sort((a, b) => b.score - a.score);
  const counted = matches.reduce((n, m) => n + m.counted, 0);
  const recall: number[] = [];
  const precision: number[] = [];
  let tp = 0;
  let fp = 0;
  for (const o of all) {
    if (o.outcome === 'tp') tp++;
    else fp++;
    recall.push(counted > 0 ? tp / counted : 0);
    precision.push(tp / (tp + fp));
  }
  return { recall, precision, scores: all.map((o) => o.score), counted };
}

/** All-point interpolated AP (VOC2010+). 0 when there is nothing to find. */
export function averagePrecision(curve: Pick<PrCurve, 'recall' | 'precision'>): number {
  const mrec = [0, ...curve.recall, 1];
  const mpre = [0, ...curve.precision, 0];
  for (let i = mpre.length - 2; i >= 0; i--) mpre[i] = Math.max(mpre[i], mpre[i + 1]);
  let ap = 0;
  for (let i = 1; i < mrec.length; i++) {
    if (mrec[i] !== mrec[i - 1]) ap += (mrec[i] - mrec[i - 1]) * mpre[i];
  }
  return ap;
}

export interface OperatingPoint {
  readonly threshold: number;
  readonly truePositives: number;
  readonly falsePositives: number;
  readonly recall: number;
  /** Undefined when nothing was detected at this threshold. */
  readonly precision: number | undefined;
}

/**
 * Recall and precision when only detections scoring >= threshold are kept. Greedy matching in score order means
 * the matches of the kept detections do not depend on the dropped ones, so one matching serves every threshold.
 */
export function operatingPoint(matches: readonly ImageMatch[], threshold: number): OperatingPoint {
  let tp = 0;
  let fp = 0;
  for (const m of matches) {
    for (const o of m.outcomes) {
      if (o.score < threshold) continue;
      if (o.outcome === 'tp') tp++;
      else if (o.outcome === 'fp') fp++;
    }
  }
  const counted = matches.reduce((n, m) => n + m.counted, 0);
  return {
    threshold,
    truePositives: tp,
    falsePositives: fp,
    recall: counted > 0 ? tp / counted : 0,
    precision: tp + fp > 0 ? tp / (tp + fp) : undefined,
  };
}

export interface ImagePrediction {
  readonly detections: readonly { readonly box: Box; readonly score: number; readonly classId?: number }[];
  readonly truths: readonly { readonly box: Box; readonly classId?: number }[];
}

export interface FaceMetrics {
  readonly ap50: number;
  readonly counted: number;
  readonly ignoredTruths: number;
  readonly ignoredDetections: number;
  readonly atThreshold: OperatingPoint;
}

export interface FaceMetricOptions {
  readonly minSize?: number;
  /** Drop detections scoring below this before matching (truncates the PR curve); default: keep all. */
  readonly scoreFloor?: number;
  readonly countSmallDetections?: boolean;
}

/** Face AP50 and the operating point at the detector's threshold; faces under minSize px are ignored. */
export function faceMetrics(images: readonly ImagePrediction[], threshold: number, options: FaceMetricOptions = {}): FaceMetrics {
  const minSize = options.minSize ?? FACE_MIN_SIZE;
  const floor = options.scoreFloor ?? -Infinity;
  const matches = images.map((img) =>
    matchImage(
      img.detections.filter((d) => d.score >= floor),
      img.truths.map((t) => t.box),
      { minSize, countSmallDetections: options.countSmallDetections },
    ),
  );
  return {
    ap50: averagePrecision(prCurve(matches)),
    counted: matches.reduce((n, m) => n + m.counted, 0),
    ignoredTruths: matches.reduce((n, m) => n + m.ignoredTruths, 0),
    ignoredDetections: matches.reduce((n, m) => n + m.outcomes.filter((o) => o.outcome === 'ignored').length, 0),
    atThreshold: operatingPoint(matches, threshold),
  };
}

/**
 * The stricter protocol behind the lead's first reference figures (YuNet-n 0.70 / 0.76, UltraFace RFB-640
 * 0.77 / 0.75): detections below score 0.3 dropped and small unmatched detections counted as false positives.
 * Reported beside the main AP so figures from both protocols can be compared.
 */
export const STRICT_FACE_PROTOCOL: FaceMetricOptions = { minSize: FACE_MIN_SIZE, scoreFloor: 0.3, countSmallDetections: true };

export interface ClassAp {
  readonly classId: number;
  readonly ap50: number;
  readonly truths: number;
}

export interface ObjectMetrics {
  /** Mean over the classes present in the ground truth of per-class AP50. */
  readonly map50: number;
  readonly perClass: ClassAp[];
  /** Pooled over all classes (a detection of the wrong class is a false positive). */
  readonly atThreshold: OperatingPoint;
}

/** COCO-style mAP50 over the classes that occur in the ground truth; nothing is ignored. */
export function objectMetrics(images: readonly ImagePrediction[], threshold: number): ObjectMetrics {
  const classes = [...new Set(images.flatMap((img) => img.truths.map((t) => t.classId ?? -1)))].sort((a, b) => a - b);
  const allMatches: ImageMatch[] = [];
  const perClass = classes.map((classId): ClassAp => {
    const matches = images.map((img) =>
      matchImage(
        img.detections.filter((d) => d.classId === classId),
        img.truths.filter((t) => (t.classId ?? -1) === classId).map((t) => t.box),
      ),
    );
    allMatches.push(...matches);
    return { classId, ap50: averagePrecision(prCurve(matches)), truths: matches.reduce((n, m) => n + m.counted, 0) };
  });
  // Detections of classes absent from the ground truth are false positives at the operating point.
  const known = new Set(classes);
  for (const img of images) {
    const stray = img.detections.filter((d) => !known.has(d.classId ?? -1));
    if (stray.length > 0) allMatches.push(matchImage(stray, []));
  }
  const map50 = perClass.length > 0 ? perClass.reduce((s, c) => s + c.ap50, 0) / perClass.length : 0;
  return { map50, perClass, atThreshold: operatingPoint(allMatches, threshold) };
}
