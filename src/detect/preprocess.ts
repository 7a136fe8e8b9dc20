/**
 * Image → model input. sharp (libvips) does the resize, which is the expensive part on big photos; a plain loop
 * then turns the small resized HWC bytes into normalised NCHW floats. The transform returned with each tensor maps
 * model-input pixels back to the original image's pixels, so decoders never need to know about resizing,
 * letterboxing or tiles.
 */
import sharp from 'sharp';
import type { RgbImage } from '../core/image.ts';
import type { ModelManifest } from './manifest.ts';
import type { Candidate } from './decoders/common.ts';

/** A rectangle of the image, in whole pixels. */
export interface Region {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** image pixel = model pixel * scale + offset, per axis. */
export interface Transform {
  readonly scaleX: number;
  readonly scaleY: number;
  readonly offsetX: number;
  readonly offsetY: number;
}

export interface ResizePlan {
  /** Size the region is resized to before padding (letterbox) or as is (stretch). */
  readonly resizedWidth: number;
  readonly resizedHeight: number;
  readonly transform: Transform;
}

type InputSpec = ModelManifest['input'];

/** How a region of the image is fitted into the model input: pure, so tested without images. */
export function planResize(region: Region, input: Pick<InputSpec, 'width' | 'height' | 'resize'>): ResizePlan {
  if (input.resize === 'stretch') {
    return {
      resizedWidth: input.width,
      resizedHeight: input.height,
      transform: { scaleX: region.width / input.width, scaleY: region.height / input.height, offsetX: region.x, offsetY: region.y },
    };
  }
  // Letterbox: keep the aspect ratio, content at the top-left, the rest padded (with the mean colour, i.e. 0).
  const scale = Math.min(input.width / region.width, input.height / region.height);
  const resizedWidth = Math.max(1, Math.min(input.width, Math.round(region.width * scale)));
  const resizedHeight = Math.max(1, Math.min(input.height, Math.round(region.height * scale)));
  return {
    resizedWidth,
    resizedHeight,
    transform: { scaleX: region.width / resizedWidth, scaleY: region.height / resizedHeight, offsetX: region.x, offsetY: region.y },
  };
}

/** Map a candidate from model-input pixels to image pixels, clipped to the image. */
export function toImageSpace(c: Candidate, t: Transform, imageWidth: number, imageHeight: number): Candidate {
  return {
    x1: clamp(c.x1 * t.scaleX + t.offsetX, 0, imageWidth),
    y1: clamp(c.y1 * t.scaleY + t.offsetY, 0, imageHeight),
    x2: clamp(c.x2 * t.scaleX + t.offsetX, 0, imageWidth),
    y2: clamp(c.y2 * t.scaleY + t.offsetY, 0, imageHeight),
    score: c.score,
    classId: c.classId,
  };
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/**
 * Packed RGB (HWC, width x height) → normalised planar floats in a (inputWidth x inputHeight) NCHW tensor. The
 * pixels land at the top-left; the rest (letterbox padding) is 0, which is the mean colour after normalising.
 */
export function hwcToNchw(
  rgb: Uint8Array,
  width: number,
  height: number,
  input: Pick<InputSpec, 'width' | 'height' | 'mean' | 'std'>,
  out?: Float32Array,
): Float32Array {
  const plane = input.width * input.height;
  const tensor = out && out.length === 3 * plane ? out : new Float32Array(3 * plane);
  if (width !== input.width || height !== input.height) tensor.fill(0);
  const [m0, m1, m2] = input.mean;
  const s0 = 1 / input.std[0];
  const s1 = 1 / input.std[1];
  const s2 = 1 / input.std[2];
  for (let y = 0; y < height; y++) {
    let src = y * width * 3;
    let dst = y * input.width;
    for (let x = 0; x < width; x++, src += 3, dst++) {
      tensor[dst] = (rgb[src] - m0) * s0;
      tensor[dst + plane] = (rgb[src + 1] - m1) * s1;
      tensor[dst + 2 * plane] = (rgb[src + 2] - m2) * s2;
    }
  }
  return tensor;
}

/** Crop `region` of `image` and resize it to width x height with libvips; skips the work when nothing changes. */
export async function resizeRegion(image: RgbImage, region: Region, width: number, height: number): Promise<Uint8Array> {
  const whole = region.x === 0 && region.y === 0 && region.width === image.width && region.height === image.height;
  if (whole && width === image.width && height === image.height) return image.data;
  let pipeline = sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } });
  if (!whole) pipeline = pipeline.extract({ left: region.x, top: region.y, width: region.width, height: region.height });
  const data = await pipeline.resize(width, height, { fit: 'fill', kernel: 'linear' }).raw().toBuffer();
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export interface Prepared {
  readonly tensor: Float32Array;
  readonly transform: Transform;
}

/** The model input for one region of an image (the whole image by default). */
export async function preprocess(image: RgbImage, input: InputSpec, region?: Region, out?: Float32Array): Promise<Prepared> {
  const r = region ?? { x: 0, y: 0, width: image.width, height: image.height };
  const plan = planResize(r, input);
  const pixels = await resizeRegion(image, r, plan.resizedWidth, plan.resizedHeight);
  return { tensor: hwcToNchw(pixels, plan.resizedWidth, plan.resizedHeight, input, out), transform: plan.transform };
}
