/**
 * loadPoseDetector and headRegion on real photos through the real ONNX model (built by `npm run models`): poses
 * come back in the image's own pixels whatever its size and aspect, and the head regions cover the faces the
 * face detector finds in face-api's six sample photos (3-6 people each; the float SSD finds 22 faces at 0.5). MoveNet
 * finds three of sample4's four women: the second from the left (head tilted, partly behind her neighbour) gets no
 * region.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/image/decode.ts';
import { MOVENET_KEYPOINTS } from '../../src/detect/decoders/movenet.ts';
import { headRegion, loadPoseDetector, type Pose, type PoseDetector } from '../../src/detect/pose.ts';
import { loadDetector } from '../../src/detect/registry.ts';
import type { RgbImage } from '../../src/core/image.ts';
import { RaypackError } from '../../src/errors.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SAMPLES = join(ROOT, 'node_modules/@vladmandic/face-api/demo');

const images: RgbImage[] = [];
let poses: PoseDetector;

beforeAll(async () => {
  for (let i = 1; i <= 6; i++) images.push(await decodeImage(readFileSync(join(SAMPLES, `sample${i}.jpg`))));
  poses = await loadPoseDetector({ threads: 2 });
});
afterAll(() => poses?.close());

async function resized(image: RgbImage, width: number, height: number, fit: 'fill' | 'cover' = 'fill'): Promise<RgbImage> {
  const data = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).resize(width, height, { fit }).raw().toBuffer();
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width, height };
}

/** Share of box a inside box b ([x, y, w, h]). */
function coverage(a: readonly number[], b: readonly number[]): number {
  const w = Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]);
  return w > 0 && h > 0 ? (w * h) / (a[2] * a[3]) : 0;
}

function nose(p: Pose): { x: number; y: number } {
  return p.keypoints[0];
}

describe('loadPoseDetector', () => {
  it('finds the people of sample5 (six women), highest score first, 17 named keypoints inside the image', async () => {
    const image = images[4];
    const found = await poses.detect(image);
    expect(poses.modelId).toBe('movenet-multipose');
    expect(found.filter((p) => p.score >= 0.15).length).toBeGreaterThanOrEqual(5);
    for (let i = 1; i < found.length; i++) expect(found[i].score).toBeLessThanOrEqual(found[i - 1].score);
    for (const p of found) {
      expect(p.keypoints.map((k) => k.name)).toEqual([...MOVENET_KEYPOINTS]);
      const [x, y, w, h] = p.box;
      expect(x >= 0 && y >= 0 && x + w <= image.width + 1e-6 && y + h <= image.height + 1e-6).toBe(true);
      for (const k of p.keypoints) expect(k.x >= 0 && k.x <= image.width && k.y >= 0 && k.y <= image.height).toBe(true);
    }
  });

  it('gives the same poses in image pixels at half size and for a portrait crop (resize and letterbox undone)', async () => {
    const full = images[0];
    const strong = (ps: Pose[]): Pose[] => ps.filter((p) => p.score >= 0.3).sort((a, b) => nose(a).x - nose(b).x);
    const a = strong(await poses.detect(full));
    const b = strong(await poses.detect(await resized(full, full.width / 2, full.height / 2)));
    expect(a.length).toBe(3);
    expect(b.length).toBe(a.length);
    a.forEach((p, i) => {
      const tol = 0.03 * Math.hypot(p.box[2], p.box[3]);
      expect(Math.abs(nose(b[i]).x * 2 - nose(p).x)).toBeLessThan(tol);
      expect(Math.abs(nose(b[i]).y * 2 - nose(p).y)).toBeLessThan(tol);
    });
    // The right-hand woman of sample1, cropped to a tall image: letterboxed on the other axis.
    const crop = { left: 1300, top: 0, width: 620, height: 1280 };
    const data = await sharp(full.data, { raw: { width: full.width, height: full.height, channels: 3 } }).extract(crop).raw().toBuffer();
    const tall = await poses.detect({ data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: crop.width, height: crop.height });
    const right = a[a.length - 1];
    const same = tall.find((p) => Math.hypot(nose(p).x + crop.left - nose(right).x, nose(p).y - nose(right).y) < 0.05 * Math.hypot(right.box[2], right.box[3]));
    expect(same, `nose near (${nose(right).x - crop.left}, ${nose(right).y}) in the crop`).toBeDefined();
  });

  it('refuses models that are not pose models, and unknown ones', async () => {
    await expect(loadPoseDetector({ modelId: 'nanodet' })).rejects.toThrow(/objects model, not a pose model/);
    await expect(loadPoseDetector({ modelId: 'no-such-model' })).rejects.toThrow(RaypackError);
    await expect(loadPoseDetector({ modelId: '../package' })).rejects.toThrow(/no model/);
  });
});

describe('headRegion on real photos', () => {
  it('covers (70% or more) all but one of the faces the face detector finds in the six samples', async () => {
    const faces = await loadDetector('face', { variant: 'fp32', threads: 2 });
    let total = 0;
    let covered = 0;
    const misses: string[] = [];
    try {
      for (const [i, image] of images.entries()) {
        const found = await faces.detect(image, { threshold: 0.5 });
        const regions = (await poses.detect(image)).map((p) => headRegion(p, { bounds: image })).filter((r) => r !== undefined);
        for (const f of found) {
          total++;
          const best = Math.max(0, ...regions.map((r) => coverage(f.box, r.box)));
          if (best >= 0.7) covered++;
          else misses.push(`sample${i + 1} face at ${f.box.map(Math.round).join(',')}: ${best.toFixed(2)}`);
        }
      }
    } finally {
      await faces.close();
    }
    console.log(`head regions cover ${covered} of ${total} detected faces${misses.length ? `; not: ${misses.join('; ')}` : ''}`);
    expect(total).toBeGreaterThanOrEqual(21);
    expect(covered).toBeGreaterThanOrEqual(total - 1);
  }, 120_000);
});
