/**
 * Weighted box fusion (Solovyev et al., 2019) for the privacy detector: boxes of the same face from several
 * passes (whole image, tiles, a second model) are clustered by IoU and each cluster becomes one box whose corners
 * are the score-weighted mean of its members'. Unlike NMS, which keeps one member and drops the rest, fusion uses
 * every pass's view of the face, so the box is steadier and none of the passes' evidence is thrown away. For
 * hiding, recall decides: a fused box keeps its best member's score (not WBF's averaged, count-penalised one), and
 * it encloses both the score-weighted mean and its best member, so fusing never hides less than the best pass
 * alone would have. Pure.
 */
import { iou, type Rect } from '../core/geometry.ts';

export interface ScoredBox extends Rect {
  readonly score: number;
  /** Which pass or model found it (for diagnostics and the tracker's label). */
  readonly source: string;
}

export interface FusedBox extends ScoredBox {
  /** How many boxes were fused into this one, and from which sources. */
  readonly members: number;
  readonly sources: readonly string[];
}

interface Cluster {
  readonly boxes: ScoredBox[];
  fused: FusedBox;
}

/** The score-weighted mean box of `boxes` (at least one). */
function fuse(boxes: readonly ScoredBox[]): FusedBox {
  let weight = 0;
  let x1 = 0;
  let y1 = 0;
  let x2 = 0;
  let y2 = 0;
  let best = boxes[0];
  for (const b of boxes) {
    const w = Math.max(b.score, 1e-6);
    weight += w;
    x1 += w * b.x;
    y1 += w * b.y;
    x2 += w * (b.x + b.width);
    y2 += w * (b.y + b.height);
    if (b.score > best.score) best = b;
  }
  x1 = Math.min(x1 / weight, best.x);
  y1 = Math.min(y1 / weight, best.y);
  x2 = Math.max(x2 / weight, best.x + best.width);
  y2 = Math.max(y2 / weight, best.y + best.height);
  return {
    x: x1,
    y: y1,
    width: x2 - x1,
    height: y2 - y1,
    score: best.score,
    source: best.source,
    members: boxes.length,
    sources: [...new Set(boxes.map((b) => b.source))],
  };
}

/**
 * Fuse `boxes` whose IoU with a cluster's fused box reaches `iouThreshold` (0.55 in the paper). Boxes are taken in
 * descending score so that clusters grow around their strongest member. Result sorted by score, best first.
 */
export function weightedBoxFusion(boxes: readonly ScoredBox[], iouThreshold = 0.55): FusedBox[] {
  const clusters: Cluster[] = [];
  for (const box of [...boxes].sort((a, b) => b.score - a.score)) {
    if (!(box.width > 0 && box.height > 0)) continue;
    let match: Cluster | undefined;
    let bestIou = iouThreshold;
    for (const cluster of clusters) {
      const v = iou(cluster.fused, box);
      if (v >= bestIou) {
        bestIou = v;
        match = cluster;
      }
    }
    if (match) {
      match.boxes.push(box);
      match.fused = fuse(match.boxes);
    } else {
      clusters.push({ boxes: [box], fused: fuse([box]) });
    }
  }
  return clusters.map((c) => c.fused).sort((a, b) => b.score - a.score);
}
