/**
 * The live test clip written to a file: the frames planned by pan.ts (each photo scaled once, the window copied
 * out of it per frame), the frame number stamped in the band under the picture (band.ts), H.264 at a constant
 * frame rate through ffmpeg (the product's FrameEncoder). Also the photo choice: evenly spread over each set.
 */
import sharp from 'sharp';
import { FrameEncoder } from '../../../src/video/ffmpeg-process.ts';
import type { Dataset } from '../datasets.ts';
import { drawBand, readBands, type BandLayout } from './band.ts';
import type { RgbImage } from '../../../src/core/image.ts';
import { planClip, windowOffset, type ClipOptions, type ClipPlan, type PhotoSpec } from './pan.ts';

export interface ClipPhoto extends PhotoSpec {
  readonly path: string;
  readonly set: string;
}

/** `count` photos with at least one face, spread evenly over each set, the sets taken in turn. */
export async function pickPhotos(sets: readonly Dataset[], count: number): Promise<ClipPhoto[]> {
  const perSet = sets.map((_, i) => Math.floor(count / sets.length) + (i < count % sets.length ? 1 : 0));
  const chosen: ClipPhoto[][] = [];
  for (const [s, set] of sets.entries()) {
    const usable = set.images.filter((im) => im.truths.some((t) => Math.min(t.box[2], t.box[3]) >= 10));
    const n = Math.min(perSet[s], usable.length);
    const picks = Array.from({ length: n }, (_, i) => usable[Math.floor((i * usable.length) / n)]);
    const photos: ClipPhoto[] = [];
    for (const im of picks) {
      const meta = await sharp(im.path).metadata();
      photos.push({ id: im.id, path: im.path, set: set.name, width: meta.width ?? 0, height: meta.height ?? 0, faces: im.truths.map((t) => t.box) });
    }
    chosen.push(photos);
  }
  const out: ClipPhoto[] = [];
  for (let i = 0; chosen.some((c) => i < c.length); i++) for (const c of chosen) if (i < c.length) out.push(c[i]);
  return out;
}

export const BAND_HEIGHT = 48;

export interface FrameLayout {
  readonly width: number;
  readonly height: number;
  /** The picture's first row in the frame. */
  readonly pictureTop: number;
  /** The band above the picture and the band under it: a large face at one edge of the picture, hidden with its margin, covers one of them. */
  readonly bands: readonly [BandLayout, BandLayout];
}

/** The frame of the clip: a band, the picture, a band. */
export function frameSize(options: Pick<ClipOptions, 'width' | 'height'>): FrameLayout {
  return {
    width: options.width,
    height: options.height + 2 * BAND_HEIGHT,
    pictureTop: BAND_HEIGHT,
    bands: [
      { width: options.width, top: 0, height: BAND_HEIGHT },
      { width: options.width, top: BAND_HEIGHT + options.height, height: BAND_HEIGHT },
    ],
  };
}

/** The clip frame number a frame of this layout shows. */
export function readFrameNumber(frame: RgbImage, layout: FrameLayout): number | undefined {
  return readBands(frame, layout.bands);
}

/** ffmpeg's arguments: raw RGB frames on stdin to H.264 (yuv420p, no B-frames, a keyframe every second) in MP4. */
export function clipEncodeArgs(width: number, height: number, fps: number, output: string): string[] {
  return [
    '-hide_banner', '-nostdin', '-loglevel', 'error', '-y',
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-framerate', String(fps), '-i', 'pipe:0',
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-bf', '0', '-g', String(Math.max(1, Math.round(fps))),
    '-pix_fmt', 'yuv420p', '-r', String(fps), '-movflags', '+faststart', output,
  ];
}

export async function writeClip(photos: readonly ClipPhoto[], options: ClipOptions, output: string, ffmpegPath = 'ffmpeg', onProgress?: (frame: number, total: number) => void): Promise<ClipPlan> {
  const plan = planClip(photos, options);
  const size = frameSize(options);
  const encoder = new FrameEncoder(ffmpegPath, clipEncodeArgs(size.width, size.height, options.fps, output));
  const rowBytes = options.width * 3;
  try {
    let n = 0;
    const top = size.pictureTop * rowBytes;
    const emit = async (fill: (picture: Uint8Array) => void): Promise<void> => {
      const data = new Uint8Array(size.width * size.height * 3);
      fill(data.subarray(top, top + options.height * rowBytes));
      for (const band of size.bands) drawBand({ data, width: size.width, height: size.height }, band, n);
      await encoder.write(data);
      n += 1;
      if (n % 100 === 0) onProgress?.(n, plan.totalFrames);
    };
    for (let i = 0; i < options.leadInFrames; i++) await emit((d) => d.fill(96));
    for (const segment of plan.segments) {
      const photo = photos[segment.photo];
      const scaled = await sharp(photo.path).removeAlpha().toColourspace('srgb').resize(segment.scaledWidth, segment.scaledHeight, { fit: 'fill' }).raw().toBuffer();
      const stride = segment.scaledWidth * 3;
      for (let f = segment.first; f < segment.first + segment.frames; f++) {
        const [ox, oy] = windowOffset(segment, f);
        await emit((d) => {
          for (let y = 0; y < options.height; y++) d.set(scaled.subarray((oy + y) * stride + ox * 3, (oy + y) * stride + ox * 3 + rowBytes), y * rowBytes);
        });
      }
    }
    for (let i = plan.photosEnd; i < plan.totalFrames; i++) await emit((d) => d.fill(96));
    await encoder.finish();
  } finally {
    encoder.abort();
    await encoder.exited();
  }
  onProgress?.(plan.totalFrames, plan.totalFrames);
  return plan;
}
