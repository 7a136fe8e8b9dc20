/**
 * A box around a person's head from their pose, for a privacy mask to hide where no face was detected (masked,
 * turned away, too small for the face detector). Pure: a Pose in, a box out.
 *
 * - Face keypoints (nose, eyes, ears) at or above `minKeypointScore`: the head is centred a little below their mean
 *   (the face box's centre lies below the eye line), and its width is the largest of the head widths implied by the
 *   distances between them (each pair has a typical share of the head's width: ear to ear ~1, eye to eye ~0.42...;
 *   the largest estimate is the least foreshortened one) and `shoulderToHead` x the shoulder width. The region is
 *   HEAD_WIDTH_SCALE x HEAD_HEIGHT_SCALE head widths.
 * - Otherwise, two confident shoulders (a person seen from behind, or with a weak face): the head sits above the
 *   shoulder midpoint, away from the hips when they are known (else up in the image), as wide as the shoulders imply.
 * - Otherwise no region (a lone face keypoint without shoulders gives no size).
 */
import type { Pose, PoseKeypoint } from './pose.ts';

export interface HeadRegionOptions {
  /** Keypoints below this score are ignored (default MIN_KEYPOINT_SCORE). */
  readonly minKeypointScore?: number;
  /** Head width per shoulder width (shoulder keypoint to shoulder keypoint; default 0.45). */
  readonly shoulderToHead?: number;
  /** Region width and height per estimated head width (default HEAD_WIDTH_SCALE, HEAD_HEIGHT_SCALE). */
  readonly widthScale?: number;
  readonly heightScale?: number;
  /** How far below the face keypoints' mean the region is centred, in head widths (default CENTRE_DROP). */
  readonly centreDrop?: number;
  /** Clip the region to an image of this size. */
  readonly bounds?: { readonly width: number; readonly height: number };
}

export interface HeadRegion {
  /** [x, y, width, height] in the pose's pixels. */
  readonly box: readonly [number, number, number, number];
  /** What placed it: face keypoints, or shoulders only. */
  readonly from: 'face' | 'shoulders';
  /** Mean score of the keypoints used. */
  readonly score: number;
}

const pairKey = (a: string, b: string): string => (a < b ? `${a}|${b}` : `${b}|${a}`);

/** Typical distance between two face keypoints as a share of the head's (face box's) width, frontal view. */
const PAIR_SHARE: ReadonlyMap<string, number> = new Map(
  (
    [
      ['left_ear', 'right_ear', 1],
      ['left_eye', 'right_eye', 0.42],
      ['left_eye', 'left_ear', 0.32],
      ['right_eye', 'right_ear', 0.32],
      ['left_eye', 'right_ear', 0.72],
      ['right_eye', 'left_ear', 0.72],
      ['nose', 'left_eye', 0.3],
      ['nose', 'right_eye', 0.3],
      ['nose', 'left_ear', 0.55],
      ['nose', 'right_ear', 0.55],
    ] as const
  ).map(([a, b, share]) => [pairKey(a, b), share]),
);

const FACE = new Set(['nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear']);

/**
 * Defaults measured with scripts/pose-heads.ts on the shared face sets (faces >= 20 px covered 70% by a region;
 * MoveNet at pose score 0.02, 12 people; regions 1.0 x 1.2): keypoint score 0.1 / 0.2 / 0.3 covered 0.782 / 0.741 /
 * 0.667 of WIDER-416's faces and 0.846 / 0.816 / 0.757 of facemask-voc's, for a false area (region pixels outside
 * every labelled face) of 7.2 / 5.4 / 4.2% and 12.6 / 11.5 / 10.0% of image pixels. MoveNet scores occluded
 * keypoints too (a masked nose, the eyes of a head turned away), so face keypoints place nearly every region:
 * shoulders alone placed 5 of 470 and 15 of 2253.
 */
export const MIN_KEYPOINT_SCORE = 0.1;
/**
 * Region width and height per estimated head width. Labelled face boxes are a median 0.59-0.73 head widths wide and
 * 0.79-1.03 high. Same run, keypoint score 0.1: 0.9 x 1.2 covered 0.762 / 0.830 of the faces at a median 1.8 / 2.0x
 * their area (false area 6.3 / 10.9%); 1.0 x 1.2 0.782 / 0.846 at 2.0 / 2.2x (7.2 / 12.6%); 1.0 x 1.35 0.803 /
 * 0.853 at 2.3 / 2.5x (8.3 / 14.7%); 1.3 x 1.5 0.823 / 0.890 at 3.3 / 3.6x (12.1 / 22.6%).
 */
