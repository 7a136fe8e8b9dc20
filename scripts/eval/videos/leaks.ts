/**
 * Frame-level leaks of anonymized videos against the reference detectors (pure). A leak: a face the reference
 * finds in the anonymized frame (at its usual threshold) that overlaps a face it also finds in the original
 * frame. The leak rate of a video: frames with at least one leak over frames where the reference found a face in
 * the original. Separately, a face the reference finds INSIDE a hidden region (most of its box within the hidden
 * rectangles): the renderer's hiding itself is not enough there (pixelation a detector sees through).
 */
import type { Rect } from '../../../src/core/geometry.ts';

export type Box = readonly [number, number, number, number];

/** Overlap of a found face with an original one to count as the same face. */
export const LEAK_IOU = 0.3;
/** A found face is inside a hidden region when at least this share of its box is hidden. */
export const INSIDE_SHARE = 0.5;

export function iou(a: Box, b: Box): number {
  const iw = Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  return inter / (a[2] * a[3] + b[2] * b[3] - inter);
}

/** The faces found in the anonymized frame that overlap a face found in the original. */
export function leaks(original: readonly Box[], anonymized: readonly Box[], minIou = LEAK_IOU): Box[] {
  return anonymized.filter((a) => original.some((o) => iou(a, o) >= minIou));
}

/** The share of `box` covered by the union of `hidden` (sampled on a grid of whole pixels). */
export function hiddenShare(box: Box, hidden: readonly Rect[]): number {
  const x0 = Math.floor(box[0]);
  const y0 = Math.floor(box[1]);
  const x1 = Math.ceil(box[0] + box[2]);
  const y1 = Math.ceil(box[1] + box[3]);
  let inside = 0;
  let total = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      total += 1;
      const cx = x + 0.5;
      const cy = y + 0.5;
      if (hidden.some((r) => cx >= r.x && cx < r.x + r.width && cy >= r.y && cy < r.y + r.height)) inside += 1;
    }
  }
  return total > 0 ? inside / total : 0;
}

export function insideHidden(found: readonly Box[], hidden: readonly Rect[], share = INSIDE_SHARE): Box[] {
  return found.filter((b) => hiddenShare(b, hidden) >= share);
}

/** One sampled frame, one reference, one render mode. */
export interface FrameCheck {
  readonly originalFaces: number;
  readonly leaks: number;
  readonly insideHidden: number;
}

export interface LeakSummary {
  readonly frames: number;
  /** Frames where the reference found a face in the original. */
  readonly framesWithFaces: number;
  readonly framesWithLeak: number;
  /** framesWithLeak / framesWithFaces (NaN when the reference found no face at all). */
  readonly leakRate: number;
  readonly facesInOriginal: number;
  readonly leakedFaces: number;
  /** Faces found inside a hidden region, and the frames they were in. */
  readonly facesInsideHidden: number;
  readonly framesWithFaceInsideHidden: number;
}

export function summarizeLeaks(checks: readonly FrameCheck[]): LeakSummary {
  const withFaces = checks.filter((c) => c.originalFaces > 0);
  const withLeak = withFaces.filter((c) => c.leaks > 0);
  return {
    frames: checks.length,
    framesWithFaces: withFaces.length,
    framesWithLeak: withLeak.length,
    leakRate: withFaces.length > 0 ? withLeak.length / withFaces.length : Number.NaN,
    facesInOriginal: checks.reduce((a, c) => a + c.originalFaces, 0),
    leakedFaces: checks.reduce((a, c) => a + c.leaks, 0),
    facesInsideHidden: checks.reduce((a, c) => a + c.insideHidden, 0),
    framesWithFaceInsideHidden: checks.filter((c) => c.insideHidden > 0).length,
  };
}

/** The frames checked at `sampleFps` of a `fps` video: the first frame of each sample interval. */
export function isSampled(index: number, fps: number, sampleFps: number): boolean {
  if (sampleFps >= fps) return true;
  return index === 0 || Math.floor((index * sampleFps) / fps) > Math.floor(((index - 1) * sampleFps) / fps);
}
