/**
 * One snapshot measured (pure): the clip frame it shows (band.ts), the faces of that frame (pan.ts), the share
 * of each face's box the snapshot fills with the known colour, and the false fill (filled picture pixels outside
 * every face grown by the render margin, as the still eval counts it: scripts/eval/privacy.ts falseFill).
 */
import type { RgbImage } from '../../../src/core/image.ts';
import { readFrameNumber, type FrameLayout } from './clip.ts';
import { frameTruth, type ClipPlan, type PhotoSpec } from './pan.ts';
import { falseFill } from '../privacy.ts';
import type { ObservedFrame } from './runs.ts';

/** The fill colour of the live eval's snapshots: magenta, rare in photos and far from skin. */
export const FILL_HEX = 'ff00ff';

/** A pixel of the fill colour after JPEG (chroma blurred at box edges, so a margin). */
export function isFill(r: number, g: number, b: number): boolean {
  return r >= 160 && b >= 160 && g <= 110;
}

/** The share of the box's pixels (centres inside it) showing the fill colour. */
export function filledShare(image: RgbImage, box: readonly [number, number, number, number]): number {
  const x0 = Math.max(0, Math.round(box[0]));
  const y0 = Math.max(0, Math.round(box[1]));
  const x1 = Math.min(image.width, Math.round(box[0] + box[2]));
  const y1 = Math.min(image.height, Math.round(box[1] + box[3]));
  let hidden = 0;
  let total = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * image.width + x) * 3;
      total += 1;
      if (isFill(image.data[i], image.data[i + 1], image.data[i + 2])) hidden += 1;
    }
  }
  return total > 0 ? hidden / total : 0;
}

/**
 * What one decoded snapshot shows, or undefined when its bands cannot be read. Truth boxes are in picture pixels:
 * moved down by the top band. `knownFrame`: the clip frame told otherwise (runs.ts frameFromSeq, for a snapshot
 * whose bands the fill covers), used instead of the bands.
 */
export function measureSnapshot(image: RgbImage, layout: FrameLayout, plan: ClipPlan, photos: readonly PhotoSpec[], knownFrame?: number): ObservedFrame | undefined {
  const frame = knownFrame ?? readFrameNumber(image, layout);
  if (frame === undefined || frame < 0 || frame >= plan.totalFrames) return undefined;
  const faces = frameTruth(plan, photos, frame).map((f) => ({
    photo: f.photo,
    face: f.face,
    size: f.size,
    coverage: filledShare(image, [f.box[0], f.box[1] + layout.pictureTop, f.box[2], f.box[3]]),
  }));
  return { frame, faces, falseFill: pictureFalseFill(image, layout, frameTruth(plan, photos, frame).map((f) => f.box)) };
}

/** False fill of the picture (the bands left out): faces in picture pixels. */
function pictureFalseFill(image: RgbImage, layout: FrameLayout, faces: ReadonlyArray<readonly [number, number, number, number]>): number {
  const width = image.width;
  const height = layout.bands[1].top - layout.pictureTop;
  const mask = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = ((y + layout.pictureTop) * width + x) * 3;
      if (isFill(image.data[i], image.data[i + 1], image.data[i + 2])) mask[y * width + x] = 1;
    }
  }
  return falseFill(mask, width, height, faces.map(([x, y, w, h]) => ({ x, y, width: w, height: h })));
}