export const HEAD_WIDTH_SCALE = 1;
export const HEAD_HEIGHT_SCALE = 1.2;
/** Face box centre below the face keypoints' mean, in head widths. */
export const CENTRE_DROP = 0.1;
/** Head centre above the shoulder midpoint, in shoulder widths (neck + half a face). */
const HEAD_ABOVE_SHOULDERS = 0.55;

export function headRegion(pose: Pose, options: HeadRegionOptions = {}): HeadRegion | undefined {
  const minScore = options.minKeypointScore ?? MIN_KEYPOINT_SCORE;
  const shoulderToHead = options.shoulderToHead ?? 0.45;
  const widthScale = options.widthScale ?? HEAD_WIDTH_SCALE;
  const heightScale = options.heightScale ?? HEAD_HEIGHT_SCALE;
  const centreDrop = options.centreDrop ?? CENTRE_DROP;
  const kp = (name: string): PoseKeypoint | undefined => {
    const k = pose.keypoints.find((p) => p.name === name);
    return k && k.score >= minScore ? k : undefined;
  };
  const face = pose.keypoints.filter((k) => FACE.has(k.name) && k.score >= minScore);
  const ls = kp('left_shoulder');
  const rs = kp('right_shoulder');
  const shoulderWidth = ls && rs ? Math.hypot(ls.x - rs.x, ls.y - rs.y) : 0;

  let cx: number;
  let cy: number;
  let head: number;
  let from: HeadRegion['from'];
  let used: readonly PoseKeypoint[];
  if (face.length > 0 && (face.length >= 2 || shoulderWidth > 0)) {
    let fromFace = 0;
    for (let i = 0; i < face.length; i++) {
      for (let j = i + 1; j < face.length; j++) {
        const share = PAIR_SHARE.get(pairKey(face[i].name, face[j].name));
        if (share) fromFace = Math.max(fromFace, Math.hypot(face[i].x - face[j].x, face[i].y - face[j].y) / share);
      }
    }
    head = Math.max(fromFace, shoulderToHead * shoulderWidth);
    if (!(head > 0)) return undefined;
    cx = face.reduce((s, k) => s + k.x, 0) / face.length;
    cy = face.reduce((s, k) => s + k.y, 0) / face.length + centreDrop * head;
    from = 'face';
    used = face;
  } else if (ls && rs && shoulderWidth > 0) {
    const mx = (ls.x + rs.x) / 2;
    const my = (ls.y + rs.y) / 2;
    // Perpendicular to the shoulder line, pointing away from the hips (or up in the image without them).
    let ux = -(rs.y - ls.y) / shoulderWidth;
    let uy = (rs.x - ls.x) / shoulderWidth;
    const lh = kp('left_hip');
    const rh = kp('right_hip');
    const down = lh && rh ? { x: (lh.x + rh.x) / 2 - mx, y: (lh.y + rh.y) / 2 - my } : { x: 0, y: 1 };
    if (ux * down.x + uy * down.y > 0) {
      ux = -ux;
      uy = -uy;
    }
    head = shoulderToHead * shoulderWidth;
    cx = mx + ux * HEAD_ABOVE_SHOULDERS * shoulderWidth;
    cy = my + uy * HEAD_ABOVE_SHOULDERS * shoulderWidth;
    from = 'shoulders';
    used = [ls, rs];
  } else {
    return undefined;
  }
  const w = head * widthScale;
  const h = head * heightScale;
  let x1 = cx - w / 2;
  let y1 = cy - h / 2;
  let x2 = cx + w / 2;
  let y2 = cy + h / 2;
  if (options.bounds) {
    x1 = Math.max(0, x1);
    y1 = Math.max(0, y1);
    x2 = Math.min(options.bounds.width, x2);
    y2 = Math.min(options.bounds.height, y2);
    if (x2 <= x1 || y2 <= y1) return undefined;
  }
  const score = used.reduce((s, k) => s + k.score, 0) / used.length;
  return { box: [x1, y1, x2 - x1, y2 - y1], from, score };
}
