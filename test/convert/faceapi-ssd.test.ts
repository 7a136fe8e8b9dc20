/**
 * face-api's SSD rebuilt as a TfGraph (scripts/faceapi-ssd.ts) and converted to ONNX, against face-api itself
 * (its node-wasm bundle on the tfjs CPU backend) on real photos:
 * (a) per-anchor outputs on the very same 512x512 input: the graph run by a tfjs interpreter (checks the graph)
 *     and the ONNX model in ONNX Runtime (checks graph + converter);
 * (b) final faces: ONNX outputs on face-api's own input through our decoder + NMS (checks decoding exactly), and
 *     our runtime detector (sharp preprocess, no tiling, greedy NMS) on the original photos (IoU > 0.9 each).
 */
import { existsSync } from 'node:fs';
import type { Tensor } from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildFaceApiSsdGraph, type FaceApiSsdBuild } from '../../scripts/faceapi-ssd.ts';
import { buildModel } from '../../scripts/build-models.ts';
import { onnxPath, readManifest } from '../../src/detect/manifest.ts';
import { anchorsForManifest, decodeSsd, decodeSsdBoxes } from '../../src/detect/decoders/ssd.ts';
import { nms } from '../../src/detect/nms.ts';
import { createSession, type ModelSession } from '../../src/detect/onnx-session.ts';
import { loadDetector } from '../../src/detect/registry.ts';
import type { RgbImage } from '../../src/core/image.ts';
import { runTfGraph } from './faceapi-ssd-interpreter.ts';
import {
  type Box, type Reference, diffStats, encodeBoxes, faceApiBatch, faceApiRaw, loadReference, matchIous, readRgb, samplePath,
} from './faceapi-ssd-reference.ts';

const manifest = readManifest('ssd-mobilenetv1-face');
const N = 5118;
const WIDER_IMAGE = '../shared/data/faces/wider-val-416/images/7_Cheering_Cheering_7_195.jpg';
let ref: Reference;
let build: FaceApiSsdBuild;
let session: ModelSession;
/** face-api's final detections per image path, computed once. */
const faceApiFaces = new Map<string, Box[]>();

beforeAll(async () => {
  ref = await loadReference();
  build = buildFaceApiSsdGraph();
  await buildModel(manifest); // skipped when models/build/ssd-mobilenetv1-face.onnx is up to date
  session = await createSession(onnxPath(manifest.id), { threads: 1 });
});

async function locateFaces(path: string, image: RgbImage, minConfidence = manifest.defaultThreshold): Promise<Box[]> {
  const key = `${path}@${minConfidence}`;
  let faces = faceApiFaces.get(key);
  if (!faces) {
    const img = ref.tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
    const found = await ref.faceapi.nets.ssdMobilenetv1.locateFaces(img, { minConfidence });
    img.dispose();
    faces = found.map((d) => ({ x: d.box.x, y: d.box.y, width: d.box.width, height: d.box.height }));
    faceApiFaces.set(key, faces);
  }
  return faces;
}

/**
 * Outputs for face-api's own 512 input → image boxes the way locateFaces maps them: NMS on unclipped boxes, then
 * clip to the 0..1 square and scale by the square's side (face-api padded the image to max(width, height)).
 */
function decodeToImage([encodings, scores]: [Float32Array, Float32Array], image: RgbImage, minScore = 0.3): (Box & { score: number })[] {
  const side = Math.max(image.width, image.height) / 512;
  const candidates = decodeSsd([{ data: encodings, dims: [1, N, 4] }, { data: scores, dims: [1, N, 3] }], manifest, minScore);
  return nms(candidates, { iouThreshold: manifest.nmsIou }).map((c) => {
    const [x1, y1, x2, y2] = [Math.max(0, c.x1), Math.max(0, c.y1), Math.min(512, c.x2), Math.min(512, c.y2)];
    return { x: x1 * side, y: y1 * side, width: (x2 - x1) * side, height: (y2 - y1) * side, score: c.score };
  });
}

