/**
 * Every detector on real photos through the real ONNX models (built by `npm run models`): face-api's demo photos
 * (1920 px, 3-5 people facing the camera) and, when ../shared/data is there, COCO val photos with food.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/image/decode.ts';
import { DEFAULT_MODELS, loadDetector, settingsFor } from '../../src/detect/registry.ts';
import { listManifests } from '../../src/detect/manifest.ts';
import { FOOD_CLASS_IDS } from '../../src/detect/labels.ts';
import type { Detection, Detector } from '../../src/detect/types.ts';
import type { RgbImage } from '../../src/core/image.ts';
import { RaypackError } from '../../src/errors.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SAMPLES = join(ROOT, 'node_modules/@vladmandic/face-api/demo');
const COCO = resolve(ROOT, '../shared/data/coco/val2017-a/images');

/** Faces per sample photo, as counted by eye (and as face-api's own SSD finds them). */
const FACES = [3, 3, 3, 4, 5, 4];
/** sample1's three faces (image pixels), read off the photo: left, middle, right woman. */
const SAMPLE1_FACE_CENTRES: [number, number][] = [
  [510, 470],
  [935, 525],
  [1570, 320],
];

const images: RgbImage[] = [];

beforeAll(async () => {
  for (let i = 1; i <= 6; i++) images.push(await decodeImage(readFileSync(join(SAMPLES, `sample${i}.jpg`))));
});

function centre(d: Detection): [number, number] {
  return [d.box[0] + d.box[2] / 2, d.box[1] + d.box[3] / 2];
}

function inside(d: Detection, image: RgbImage): boolean {
  const [x, y, w, h] = d.box;
  return x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= image.width + 1e-6 && y + h <= image.height + 1e-6;
}

async function timed(detector: Detector, image: RgbImage): Promise<{ found: Detection[]; ms: number }> {
  const start = performance.now();
  const found = await detector.detect(image);
  return { found, ms: performance.now() - start };
}

describe('default face detector', () => {
  let detector: Detector;
  beforeAll(async () => {
    detector = await loadDetector('face', { threads: 2 });
  });
  afterAll(() => detector.close());

  it(`is ${DEFAULT_MODELS.face} and finds every face in the six sample photos, none extra`, async () => {
    expect(detector.modelId.startsWith(DEFAULT_MODELS.face)).toBe(true);
    await detector.detect(images[0]);
    for (let i = 0; i < images.length; i++) {
      const { found, ms } = await timed(detector, images[i]);
      console.log(`${detector.modelId} sample${i + 1}: ${found.length} faces in ${ms.toFixed(0)} ms`);
      expect(found).toHaveLength(FACES[i]);
      for (const d of found) {
        expect(d.label).toBe('face');
        expect(d.classId).toBeUndefined();
        expect(d.score).toBeGreaterThanOrEqual(detector.defaultThreshold);
        expect(inside(d, images[i])).toBe(true);
        // Faces in these portraits are 140-320 px tall.
        expect(d.box[3]).toBeGreaterThan(100);
        expect(d.box[3]).toBeLessThan(400);
      }
    }
  });

  it('puts sample1 faces where the women are', async () => {
    const found = await detector.detect(images[0]);
    for (const [cx, cy] of SAMPLE1_FACE_CENTRES) {
      const near = found.filter((d) => Math.hypot(centre(d)[0] - cx, centre(d)[1] - cy) < 80);
      expect(near).toHaveLength(1);
    }
  });

  it('applies the threshold: higher threshold, fewer or equal faces, all above it', async () => {
    const low = await detector.detect(images[1], { threshold: 0.3 });
    const high = await detector.detect(images[1], { threshold: 0.95 });
    expect(high.length).toBeLessThan(low.length);
    for (const d of high) expect(d.score).toBeGreaterThanOrEqual(0.95);
  });

  it('finds nothing in a flat grey image', async () => {
    const grey = { data: new Uint8Array(640 * 480 * 3).fill(128), width: 640, height: 480 };
    expect(await detector.detect(grey)).toEqual([]);
  });
});

const faceModels = listManifests()
  .filter((m) => m.task === 'face' && m.id !== DEFAULT_MODELS.face)
  .map((m) => m.id);

