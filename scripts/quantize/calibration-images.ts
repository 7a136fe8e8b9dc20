/**
 * Calibration inputs: real photos, preprocessed as the model's manifest says (resize, mean/std, NCHW float32).
 * face-api's sample photos always; then COCO train2017 photos from ../shared/data when present (people, faces and
 * objects, and not in the val2017 set that `raypack-edge eval` scores, so calibration does not see test images).
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import sharp from 'sharp';
import * as ort from 'onnxruntime-node';

const require = createRequire(import.meta.url);

export interface InputSpec {
  readonly name: string;
  readonly width: number;
  readonly height: number;
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
  readonly resize: 'stretch' | 'letterbox';
  /** Channel order fed to the model (RGB for all our manifests; BGR for some reference models). */
  readonly channels?: 'RGB' | 'BGR';
}

export function sampleImages(): string[] {
  const demo = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');
  return [1, 2, 3, 4, 5, 6].map((i) => join(demo, `sample${i}.jpg`)).filter((f) => existsSync(f));
}

/** Up to `count` extra photos from ../shared/data/coco/train2017 (relative to the project root). */
export function sharedImages(projectRoot: string, count: number): string[] {
  const folder = resolve(projectRoot, '../shared/data/coco/train2017/images');
  if (count <= 0 || !existsSync(folder)) return [];
  const files = readdirSync(folder).filter((f) => /\.jpe?g$/i.test(f)).sort();
  // Spread the picks over the whole (sorted) set rather than taking the first few.
  const step = Math.max(1, Math.floor(files.length / count));
  return files.filter((_, i) => i % step === 0).slice(0, count).map((f) => join(folder, f));
}

/** One image as the model's input tensor [1, 3, H, W]. */
export async function toInputTensor(file: string, spec: InputSpec): Promise<ort.Tensor> {
  const { width, height } = spec;
  const fit = spec.resize === 'stretch' ? 'fill' : 'contain';
  // Letterbox: keep aspect, image at the top-left, pad right/bottom with black.
  const { data } = await sharp(file)
    .rotate()
    .removeAlpha()
    .resize(width, height, { fit, position: 'left top', background: { r: 0, g: 0, b: 0 } })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const plane = width * height;
  const out = new Float32Array(3 * plane);
  const order = spec.channels === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  for (let c = 0; c < 3; c++) {
    const source = order[c];
    const mean = spec.mean[c];
    const std = spec.std[c];
    for (let i = 0; i < plane; i++) out[c * plane + i] = (data[i * 3 + source] - mean) / std;
  }
  return new ort.Tensor('float32', out, [1, 3, height, width]);
}

export async function* calibrationFeeds(files: readonly string[], spec: InputSpec): AsyncIterable<Record<string, ort.Tensor>> {
  for (const file of files) yield { [spec.name]: await toInputTensor(file, spec) };
}
