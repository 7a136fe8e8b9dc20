import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeOf } from '../helpers/errors.ts';
import { FP32_SAME_FACE_IOU, INT8_SAME_FACE_IOU } from '../helpers/box-agreement.ts';
import { decodeForDetection, decodeImage, scaleBox, scaleDetections } from '../../src/image/decode.ts';
import { decodeSideFor, detectionDecodeOptions, detectionDecodeSide, loadDetector } from '../../src/detect/registry.ts';
import type { Detection, Detector } from '../../src/detect/types.ts';

const require = createRequire(import.meta.url);
const SAMPLES = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
const sample = (i: number): Buffer => readFileSync(join(SAMPLES, `sample${i}.jpg`));
const photo = sample(1);


function iou(a: Detection['box'], b: Detection['box']): number {
  const ix = Math.max(0, Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]));
  return (ix * iy) / (a[2] * a[3] + b[2] * b[3] - ix * iy);
}

describe('decodeForDetection', () => {
  it('decodes a 1920 px JPEG at most maxSide on its long side, with the original size and the scale back', async () => {
    const full = await decodeImage(photo);
    const decoded = await decodeForDetection(photo, { maxSide: 640 });
    expect(decoded.format).toBe('jpeg');
    expect([decoded.originalWidth, decoded.originalHeight]).toEqual([full.width, full.height]);
    expect(Math.max(decoded.image.width, decoded.image.height)).toBe(640);
    expect(decoded.image.data.length).toBe(decoded.image.width * decoded.image.height * 3);
    expect(decoded.scale).toBeCloseTo(full.width / 640, 6);
    expect(decoded.scaleX * decoded.image.width).toBeCloseTo(full.width, 6);
    expect(decoded.scaleY * decoded.image.height).toBeCloseTo(full.height, 6);
    // Same picture: the reduced decode matches a plain downscale of the full decode closely.
    const reference = await sharp(full.data, { raw: { width: full.width, height: full.height, channels: 3 } })
      .resize(decoded.image.width, decoded.image.height, { fit: 'fill' })
      .raw()
      .toBuffer();
    let diff = 0;
    for (let i = 0; i < reference.length; i++) diff += Math.abs(reference[i] - decoded.image.data[i]);
    expect(diff / reference.length).toBeLessThan(4);
  });

  it('never upscales: a maxSide above the image size (or none) gives the full decode and scale 1', async () => {
    const full = await decodeImage(photo);
    for (const maxSide of [4000, undefined]) {
      const decoded = await decodeForDetection(photo, { maxSide });
      expect([decoded.image.width, decoded.image.height, decoded.scale, decoded.scaleX, decoded.scaleY]).toEqual([full.width, full.height, 1, 1, 1]);
      expect(Buffer.from(decoded.image.data).equals(Buffer.from(full.data))).toBe(true);
    }
  });

  it('honours EXIF orientation: original size after rotation, reduced image rotated the same way', async () => {
    const rotated = await sharp(photo).withMetadata({ orientation: 6 }).jpeg().toBuffer();
    const full = await decodeImage(rotated);
    expect(full.height).toBeGreaterThan(full.width); // 1920x1280 stored, 1280x1920 shown
    const decoded = await decodeForDetection(rotated, { maxSide: 600 });
    expect([decoded.originalWidth, decoded.originalHeight]).toEqual([full.width, full.height]);
    expect(decoded.image.height).toBe(600);
    expect(decoded.image.width).toBe(Math.round((600 * full.width) / full.height));
  });

  it('resizes PNG and WebP the same way (no shrink-on-load, same detector input)', async () => {
    const small = await sharp(photo).resize(960).toBuffer();
    for (const bytes of [await sharp(small).png().toBuffer(), await sharp(small).webp().toBuffer()]) {
      const decoded = await decodeForDetection(bytes, { maxSide: 480 });
      expect(Math.max(decoded.image.width, decoded.image.height)).toBe(480);
      expect(decoded.originalWidth).toBe(960);
      expect(decoded.scale).toBeCloseTo(2, 6);
    }
  });

  it('decodes straight to an exact size when asked (aspect not kept), with per-axis scales back', async () => {
    const full = await decodeImage(photo);
    const decoded = await decodeForDetection(photo, { maxSide: 520, exactSize: () => ({ width: 416, height: 416 }) });
    expect([decoded.image.width, decoded.image.height]).toEqual([416, 416]);
    expect(decoded.scaleX).toBeCloseTo(full.width / 416, 6);
    expect(decoded.scaleY).toBeCloseTo(full.height / 416, 6);
    // Same picture as the detector's own linear stretch of the full decode.
    const reference = await sharp(full.data, { raw: { width: full.width, height: full.height, channels: 3 } })
      .resize(416, 416, { fit: 'fill', kernel: 'linear' })
      .raw()
      .toBuffer();
    let diff = 0;
    for (let i = 0; i < reference.length; i++) diff += Math.abs(reference[i] - decoded.image.data[i]);
    expect(diff / reference.length).toBeLessThan(4);
    // exactSize returning undefined falls back to maxSide; the original size itself means a full decode.
    const fallback = await decodeForDetection(photo, { maxSide: 520, exactSize: () => undefined });
    expect(Math.max(fallback.image.width, fallback.image.height)).toBe(520);
    const same = await decodeForDetection(photo, { exactSize: (w, h) => ({ width: w, height: h }) });
    expect([same.image.width, same.image.height, same.scaleX, same.scaleY]).toEqual([full.width, full.height, 1, 1]);
    expect(await codeOf(decodeForDetection(photo, { exactSize: () => ({ width: 0, height: 10 }) }))).toBe('bad_parameter');
  });

  it('applies the same checks and codes as decodeImage', async () => {
    expect(await codeOf(decodeForDetection(new Uint8Array(0), { maxSide: 640 }))).toBe('undecodable_image');
    expect(await codeOf(decodeForDetection(Buffer.from('GIF89a not ours'), { maxSide: 640 }))).toBe('unsupported_media_type');
    expect(await codeOf(decodeForDetection(photo.subarray(0, 4000), { maxSide: 640 }))).toBe('undecodable_image');
    expect(await codeOf(decodeForDetection(photo, { maxSide: 640, limits: { maxPixels: 1000 } }))).toBe('payload_too_large');
    expect(await codeOf(decodeForDetection(photo, { maxSide: 0 }))).toBe('bad_parameter');
  });

  it('maps boxes back per axis', () => {
    expect(scaleBox([10, 20, 30, 40], { scaleX: 2, scaleY: 3 })).toEqual([20, 60, 60, 120]);
    const d: Detection = { label: 'face', score: 0.9, box: [1, 2, 3, 4] };
    expect(scaleDetections([d], { scaleX: 1.5, scaleY: 1.5 })).toEqual([{ label: 'face', score: 0.9, box: [1.5, 3, 4.5, 6] }]);
    expect(scaleDetections([d], { scaleX: 1, scaleY: 1 })).toEqual([d]);
  });
});

