/**
 * Image decoding with limits: only JPEG, PNG and WebP (sniffed from the bytes, never trusted from a name or a
 * content type), a pixel limit checked from the header before any pixel is decoded, and a decode timeout.
 */
import sharp, { type Metadata } from 'sharp';
import { RaypackError } from '../errors.ts';
import type { RgbImage } from '../detect/types.ts';

export type ImageFormat = 'jpeg' | 'png' | 'webp';

export interface DecodeLimits {
  /** Largest width*height accepted (default 40 megapixels). */
  readonly maxPixels?: number;
  /** Abort decoding after this many seconds (default 10). */
  readonly timeoutSeconds?: number;
}

export const DEFAULT_MAX_PIXELS = 40_000_000;

// libvips caches decoded images by default; a daemon decoding untrusted uploads must not keep them.
sharp.cache(false);

/** The format from the magic bytes, or undefined for anything we do not decode. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png';
  if (
    bytes.length >= 12 &&
    String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]) === 'RIFF' &&
    String.fromCharCode(bytes[8], bytes[9], bytes[10], bytes[11]) === 'WEBP'
  ) {
    return 'webp';
  }
  return undefined;
}

/** Decode an encoded image to packed RGB, honouring EXIF orientation. Throws RaypackError with a clear code. */
export async function decodeImage(bytes: Uint8Array, limits: DecodeLimits = {}): Promise<RgbImage & { format: ImageFormat }> {
  if (bytes.length === 0) throw new RaypackError('undecodable_image', 'the image is empty (0 bytes)');
  const format = sniffImageFormat(bytes);
  if (!format) throw new RaypackError('unsupported_media_type', 'not a JPEG, PNG or WebP image');
  const maxPixels = limits.maxPixels ?? DEFAULT_MAX_PIXELS;
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw new RaypackError('undecodable_image', `the ${format.toUpperCase()} image cannot be read: ${shortReason(error)}`);
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width <= 0 || height <= 0) throw new RaypackError('undecodable_image', `the ${format.toUpperCase()} image has no size`);
  if (width * height > maxPixels) {
    throw new RaypackError('payload_too_large', `the image is ${width}x${height} pixels, more than the limit of ${maxPixels}`, {
      width,
      height,
      maxPixels,
    });
  }
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error', sequentialRead: true })
      .timeout({ seconds: limits.timeoutSeconds ?? 10 })
      .rotate()
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`unexpected channel count ${info.channels}`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, format };
  } catch (error) {
    throw new RaypackError('undecodable_image', `the ${format.toUpperCase()} image cannot be decoded: ${shortReason(error)}`);
  }
}

function shortReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0].replace(/^Input buffer /, '').slice(0, 200);
}
