/**
 * The geometry of the live test clip: a lead-in, then for each labelled photo a slow pan of a picture-sized
 * window across the photo scaled to cover the picture (times `zoom`), and the exact truth boxes of every frame
 * computed from the labels and the window's integer offset in that frame. Pure: the clip writer (clip.ts) draws
 * exactly these windows, so a frame's number (band.ts) gives its faces to the pixel.
 */
import type { Box } from '../datasets.ts';

export interface PhotoSpec {
  readonly id: string;
  readonly width: number;
  readonly height: number;
  /** Labelled faces [x, y, width, height] in the photo file's pixels. */
  readonly faces: readonly Box[];
}

export interface ClipOptions {
  /** Picture size (the band goes under it). */
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly secondsPerPhoto: number;
  /** Frames before the first photo (no faces): the camera connects and settles. */
  readonly leadInFrames: number;
  /** Frames after the last photo (no faces): the end of a stream is lost in its buffers, not the last photo. */
  readonly tailFrames?: number;
  /** Scale on top of the least that covers the picture (1: the photo just covers it). */
  readonly zoom: number;
}

export interface PhotoSegment {
  readonly photo: number;
  readonly id: string;
  /** First clip frame of this photo, and how many. */
  readonly first: number;
  readonly frames: number;
  /** The photo scaled to this size (integers), the window moving over it. */
  readonly scaledWidth: number;
  readonly scaledHeight: number;
  /** The window's offset in the first and last frame of the segment. */
  readonly from: readonly [number, number];
  readonly to: readonly [number, number];
}

export interface ClipPlan {
  readonly options: ClipOptions;
  readonly segments: readonly PhotoSegment[];
  readonly totalFrames: number;
  /** The frame after the last photo's last frame. */
  readonly photosEnd: number;
}

/** A face as it shows in one frame: which face (photo and label index), its box clipped to the picture. */
export interface FrameFace {
  readonly photo: number;
  readonly face: number;
  readonly box: Box;
  /** The clipped box's longer side. */
  readonly size: number;
}

/** Faces smaller than this (either side, after clipping) are not counted, as in the photo eval. */
export const MIN_SIDE = 10;
/** A face cut by the picture's edge counts while at least this share of it is inside. */
export const MIN_VISIBLE_SHARE = 0.5;

export function planClip(photos: readonly PhotoSpec[], options: ClipOptions): ClipPlan {
  const per = Math.max(1, Math.round(options.secondsPerPhoto * options.fps));
  const segments = photos.map((p, i): PhotoSegment => {
    const scale = Math.max(options.width / p.width, options.height / p.height) * options.zoom;
    const scaledWidth = Math.max(options.width, Math.round(p.width * scale));
    const scaledHeight = Math.max(options.height, Math.round(p.height * scale));
    const ex = scaledWidth - options.width;
    const ey = scaledHeight - options.height;
    // Odd photos pan the other way, so one photo's end and the next's start differ (a cut the tracker must handle).
    const forward = i % 2 === 0;
    return {
      photo: i,
      id: p.id,
      first: options.leadInFrames + i * per,
      frames: per,
      scaledWidth,
      scaledHeight,
      from: forward ? [0, 0] : [ex, ey],
      to: forward ? [ex, ey] : [0, 0],
    };
  });
  const photosEnd = options.leadInFrames + photos.length * per;
  return { options, segments, totalFrames: photosEnd + (options.tailFrames ?? 0), photosEnd };
}

/** The segment a clip frame belongs to (undefined in the lead-in and after the end). */
export function segmentOf(plan: ClipPlan, frame: number): PhotoSegment | undefined {
  const per = plan.segments[0]?.frames ?? 1;
  const i = Math.floor((frame - plan.options.leadInFrames) / per);
  return i >= 0 && i < plan.segments.length ? plan.segments[i] : undefined;
}

/** The window's integer offset in the scaled photo at a frame of its segment. */
export function windowOffset(segment: PhotoSegment, frame: number): [number, number] {
  const t = segment.frames > 1 ? (frame - segment.first) / (segment.frames - 1) : 0;
  return [Math.round(segment.from[0] + (segment.to[0] - segment.from[0]) * t), Math.round(segment.from[1] + (segment.to[1] - segment.from[1]) * t)];
}

/** The faces of one clip frame, in picture pixels. */
export function frameTruth(plan: ClipPlan, photos: readonly PhotoSpec[], frame: number): FrameFace[] {
  const segment = segmentOf(plan, frame);
  if (!segment) return [];
  const photo = photos[segment.photo];
  const sx = segment.scaledWidth / photo.width;
  const sy = segment.scaledHeight / photo.height;
  const [ox, oy] = windowOffset(segment, frame);
  const { width, height } = plan.options;
  const out: FrameFace[] = [];
  photo.faces.forEach((f, face) => {
    // The photo eval's faces: a label under 10 px is not a face one could recognise, however far it is scaled up.
    if (Math.min(f[2], f[3]) < MIN_SIDE) return;
    const x = f[0] * sx - ox;
    const y = f[1] * sy - oy;
    const w = f[2] * sx;
    const h = f[3] * sy;
    const x0 = Math.max(0, x);
    const y0 = Math.max(0, y);
    const x1 = Math.min(width, x + w);
    const y1 = Math.min(height, y + h);
    if (x1 - x0 < MIN_SIDE || y1 - y0 < MIN_SIDE) return;
    if ((x1 - x0) * (y1 - y0) < MIN_VISIBLE_SHARE * w * h) return;
    out.push({ photo: segment.photo, face, box: [x0, y0, x1 - x0, y1 - y0], size: Math.max(x1 - x0, y1 - y0) });
  });
  return out;
}