describe('objects detector (stretch to 416x416) on the exact-size decode', () => {
  it('decodes uploads to the model input and finds what it finds on the full frame', async () => {
    const detector = await loadDetector('objects');
    try {
      let total = 0;
      for (let i = 1; i <= 6; i++) {
        const bytes = sample(i);
        const full = await detector.detect(await decodeImage(bytes));
        const decoded = await decodeForDetection(bytes, detectionDecodeOptions(detector));
        expect([decoded.image.width, decoded.image.height]).toEqual([416, 416]);
        const reduced = scaleDetections(await detector.detect(decoded.image), decoded);
        // Each confident object of the full-frame pass is found again in the same place.
        for (const f of full.filter((d) => d.score >= 0.5)) {
          const best = Math.max(0, ...reduced.filter((r) => r.label === f.label).map((r) => iou(f.box, r.box)));
          expect(best, `sample${i}.jpg ${f.label} at ${f.box.map(Math.round).join(',')}`).toBeGreaterThan(0.85);
          total++;
        }
      }
      expect(total).toBeGreaterThanOrEqual(6);
    } finally {
      await detector.close();
    }
  }, 120_000);

  it('has no exact size when it tiles the image: the long-side decode applies', async () => {
    const detector = await loadDetector('objects', { tiles: 2, minImageToInput: 1.5 });
    try {
      expect(detector.decodeSizeFor?.(1920, 1280)).toBeUndefined();
      expect(detector.decodeSizeFor?.(416, 300)).toEqual({ width: 416, height: 416 });
      const decoded = await decodeForDetection(photo, detectionDecodeOptions(detector));
      expect(Math.max(decoded.image.width, decoded.image.height)).toBe(detectionDecodeSide(detector));
    } finally {
      await detector.close();
    }
  }, 60_000);
});

