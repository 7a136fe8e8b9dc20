/**
 * face-api itself as the reference: its node-wasm bundle (CommonJS, requires @tensorflow/tfjs) on the tfjs CPU
 * backend, weights loaded from the installed package. Gives its 512x512 input tensor, its per-anchor outputs and
 * its final detections for a real photo, plus helpers to compare ours against them.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import type { Tensor } from '@tensorflow/tfjs';
import type { RgbImage } from '../../src/core/image.ts';
import { loadTf } from './faceapi-ssd-interpreter.ts';

type Tf = ReturnType<typeof loadTf>;

const require = createRequire(import.meta.url);
export const FACE_API_DIR = dirname(require.resolve('@vladmandic/face-api/package.json'));
export const samplePath = (n: number): string => join(FACE_API_DIR, 'demo', `sample${n}.jpg`);

interface FaceApiDetection {
  score: number;
  box: { x: number; y: number; width: number; height: number };
}

interface FaceApi {
  nets: {
    ssdMobilenetv1: {
      loadFromDisk(dir: string): Promise<void>;
      forwardInput(input: unknown): { boxes: Tensor[]; scores: Tensor[] };
      locateFaces(input: unknown, options?: { minConfidence?: number; maxResults?: number }): Promise<FaceApiDetection[]>;
    };
  };
  toNetInput(input: unknown): Promise<{ toBatchTensor(size: number, center: boolean): Tensor }>;
}

export interface Reference {
  tf: Tf;
  faceapi: FaceApi;
}

export async function loadReference(): Promise<Reference> {
  const tf = loadTf();
  await tf.setBackend('cpu');
  await tf.ready();
  const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(join(FACE_API_DIR, 'model'));
  return { tf, faceapi };
}

export async function readRgb(path: string): Promise<RgbImage> {
  const { data, info } = await sharp(path).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}

export function imageTensor(tf: Tf, image: RgbImage): Tensor {
  return tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
}

/** face-api's own input: padded black to a square at the bottom/right, bilinear to 512 (float 0..255, NHWC). */
export async function faceApiBatch(ref: Reference, image: RgbImage): Promise<Tensor> {
  const img = imageTensor(ref.tf, image);
  const batch = (await ref.faceapi.toNetInput(img)).toBatchTensor(512, false);
  img.dispose();
  return batch;
}

/** face-api's per-anchor outputs for a 512x512 batch: boxes [N,4] (ymin, xmin, ymax, xmax, 0..1) and face scores [N]. */
export async function faceApiRaw(ref: Reference, batch: Tensor): Promise<{ boxes: Float32Array; scores: Float32Array }> {
  const { boxes, scores } = ref.faceapi.nets.ssdMobilenetv1.forwardInput(await ref.faceapi.toNetInput(batch));
  const out = { boxes: boxes[0].dataSync() as Float32Array, scores: scores[0].dataSync() as Float32Array };
  ref.tf.dispose([...boxes, ...scores]);
  return out;
}

/** Inverts face-api's box coder: its decoded boxes back to raw [ty, tx, th, tw] encodings, in double precision. */
export function encodeBoxes(boxes: Float32Array, anchors: Float32Array): Float64Array {
  const out = new Float64Array(boxes.length);
  for (let j = 0; j < boxes.length; j += 4) {
    const ha = anchors[j + 2] - anchors[j];
    const wa = anchors[j + 3] - anchors[j + 1];
    const h = boxes[j + 2] - boxes[j];
    const w = boxes[j + 3] - boxes[j + 1];
    out[j] = ((boxes[j] + h / 2 - (anchors[j] + ha / 2)) / ha) * 10;
    out[j + 1] = ((boxes[j + 1] + w / 2 - (anchors[j + 1] + wa / 2)) / wa) * 10;
    out[j + 2] = 5 * Math.log(h / ha);
    out[j + 3] = 5 * Math.log(w / wa);
  }
  return out;
}

export interface DiffStats {
  maxAbs: number;
  /** maxAbs divided by the largest magnitude of the reference. */
  maxRel: number;
}

export function diffStats(ours: ArrayLike<number>, reference: ArrayLike<number>, pick?: (i: number) => number): DiffStats {
  let maxAbs = 0;
  let maxRef = 0;
  for (let i = 0; i < reference.length; i++) {
    const o = pick ? pick(i) : ours[i];
    maxAbs = Math.max(maxAbs, Math.abs(o - reference[i]));
    maxRef = Math.max(maxRef, Math.abs(reference[i]));
  }
  return { maxAbs, maxRel: maxAbs / maxRef };
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export function boxIou(a: Box, b: Box): number {
  const iw = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const ih = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/** For each reference box, the best IoU among ours. */
export function matchIous(ours: readonly Box[], reference: readonly Box[]): number[] {
  return reference.map((r) => Math.max(0, ...ours.map((o) => boxIou(o, r))));
}