/** Our graph on an NHWC float input, via the interpreter: [encodings [N*4], scores [N*3]]. */
function runInterpreter(input: Tensor): [Float32Array, Float32Array] {
  const [boxes, scores] = runTfGraph(ref.tf, build.graph, { [build.inputs[0].name]: input }, build.outputs);
  expect(boxes.shape).toEqual([1, N, 4]);
  expect(scores.shape).toEqual([1, N, 3]);
  const out: [Float32Array, Float32Array] = [boxes.dataSync() as Float32Array, scores.dataSync() as Float32Array];
  ref.tf.dispose([boxes, scores]);
  return out;
}

async function runOnnx(nhwc: Tensor): Promise<[Float32Array, Float32Array]> {
  const nchw = ref.tf.tidy(() => ref.tf.transpose(nhwc, [0, 3, 1, 2]));
  const data = nchw.dataSync() as Float32Array;
  nchw.dispose();
  const [boxes, scores] = await session.run(data, [1, 3, 512, 512], manifest.outputs);
  expect(boxes.dims).toEqual([1, N, 4]);
  expect(scores.dims).toEqual([1, N, 3]);
  return [boxes.data, scores.data];
}

function fmt(d: { maxAbs: number; maxRel: number }): string {
  return `max abs ${d.maxAbs.toExponential(2)} (rel ${d.maxRel.toExponential(2)})`;
}

describe('buildFaceApiSsdGraph', () => {
  it('is a TfGraph of standard tfjs ops with a value for every Const', () => {
    const ops = new Set(build.graph.nodes.map((n) => n.op));
    expect([...ops].sort()).toEqual(['ConcatV2', 'Const', 'FusedDepthwiseConv2dNative', 'Placeholder', 'Relu6', 'Reshape', 'Sigmoid', '_FusedConv2D']);
    const names = new Set(build.graph.nodes.map((n) => n.name));
    expect(names.size).toBe(build.graph.nodes.length);
    for (const n of build.graph.nodes) {
      if (n.op === 'Const') expect(build.graph.weights.has(n.name), n.name).toBe(true);
      for (const i of n.input) expect(names.has(i), `${n.name} <- ${i}`).toBe(true);
    }
    expect(build.inputs).toEqual([{ name: manifest.input.name, shape: [1, 512, 512, 3] }]);
    expect(build.outputNames).toEqual(manifest.outputs);
    // 1 + 13 * 2 backbone convs, 8 extra prediction convs, 6 * 2 predictor heads.
    expect(build.graph.nodes.filter((n) => n.op.includes('Conv')).length).toBe(27 + 8 + 12);
    expect(session.inputName).toBe(manifest.input.name);
  });
});

