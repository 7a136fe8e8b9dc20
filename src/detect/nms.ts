/**
 * Non-maximum suppression over candidates (corner boxes). Greedy NMS is class-aware: a box only suppresses boxes
 * of its own class. Weighted NMS (as MediaPipe does for BlazeFace) averages each cluster of overlapping boxes by
 * score instead of keeping only the best one: face boxes then jitter less from frame to frame, and the boxes from
 * overlapping tiles or scales blend into one.
 */
import type { Candidate } from './decoders/common.ts';

export type NmsMode = 'greedy' | 'weighted';

export interface NmsOptions {
  readonly iouThreshold: number;
  readonly mode?: NmsMode;
  /** Keep at most this many boxes (after suppression). Default: no limit. */
  readonly maxDetections?: number;
}

export function area(b: Candidate): number {
  return Math.max(0, b.x2 - b.x1) * Math.max(0, b.y2 - b.y1);
}

export function iou(a: Candidate, b: Candidate): number {
  const iw = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  if (iw <= 0) return 0;
  const ih = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (ih <= 0) return 0;
  const inter = iw * ih;
  return inter / (area(a) + area(b) - inter);
}

export function nms(candidates: readonly Candidate[], options: NmsOptions): Candidate[] {
  const sorted = [...candidates].sort((a, b) => b.score - a.score);
  const max = options.maxDetections ?? Number.POSITIVE_INFINITY;
  const suppressed = new Uint8Array(sorted.length);
  const kept: Candidate[] = [];
  for (let i = 0; i < sorted.length && kept.length < max; i++) {
    if (suppressed[i]) continue;
    const best = sorted[i];
    // Weighted mode: accumulate the cluster's score-weighted corners; the kept score stays the best one's.
    let wsum = best.score;
    let x1 = best.x1 * best.score;
    let y1 = best.y1 * best.score;
    let x2 = best.x2 * best.score;
    let y2 = best.y2 * best.score;
    for (let j = i + 1; j < sorted.length; j++) {
      if (suppressed[j]) continue;
      const other = sorted[j];
      if (other.classId !== best.classId) continue;
      if (iou(best, other) <= options.iouThreshold) continue;
      suppressed[j] = 1;
      if (options.mode === 'weighted') {
        wsum += other.score;
        x1 += other.x1 * other.score;
        y1 += other.y1 * other.score;
        x2 += other.x2 * other.score;
        y2 += other.y2 * other.score;
      }
    }
    kept.push(options.mode === 'weighted' ? { x1: x1 / wsum, y1: y1 / wsum, x2: x2 / wsum, y2: y2 / wsum, score: best.score, classId: best.classId } : best);
  }
  return kept;
}
