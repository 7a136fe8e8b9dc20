/** headRegion on hand-made poses (pure). On real photos: test/detect/pose.test.ts. */
import { describe, expect, it } from 'vitest';
import { CENTRE_DROP, HEAD_HEIGHT_SCALE, HEAD_WIDTH_SCALE, headRegion } from '../../src/detect/head-region.ts';
import { MOVENET_KEYPOINTS } from '../../src/detect/decoders/movenet.ts';
import type { Pose } from '../../src/detect/pose.ts';

type Points = Partial<Record<(typeof MOVENET_KEYPOINTS)[number], [number, number, number?]>>;

function pose(points: Points): Pose {
  return {
    score: 0.5,
    box: [0, 0, 400, 400],
    keypoints: MOVENET_KEYPOINTS.map((name) => {
      const p = points[name];
      return { name, x: p?.[0] ?? 0, y: p?.[1] ?? 0, score: p ? (p[2] ?? 0.9) : 0.01 };
    }),
  };
}

// A frontal face (the person's left is the image's right) and shoulders 80 px apart.
const FACE: Points = { nose: [100, 100], left_eye: [110, 90], right_eye: [90, 90], left_ear: [120, 95], right_ear: [80, 95] };
const SHOULDERS: Points = { left_shoulder: [140, 160], right_shoulder: [60, 160] };

describe('headRegion', () => {
  it('frontal face: centred below the face keypoints, as wide as the largest head width their distances imply', () => {
    const r = headRegion(pose({ ...FACE, ...SHOULDERS }))!;
    expect(r.from).toBe('face');
    // eye to eye 20 px at 0.42 of a head width is the largest estimate (ear to ear 40 at 1, shoulders 80 x 0.45 = 36).
    const head = 20 / 0.42;
    const [x, y, w, h] = r.box;
    expect(w).toBeCloseTo(HEAD_WIDTH_SCALE * head, 6);
    expect(h).toBeCloseTo(HEAD_HEIGHT_SCALE * head, 6);
    expect(x + w / 2).toBeCloseTo(100, 6);
    expect(y + h / 2).toBeCloseTo(94 + CENTRE_DROP * head, 6);
    expect(r.score).toBeCloseTo(0.9, 6);
  });

  it('every pair of face keypoints gives an estimate (a profile: nose, one eye, one ear)', () => {
    // eye to ear 16 px at 0.32 of a head width = 50, above nose to eye (10 / 0.3) and nose to ear (24 / 0.55).
    const r = headRegion(pose({ nose: [100, 100], right_eye: [106, 92], right_ear: [122, 92] }))!;
    expect(r.box[2]).toBeCloseTo(HEAD_WIDTH_SCALE * 50, 6);
  });

  it('the shoulders set the size when the face keypoints are close together (a small or foreshortened face)', () => {
    const r = headRegion(pose({ nose: [100, 100], left_eye: [102, 98], ...SHOULDERS }))!;
    expect(r.from).toBe('face');
    expect(r.box[2]).toBeCloseTo(HEAD_WIDTH_SCALE * 0.45 * 80, 6);
  });

  it('weak face keypoints: placed above the shoulders, away from the hips (also for a person upside down)', () => {
    const weakFace: Points = Object.fromEntries(Object.entries(FACE).map(([k, v]) => [k, [v[0], v[1], 0.05]]));
    const up = headRegion(pose({ ...weakFace, ...SHOULDERS, left_hip: [130, 260], right_hip: [70, 260] }))!;
    expect(up.from).toBe('shoulders');
    const [x, y, w, h] = up.box;
    expect(x + w / 2).toBeCloseTo(100, 6);
    expect(y + h / 2).toBeCloseTo(160 - 0.55 * 80, 6);
    expect(w).toBeCloseTo(HEAD_WIDTH_SCALE * 0.45 * 80, 6);
    const down = headRegion(pose({ left_shoulder: [60, 160], right_shoulder: [140, 160], left_hip: [70, 60], right_hip: [130, 60] }))!;
    expect(down.box[1] + down.box[3] / 2).toBeCloseTo(160 + 0.55 * 80, 6);
    // Without hips: up in the image.
    const noHips = headRegion(pose({ left_shoulder: [60, 160], right_shoulder: [140, 160] }))!;
    expect(noHips.box[1] + noHips.box[3] / 2).toBeCloseTo(160 - 0.55 * 80, 6);
  });

  it('nothing to go on: no region; a lone face keypoint needs the shoulders for a size', () => {
    expect(headRegion(pose({}))).toBeUndefined();
    expect(headRegion(pose({ nose: [100, 100] }))).toBeUndefined();
    expect(headRegion(pose({ nose: [100, 100], ...SHOULDERS }))?.from).toBe('face');
  });

  it('clips to the image, and honours the keypoint threshold and the scales', () => {
    const r = headRegion(pose({ ...FACE, ...SHOULDERS }), { bounds: { width: 110, height: 300 } })!;
    expect(r.box[0] + r.box[2]).toBe(110);
    expect(headRegion(pose({ ...FACE, ...SHOULDERS }), { bounds: { width: 10, height: 10 } })).toBeUndefined();
    expect(headRegion(pose(FACE), { minKeypointScore: 0.95 })).toBeUndefined();
    const small = headRegion(pose(FACE), { widthScale: 1, heightScale: 1, centreDrop: 0 })!;
    expect(small.box[2]).toBeCloseTo(20 / 0.42, 6);
    expect(small.box[1] + small.box[3] / 2).toBeCloseTo(94, 6);
  });
});
