/** Anonymisation checked by its pixels, on real photos, with the real face detector. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDetector } from '../../src/detect/registry.ts';
import type { Detector } from '../../src/detect/types.ts';
import type { RgbImage } from '../../src/core/image.ts';
import { decodeImage } from '../../src/image/decode.ts';
import { DEFAULT_MARGIN, expandWithMargin } from '../../src/core/geometry.ts';
import { parseHexColour, renderFaces, renderFacesRaw, strokeWidth } from '../../src/image/anonymize.ts';
import { applyMask, rasterisePolygons } from '../../src/image/privacy-mask.ts';
import type { Rect } from '../../src/core/geometry.ts';

const SAMPLES = resolve(import.meta.dirname, '../../node_modules/@vladmandic/face-api/demo');
const THRESHOLD = 0.5;

let detector: Detector;
const photos = new Map<number, { image: RgbImage; faces: Rect[] }>();

const toRect = (box: readonly number[]): Rect => ({ x: box[0], y: box[1], width: box[2], height: box[3] });

async function decodeJpeg(jpeg: Buffer): Promise<RgbImage> {
  return decodeImage(jpeg);
}

function pixel(image: RgbImage, x: number, y: number): [number, number, number] {
  const i = (y * image.width + x) * 3;
  return [image.data[i], image.data[i + 1], image.data[i + 2]];
}

const close = (a: readonly number[], b: readonly number[], tolerance: number): boolean => a.every((v, i) => Math.abs(v - b[i]) <= tolerance);

function iou(a: Rect, b: Rect): number {
  const x0 = Math.max(a.x, b.x);
  const y0 = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.width, b.x + b.width);
  const y1 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  return inter / (a.width * a.height + b.width * b.height - inter);
}

const inside = (r: Rect, x: number, y: number, pad = 0): boolean =>
  x >= r.x - pad && x < r.x + r.width + pad && y >= r.y - pad && y < r.y + r.height + pad;

beforeAll(async () => {
  detector = await loadDetector('face', { threads: 1 });
  for (const n of [1, 2, 3, 4, 5, 6]) {
    const image = await decodeImage(readFileSync(join(SAMPLES, `sample${n}.jpg`)));
    const faces = (await detector.detect(image, { threshold: THRESHOLD })).map((d) => toRect(d.box));
    photos.set(n, { image, faces });
  }
});

afterAll(async () => {
  await detector?.close();
});

describe('geometry', () => {
  it('grows the box by the margin and clips it to the image', () => {
    expect(expandWithMargin({ x: 100, y: 100, width: 100, height: 100 }, 1000, 1000)).toEqual({ x: 80, y: 70, width: 140, height: 145 });
    expect(expandWithMargin({ x: 0, y: 0, width: 100, height: 100 }, 110, 110)).toEqual({ x: 0, y: 0, width: 110, height: 110 });
    expect(DEFAULT_MARGIN.top).toBeGreaterThan(DEFAULT_MARGIN.bottom);
    expect(parseHexColour('00ff00')).toEqual([0, 255, 0]);
    expect(parseHexColour('#FF0080')).toEqual([255, 0, 128]);
    expect(parseHexColour('zz0000')).toBeUndefined();
  });
});

describe('privacy masks over a render', () => {
  it('a pixelated or filled region over the edge of a mask leaves the masked pixels black', async () => {
    // A frame whose mask (the top-left 100x80) is black already, as a camera's is, the rest bright.
    const width = 320;
    const height = 240;
    const frame: RgbImage = { data: new Uint8Array(width * height * 3).fill(200), width, height };
    const mask = rasterisePolygons([[[0, 0], [100, 0], [100, 80], [0, 80]]], width, height);
    applyMask(frame.data, mask);
    const region = { x: 40, y: 20, width: 120, height: 100, kind: 'head' as const };
    const maxInMask = (rgb: Uint8Array) => {
      let max = 0;
      for (let y = 0; y < 80; y++) for (let x = 0; x < 100; x++) max = Math.max(max, rgb[(y * width + x) * 3], rgb[(y * width + x) * 3 + 1]);
      return max;
    };
    for (const mode of ['pixel', 'fill'] as const) {
      // Without the mask the render paints into it (a pixel cell averages black and bright; the fill is green)...
      expect(maxInMask(new Uint8Array(await renderFacesRaw(frame, [region], mode, { colour: [0, 255, 0] }))), mode).toBeGreaterThan(60);
      // ...with it, every masked pixel stays black, raw and in the JPEG (a little ringing at the edge).
      expect(maxInMask(new Uint8Array(await renderFacesRaw(frame, [region], mode, { colour: [0, 255, 0], mask }))), mode).toBe(0);
      const jpeg = await renderFaces(frame, [region], mode, { colour: [0, 255, 0], mask });
      const { data } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
      let max = 0;
      for (let y = 0; y < 72; y++) for (let x = 0; x < 92; x++) max = Math.max(max, data[(y * width + x) * 3 + 1]);
      expect(max, mode).toBeLessThan(12);
    }
  });
});

describe('renderFaces on real photos', () => {
  it('the photos have faces for the detector', () => {
    const counts = [...photos.values()].map((p) => p.faces.length);
    expect(counts.every((c) => c >= 2)).toBe(true);
  });

  it.each(['default', 'blazeface-back'])('pixel: the face detector (%s) no longer finds any of the faces it found before', async (model) => {
    const other = model === 'default' ? detector : await loadDetector('face', { threads: 1, model });
    try {
      for (const [n, { image }] of photos) {
        const faces = (await other.detect(image, { threshold: THRESHOLD })).map((d) => toRect(d.box));
        const jpeg = await renderFaces(image, faces, 'pixel', { colour: [0, 255, 0] });
        // Looked for again with a lower threshold than the one that found them, to leave no doubt.
        const after = (await other.detect(await decodeJpeg(jpeg), { threshold: THRESHOLD * 0.6 })).map((d) => toRect(d.box));
        const refound = faces.filter((f) => after.some((a) => iou(a, f) > 0.3));
        expect(refound, `sample${n}: ${faces.length} faces before, ${refound.length} found again`).toEqual([]);
      }
    } finally {
      if (other !== detector) await other.close();
    }
  });

  it('pixel: the face region really changed and the rest of the picture did not', async () => {
    const { image, faces } = photos.get(1)!;
    const out = await decodeJpeg(await renderFaces(image, faces, 'pixel', { colour: [0, 255, 0] }));
    const region = expandWithMargin(faces[0], image.width, image.height);
    // Inside a mosaic cell neighbouring pixels are equal (up to JPEG noise); the top-left cell is a third of the region.
    const cx = region.x + Math.floor(region.width / 8);
    const cy = region.y + Math.floor(region.height / 8);
    expect(close(pixel(out, cx, cy), pixel(out, cx + 6, cy + 6), 12)).toBe(true);
    expect(close(pixel(out, cx, cy), pixel(image, cx, cy), 3) && close(pixel(out, cx + 6, cy + 6), pixel(image, cx + 6, cy + 6), 3)).toBe(false);
    expect(close(pixel(out, 5, 5), pixel(image, 5, 5), 20)).toBe(true);
  });

  it('fill: the whole face region WITH margin has the hex colour', async () => {
    const { image, faces } = photos.get(6)!;
    const colour = parseHexColour('ff0080')!;
    const out = await decodeJpeg(await renderFaces(image, faces, 'fill', { colour }));
    expect(out.width).toBe(image.width);
    for (const face of faces) {
      const region = expandWithMargin(face, image.width, image.height);
      expect(region.y).toBeLessThan(face.y - face.height * 0.2);
      for (let y = region.y + 3; y < region.y + region.height - 3; y += 7) {
        for (let x = region.x + 3; x < region.x + region.width - 3; x += 7) {
          expect(close(pixel(out, x, y), colour, 24), `(${x},${y}) ${pixel(out, x, y)}`).toBe(true);
        }
      }
    }
  });

  it('black: black everywhere except the drawn boxes, which have the outline colour', async () => {
    const { image, faces } = photos.get(5)!;
    const colour: [number, number, number] = [0, 255, 0];
    const out = await decodeJpeg(await renderFaces(image, faces, 'black', { colour }));
    expect([out.width, out.height]).toEqual([image.width, image.height]);
    const stroke = strokeWidth(image.width, image.height);
    let checked = 0;
    for (let y = 0; y < out.height; y += 5) {
      for (let x = 0; x < out.width; x += 5) {
        // Outside every box's outline (with JPEG ringing: up to 6 px around a green stroke on black, measured
        // with boxes at fractional positions) the picture is black.
        const ring = 6;
        const onOutline = faces.some(
          (f) =>
            inside(f, x, y, ring) &&
            !inside({ x: f.x + stroke + ring, y: f.y + stroke + ring, width: f.width - 2 * (stroke + ring), height: f.height - 2 * (stroke + ring) }, x, y),
        );
        if (onOutline) continue;
        const [r, g, b] = pixel(out, x, y);
        expect(r + g + b, `(${x},${y})`).toBeLessThanOrEqual(24);
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThan(100_000);
    for (const f of faces) {
      const x = Math.round(f.x + f.width / 2);
      expect(close(pixel(out, x, Math.round(f.y) + 1), colour, 40)).toBe(true);
    }
  });

  it('outline: the picture is unchanged inside and outside the boxes, the boxes are drawn', async () => {
    const { image, faces } = photos.get(3)!;
    const colour: [number, number, number] = [0, 255, 0];
    const out = await decodeJpeg(await renderFaces(image, faces, 'outline', { colour }));
    for (const f of faces) {
      const cx = Math.round(f.x + f.width / 2);
      const cy = Math.round(f.y + f.height / 2);
      expect(close(pixel(out, cx, cy), pixel(image, cx, cy), 30)).toBe(true);
      expect(close(pixel(out, Math.round(f.x) + 1, cy), colour, 40)).toBe(true);
    }
  });

  it('handles a 12-megapixel picture with many faces in reasonable time (sharp, not JS loops)', async () => {
    const width = 4000;
    const height = 3000;
    const { data } = await sharp({ create: { width, height, channels: 3, background: { r: 90, g: 120, b: 150 } } })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const image: RgbImage = { data, width, height };
    const boxes = Array.from({ length: 20 }, (_, i) => ({ x: (i % 10) * 390 + 20, y: Math.floor(i / 10) * 1400 + 100, width: 300, height: 400 }));
    for (const mode of ['pixel', 'fill', 'black', 'outline'] as const) {
      const started = performance.now();
      const jpeg = await renderFaces(image, boxes, mode, { colour: [255, 255, 0] });
      const ms = performance.now() - started;
      expect(jpeg[0]).toBe(0xff);
      expect(ms, `${mode} took ${Math.round(ms)} ms`).toBeLessThan(10_000);
    }
  });
});