describe('face-api SSD: ours vs face-api (tfjs CPU)', () => {
  it('(a) per-anchor outputs match on the same 512x512 input, and (b) so do the final faces', async () => {
    const path = samplePath(1);
    const image = await readRgb(path);
    const batch = await faceApiBatch(ref, image);
    const reference = await faceApiRaw(ref, batch);
    // face-api's own normalisation (SsdMobilenetv1.forwardInput): x / 127.5 - 1.
    const input = ref.tf.tidy(() => ref.tf.sub(ref.tf.div(batch, 127.5), 1));
    const runs = { interpreter: runInterpreter(input), onnx: await runOnnx(input) };
    ref.tf.dispose([batch, input]);

    const anchors = anchorsForManifest(manifest);
    const refEncodings = encodeBoxes(reference.boxes, anchors);
    const params = { anchors, scaleFactors: [10, 10, 5, 5], numClasses: 3, scoreClass: 1, scoreActivation: 'none' as const, minScore: 0, width: 1, height: 1 };
    for (const [name, [encodings, scores]] of Object.entries(runs)) {
      const score = diffStats(scores, reference.scores, (i) => scores[i * 3 + 1]);
      const raw = diffStats(encodings, refEncodings);
      const decoded = decodeSsdBoxes(encodings, scores, params);
      expect(decoded).toHaveLength(N);
      const box = diffStats(decoded.flatMap((c) => [c.y1, c.x1, c.y2, c.x2]), reference.boxes);
      console.log(`sample1.jpg ${name} vs face-api, ${N} anchors: face score ${fmt(score)}; raw encodings ${fmt(raw)}; decoded boxes ${fmt(box)}`);
      expect(score.maxAbs).toBeLessThan(1e-4);
      expect(raw.maxRel).toBeLessThan(1e-3);
      expect(box.maxAbs).toBeLessThan(1e-4);
    }
    const onnxVsGraph = [diffStats(runs.onnx[0], runs.interpreter[0]), diffStats(runs.onnx[1], runs.interpreter[1])];
    console.log(`sample1.jpg onnx vs interpreter: encodings ${fmt(onnxVsGraph[0])}; scores ${fmt(onnxVsGraph[1])}`);

    // (b) on face-api's input: our decoder + NMS give face-api's faces.
    const ours = decodeToImage(runs.onnx, image, manifest.defaultThreshold);
    const theirs = await locateFaces(path, image);
    const ious = matchIous(ours, theirs);
    console.log(`sample1.jpg on face-api's input: face-api ${theirs.length} faces, ours ${ours.length}; IoU ${ious.map((v) => v.toFixed(4)).join(' ')}`);
    expect(theirs.length).toBeGreaterThan(0);
    expect(ours).toHaveLength(theirs.length);
    for (const v of ious) expect(v).toBeGreaterThan(0.99);
  }, 180_000);

  it('(b) our runtime detector (sharp letterbox, decoder, NMS) finds face-api\'s faces, IoU > 0.9 each', async () => {
    // The float file: this checks our pre- and post-processing against face-api's, not the int8 copy's rounding
    // (the accuracy gate and test/convert/int8-cpu-paths.test.ts hold that).
    const detector = await loadDetector('face', { model: manifest.id, tiles: 0, nmsMode: 'greedy', threads: 1, variant: 'fp32' });
    try {
      for (const path of [samplePath(1), samplePath(2)]) {
        const image = await readRgb(path);
        const theirs = await locateFaces(path, image);
        const ours = (await detector.detect(image)).map((d) => ({ x: d.box[0], y: d.box[1], width: d.box[2], height: d.box[3] }));
        const ious = matchIous(ours, theirs);
        console.log(`${path.slice(path.lastIndexOf('/') + 1)} runtime: face-api ${theirs.length} faces, ours ${ours.length}; IoU ${ious.map((v) => v.toFixed(3)).join(' ')}`);
        expect(theirs.length).toBeGreaterThan(0);
        expect(ours).toHaveLength(theirs.length);
        for (const v of ious) expect(v).toBeGreaterThan(0.9);
      }
    } finally {
      await detector.close();
    }
  }, 240_000);

  it.skipIf(!existsSync(WIDER_IMAGE))('(b) small faces of a WIDER FACE val photo (../shared/data): same faces as face-api on its input', async () => {
    const image = await readRgb(WIDER_IMAGE);
    const batch = await faceApiBatch(ref, image);
    const input = ref.tf.tidy(() => ref.tf.sub(ref.tf.div(batch, 127.5), 1));
    const ours = decodeToImage(await runOnnx(input), image, 0.3);
    ref.tf.dispose([batch, input]);
    const theirs = await locateFaces(WIDER_IMAGE, image, 0.3);
    const ious = matchIous(ours, theirs);
    console.log(`WIDER 7_Cheering_Cheering_7_195 (416x416) on face-api's input, score >= 0.3: face-api ${theirs.length} faces, ours ${ours.length}; IoU ${ious.map((v) => v.toFixed(4)).join(' ')}`);
    expect(theirs.length).toBeGreaterThan(3);
    expect(ours).toHaveLength(theirs.length);
    for (const v of ious) expect(v).toBeGreaterThan(0.99);
  }, 120_000);
});