describe.each(faceModels)('face model %s', (modelId) => {
  let detector: Detector;
  let reference: Detector;
  beforeAll(async () => {
    detector = await loadDetector('face', { modelId, threads: 2 });
    reference = await loadDetector('face', { threads: 2 });
  });
  afterAll(async () => {
    await detector.close();
    await reference.close();
  });

  it('finds the faces the default detector finds in every sample photo (centre inside its box)', async () => {
    const tiles = settingsFor('face', modelId).tiling.tiles;
    for (let i = 0; i < images.length; i++) {
      const { found, ms } = await timed(detector, images[i]);
      console.log(`${modelId} (tiles ${tiles}) sample${i + 1}: ${found.length} faces in ${ms.toFixed(0)} ms`);
      const truth = await reference.detect(images[i]);
      for (const t of truth) {
        const [cx, cy] = centre(t);
        const hit = found.some((d) => cx >= d.box[0] && cx <= d.box[0] + d.box[2] && cy >= d.box[1] && cy <= d.box[1] + d.box[3]);
        expect(hit, `sample${i + 1}: face at ${cx.toFixed(0)},${cy.toFixed(0)} missed`).toBe(true);
      }
      // At most a few extra boxes (the short-range models see faces in the tiles' corners of crowds).
      expect(found.length).toBeLessThanOrEqual(truth.length + 3);
      for (const d of found) expect(inside(d, images[i])).toBe(true);
    }
  });
});

describe.each(['nanodet', 'centernet'])('objects model %s', (modelId) => {
  let detector: Detector;
  beforeAll(async () => {
    detector = await loadDetector('objects', { modelId, threads: 2 });
  });
  afterAll(() => detector.close());

  it('finds the three women of sample1 as persons, boxes around their faces', async () => {
    const { found, ms } = await timed(detector, images[0]);
    console.log(`${modelId} sample1: ${found.map((d) => `${d.label} ${d.score.toFixed(2)}`).join(', ')} in ${ms.toFixed(0)} ms`);
    const persons = found.filter((d) => d.label === 'person' && d.score >= 0.4);
    expect(persons.length).toBe(3);
    for (const d of found) {
      expect(d.classId).toBeGreaterThanOrEqual(0);
      expect(inside(d, images[0])).toBe(true);
    }
    for (const [cx, cy] of SAMPLE1_FACE_CENTRES) {
      expect(persons.some((p) => cx >= p.box[0] && cx <= p.box[0] + p.box[2] && cy >= p.box[1] && cy <= p.box[1] + p.box[3])).toBe(true);
    }
  });
});

describe.skipIf(!existsSync(COCO))('food (COCO val photos from ../shared/data)', () => {
  let food: Detector;
  beforeAll(async () => {
    food = await loadDetector('food', { threads: 2 });
  });
  afterAll(() => food.close());

  it('finds bananas, broccoli and carrots, and only food classes', async () => {
    const labels = async (file: string): Promise<string[]> => {
      const found = await food.detect(await decodeImage(readFileSync(join(COCO, file))));
      for (const d of found) expect(FOOD_CLASS_IDS.has(d.classId as number)).toBe(true);
      return found.map((d) => d.label);
    };
    expect(await labels('000000006012.jpg')).toContain('banana');
    const veg = await labels('000000003845.jpg');
    expect(veg).toContain('broccoli');
    expect(veg).toContain('carrot');
    // sample1 (three women, a wine glass) has no food.
    expect(await food.detect(images[0])).toEqual([]);
  });
});

describe('loadDetector errors', () => {
  it('rejects an unknown model, a model of the wrong task and unknown options with coded errors', async () => {
    await expect(loadDetector('face', { modelId: 'nope' })).rejects.toMatchObject({ code: 'model_unavailable' });
    await expect(loadDetector('face', { modelId: 'nanodet' })).rejects.toMatchObject({ code: 'bad_parameter' });
    await expect(loadDetector('face', { colour: 'red' } as never)).rejects.toBeInstanceOf(RaypackError);
    await expect(loadDetector('face', { tiles: -1 })).rejects.toMatchObject({ code: 'bad_parameter' });
  });
});
