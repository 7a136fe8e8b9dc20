/** JPEG encoding of packed RGB frames (API answers, snapshots). */
import sharp, { type Sharp } from 'sharp';
import type { RgbImage } from '../core/image.ts';

export const DEFAULT_JPEG_QUALITY = 85;

/** A sharp pipeline over an RgbImage's bytes, without copying them. */
export function sharpFromRgb(image: RgbImage): Sharp {
  const bytes = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  return sharp(bytes, { raw: { width: image.width, height: image.height, channels: 3 } });
}

export async function encodeJpeg(image: RgbImage, quality = DEFAULT_JPEG_QUALITY): Promise<Buffer> {
  return sharpFromRgb(image).jpeg({ quality }).toBuffer();
}
