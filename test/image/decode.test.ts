import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { codeOf } from '../helpers/errors.ts';
import { decodeImage, sniffImageFormat } from '../../src/image/decode.ts';

const require = createRequire(import.meta.url);
const SAMPLES = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
const photo = readFileSync(join(SAMPLES, 'sample1.jpg'));


/** A PNG whose IHDR claims the given size; the pixel data is a tiny, valid-looking but short IDAT. */
function pngClaiming(width: number, height: number): Buffer {
  const header = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const ihdr = Buffer.alloc(25);
  ihdr.writeUInt32BE(13, 0);
  ihdr.write('IHDR', 4, 'latin1');
  ihdr.writeUInt32BE(width, 8);
  ihdr.writeUInt32BE(height, 12);
  ihdr.writeUInt8(8, 16); // bit depth
  ihdr.writeUInt8(2, 17); // colour type RGB
  // CRC is not checked by the header read in libvips' PNG loader when failOn is lenient; keep zeros.
  return Buffer.concat([header, ihdr]);
}

describe('decodeImage', () => {
  it('decodes a real JPEG photo to packed RGB of its full size', async () => {
    const meta = await sharp(photo).metadata();
    const image = await decodeImage(photo);
    expect(image.format).toBe('jpeg');
    expect([image.width, image.height]).toEqual([meta.width, meta.height]);
    expect(image.data.length).toBe(image.width * image.height * 3);
    // A real photo is not flat: its channels vary.
    const sample = image.data.subarray(0, 30_000);
    expect(Math.max(...sample) - Math.min(...sample)).toBeGreaterThan(50);
  });

  it('decodes PNG and WebP, and drops alpha', async () => {
    const rgba = await sharp(photo).resize(64, 48).ensureAlpha().png().toBuffer();
    const png = await decodeImage(rgba);
    expect([png.format, png.width, png.height, png.data.length]).toEqual(['png', 64, 48, 64 * 48 * 3]);
    const webp = await decodeImage(await sharp(photo).resize(32, 24).webp().toBuffer());
    expect([webp.format, webp.width, webp.height]).toEqual(['webp', 32, 24]);
  });

  it('refuses what is not an image we decode, with a code', async () => {
    expect(await codeOf(decodeImage(new Uint8Array(0)))).toBe('undecodable_image');
    expect(await codeOf(decodeImage(Buffer.from('hello, I am text named photo.jpg\n')))).toBe('unsupported_media_type');
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
    expect(await codeOf(decodeImage(svg))).toBe('unsupported_media_type');
    const gif = await sharp(photo).resize(8, 8).gif().toBuffer();
    expect(await codeOf(decodeImage(gif))).toBe('unsupported_media_type');
  });

  it('refuses a truncated JPEG', async () => {
    expect(await codeOf(decodeImage(photo.subarray(0, Math.floor(photo.length / 3))))).toBe('undecodable_image');
  });

  it('refuses an image claiming too many pixels before decoding it', async () => {
    const before = process.memoryUsage().rss;
    expect(await codeOf(decodeImage(pngClaiming(50_000, 50_000)))).toMatch(/payload_too_large|undecodable_image/);
    expect(await codeOf(decodeImage(pngClaiming(30_000, 30_000)))).toMatch(/payload_too_large|undecodable_image/);
    expect(await codeOf(decodeImage(photo, { maxPixels: 1000 }))).toBe('payload_too_large');
    // Nothing near 30000*30000*3 bytes was allocated.
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
  });

  it('refuses a side longer than a JPEG can have (or than maxImageSide) from the header, whatever the pixel count', async () => {
    const strip = (width: number, height: number) =>
      sharp({ create: { width, height, channels: 3, background: '#808080' } }).png().toBuffer();
    expect(await codeOf(decodeImage(await strip(1_000_000, 1)))).toBe('payload_too_large');
    expect(await codeOf(decodeImage(await strip(1, 65_501)))).toBe('payload_too_large');
    // The limit cannot be raised past the encoder's: a configured 100000 still means 65500.
    expect(await codeOf(decodeImage(await strip(65_501, 1), { maxImageSide: 100_000 }))).toBe('payload_too_large');
    expect(await codeOf(decodeImage(photo, { maxImageSide: 1000 }))).toBe('payload_too_large');
    expect((await decodeImage(await strip(65_500, 1))).width).toBe(65_500);
  });

  it('sniffs formats from bytes only', () => {
    expect(sniffImageFormat(photo)).toBe('jpeg');
    expect(sniffImageFormat(pngClaiming(1, 1))).toBe('png');
    expect(sniffImageFormat(Buffer.from('RIFF\0\0\0\0WEBPVP8 '))).toBe('webp');
    expect(sniffImageFormat(Buffer.from('GIF89a'))).toBeUndefined();
  });
});