describe('detection decode side', () => {
  it('is 1.25x the input side for a whole-image detector, more with tiles', () => {
    const none = { tiles: 0, overlap: 0.25, minImageToInput: 1.5 };
    expect(decodeSideFor(512, none)).toBe(640);
    expect(decodeSideFor(416, none)).toBe(520);
    // 2 tiles with 25% overlap span 1.75 tile sides: 1.75 * 160 for a 128 px model.
    expect(decodeSideFor(128, { tiles: 2, overlap: 0.25, minImageToInput: 1.5 })).toBe(280);
    // Never below the size where tiling starts, so reducing an image does not switch tiles off.
    expect(decodeSideFor(128, { tiles: 2, overlap: 0.25, minImageToInput: 3 })).toBe(384);
  });
});

describe('default face detector on reduced vs full decodes (face-api sample photos, 1920 px)', () => {
  let detector: Detector;
  let float: Detector;
  beforeAll(async () => {
    detector = await loadDetector('face');
    float = await loadDetector('face', { variant: 'fp32' });
  }, 60_000);
  afterAll(async () => {
    await Promise.all([detector?.close(), float?.close()]);
  });

  // The default int8 copy and its float file: the float file holds the mapping tight (only the resampling
  // differs), the int8 one within a step of its uint8 box encodings (box-agreement.ts).
  const cases = ['maxSide', 'exact model input'].flatMap((mode) => [
    { mode, file: 'int8 default', minIou: INT8_SAME_FACE_IOU },
    { mode, file: 'fp32', minIou: FP32_SAME_FACE_IOU },
  ]);
  it.each(cases)('finds the same faces with boxes close to the full-decode path ($mode, $file)', async ({ mode, file, minIou }) => {
    const d = file === 'fp32' ? float : detector;
    const side = detectionDecodeSide(d);
    expect(side).toBeDefined();
    let faces = 0;
    for (let i = 1; i <= 6; i++) {
      const bytes = sample(i);
      const full = await d.detect(await decodeImage(bytes));
      const decoded = await decodeForDetection(bytes, mode === 'maxSide' ? { maxSide: side } : detectionDecodeOptions(d));
      if (mode !== 'maxSide') {
        // The SSD's letterboxed input: 512 on the long side, the aspect ratio kept.
        expect(Math.max(decoded.image.width, decoded.image.height)).toBe(512);
        expect(decoded.image.width / decoded.image.height).toBeCloseTo(decoded.originalWidth / decoded.originalHeight, 1);
      }
      expect(decoded.scale).toBeGreaterThan(2.5); // really reduced: these photos are 1920 px wide
      const reduced = scaleDetections(await d.detect(decoded.image), decoded);
      expect(reduced.length, `sample${i}.jpg`).toBe(full.length);
      for (const f of full) {
        const best = Math.max(...reduced.map((r) => iou(f.box, r.box)));
        expect(best, `sample${i}.jpg face at ${f.box.map(Math.round).join(',')}`).toBeGreaterThan(minIou);
      }
      faces += full.length;
    }
    expect(faces).toBeGreaterThanOrEqual(18);
  }, 120_000);

  it('maps boxes into the rotated original for an EXIF-rotated JPEG', async () => {
    const rotated = await sharp(photo).withMetadata({ orientation: 6 }).jpeg({ quality: 92 }).toBuffer();
    const fullImage = await decodeImage(rotated);
    const full = await detector.detect(fullImage);
    const decoded = await decodeForDetection(rotated, detectionDecodeOptions(detector));
    expect([decoded.image.width, decoded.image.height]).toEqual([341, 512]);
    expect([decoded.originalWidth, decoded.originalHeight]).toEqual([fullImage.width, fullImage.height]);
    const reduced = scaleDetections(await detector.detect(decoded.image), decoded);
    expect(full.length).toBeGreaterThanOrEqual(3);
    expect(reduced.length).toBe(full.length);
    // Portrait input puts the SSD's resampling jitter at a few px on ~210 px faces (IoU 0.93 at worst, and the same
    // with a 1024 px decode): a wrong mapping (axes swapped, unrotated size) would miss by hundreds of px.
    for (const f of full) {
      const best = reduced.reduce((a, b) => (iou(f.box, b.box) > iou(f.box, a.box) ? b : a));
      expect(iou(f.box, best.box)).toBeGreaterThan(0.9);
      for (let k = 0; k < 4; k++) expect(Math.abs(best.box[k] - f.box[k])).toBeLessThan(12);
    }
  }, 60_000);
});
