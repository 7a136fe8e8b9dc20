/**
 * Shared pieces of the REFERENCE detectors (YuNet, UltraFace, YOLOX-nano from ../shared/data/models). They exist
 * to check the metric code against independently measured figures and to give the bake-off a yardstick; they are
 * not product models. Pure tensor packing and NMS, plus one resize through sharp.
 */
import { existsSync } from 'node:fs';
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import { RaypackError } from '../../../src/errors.ts';
import type { Detection } from '../../../src/detect/types.ts';
import type { RgbImage } from '../../../src/core/image.ts';

export interface Normalisation {
  /** Feed channels as B,G,R instead of R,G,B. */
  readonly bgr: boolean;
  /** value' = (value - mean) / std for every channel, value in 0..255. */
  readonly mean: number;
  readonly std: number;
}

/**
 * Pack an RGB image into a [1,3,height,width] float32 tensor, image at the top-left, the rest filled with
 * `pad` (a pixel value before normalisation).
 */
export function packNchw(image: RgbImage, width: number, height: number, norm: Normalisation, pad = 0): Float32Array {
  if (image.width > width || image.height > height) throw new RangeError('image larger than the tensor');
  const plane = width * height;
  const out = new Float32Array(3 * plane).fill((pad - norm.mean) / norm.std);
  // Channel c of the tensor reads RGB channel order[c].
  const order = norm.bgr ? [2, 1, 0] : [0, 1, 2];
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const src = (y * image.width + x) * 3;
      const dst = y * width + x;
      for (let c = 0; c < 3; c++) out[c * plane + dst] = (image.data[src + order[c]] - norm.mean) / norm.std;
    }
  }
  return out;
}

/** Resize packed RGB to exactly width x height (aspect ignored when `fill`). */
export async function resizeRgb(image: RgbImage, width: number, height: number): Promise<RgbImage> {
  if (image.width === width && image.height === height) return image;
  const data = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(width, height, { fit: 'fill' })
    .raw()
    .toBuffer();
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width, height };
}

/** Scale that fits the image inside width x height keeping its aspect (letterbox), and the resized size. */
export function letterboxSize(image: { width: number; height: number }, width: number, height: number): { scale: number; width: number; height: number } {
  const scale = Math.min(width / image.width, height / image.height);
  return {
    scale,
    width: Math.max(1, Math.min(width, Math.round(image.width * scale))),
    height: Math.max(1, Math.min(height, Math.round(image.height * scale))),
  };
}

export interface Candidate {
  readonly box: [number, number, number, number];
  readonly score: number;
  readonly classId?: number;
}

/**
 * Greedy non-maximum suppression; boxes of different classes never suppress each other. Only the `preTopK`
 * best-scoring candidates enter (as OpenCV's FaceDetectorYN and most SSD post-processing do): at the low score
 * threshold an AP run needs, dense heads produce tens of thousands. Typed arrays keep the quadratic loop cheap.
 */
export function nms<T extends Candidate>(candidates: readonly T[], iouThreshold: number, maxKeep = 750, preTopK = 5000): T[] {
  const sorted = [...candidates].sort((a, b) => b.score - a.score).slice(0, preTopK);
  const n = sorted.length;
  const x1 = new Float64Array(n);
  const y1 = new Float64Array(n);
  const x2 = new Float64Array(n);
  const y2 = new Float64Array(n);
  const area = new Float64Array(n);
  sorted.forEach((c, i) => {
    x1[i] = c.box[0];
    y1[i] = c.box[1];
    x2[i] = c.box[0] + c.box[2];
    y2[i] = c.box[1] + c.box[3];
    area[i] = c.box[2] * c.box[3];
  });
  const suppressed = new Uint8Array(n);
  const kept: T[] = [];
  for (let i = 0; i < n && kept.length < maxKeep; i++) {
    if (suppressed[i]) continue;
    kept.push(sorted[i]);
    for (let j = i + 1; j < n; j++) {
      if (suppressed[j] || sorted[j].classId !== sorted[i].classId) continue;
      const iw = Math.min(x2[i], x2[j]) - Math.max(x1[i], x1[j]);
      if (iw <= 0) continue;
      const ih = Math.min(y2[i], y2[j]) - Math.max(y1[i], y1[j]);
      if (ih <= 0) continue;
      const inter = iw * ih;
      if (inter / (area[i] + area[j] - inter) > iouThreshold) suppressed[j] = 1;
    }
  }
  return kept;
}

/** Clip a box to the image and drop it when nothing is left. */
export function clipToImage(c: Candidate, width: number, height: number): Candidate | undefined {
  const x1 = Math.max(0, c.box[0]);
  const y1 = Math.max(0, c.box[1]);
  const x2 = Math.min(width, c.box[0] + c.box[2]);
  const y2 = Math.min(height, c.box[1] + c.box[3]);
  if (x2 <= x1 || y2 <= y1) return undefined;
  return { ...c, box: [x1, y1, x2 - x1, y2 - y1] };
}

export function faceDetection(c: Candidate): Detection {
  return { label: 'face', score: c.score, box: c.box };
}

export async function openReferenceSession(path: string, threads: number): Promise<ort.InferenceSession> {
  if (!existsSync(path)) throw new RaypackError('model_unavailable', `reference model ${path} is not there`);
  // Severity 3 (errors only): the UltraFace export lists its weights as graph inputs and ORT warns about each one.
  return ort.InferenceSession.create(path, { intraOpNumThreads: threads, interOpNumThreads: 1, logSeverityLevel: 3 });
}

export { ort };
