/**
 * Ultra-Light-Fast-Generic-Face-Detector (RFB-320 / RFB-640) as a reference face Detector: the image is stretched
 * to the model's input, RGB (x-127)/128; outputs `scores` [1,N,2] (index 1 = face) and `boxes` [1,N,4] normalised
 * x1,y1,x2,y2, already decoded from the priors inside the graph. Hard NMS at IoU 0.3 as in the upstream demo.
 */
import { join } from 'node:path';
import type { Detection, DetectOptions, Detector } from '../../../src/detect/types.ts';
import type { RgbImage } from '../../../src/core/image.ts';
import { type Candidate, clipToImage, faceDetection, nms, openReferenceSession, ort, packNchw, resizeRgb } from './common.ts';

export type UltrafaceVariant = 'ultraface-rfb-320' | 'ultraface-rfb-640';

const FILES: Record<UltrafaceVariant, { file: string; width: number; height: number }> = {
  'ultraface-rfb-320': { file: 'version-RFB-320.onnx', width: 320, height: 240 },
  'ultraface-rfb-640': { file: 'version-RFB-640.onnx', width: 640, height: 480 },
};

/** The upstream ONNX demo's probability threshold. */
export const ULTRAFACE_DEFAULT_THRESHOLD = 0.7;
export const ULTRAFACE_NMS_IOU = 0.3;
const NORM = { bgr: false, mean: 127, std: 128 } as const;

/** Decode the graph's outputs into boxes in the pixels of an image of width x height. */
export function decodeUltraface(scores: ArrayLike<number>, boxes: ArrayLike<number>, width: number, height: number, threshold: number): Candidate[] {
  const found: Candidate[] = [];
  const n = scores.length / 2;
  for (let i = 0; i < n; i++) {
    const score = scores[i * 2 + 1];
    if (score < threshold) continue;
    const x1 = boxes[i * 4] * width;
    const y1 = boxes[i * 4 + 1] * height;
    const x2 = boxes[i * 4 + 2] * width;
    const y2 = boxes[i * 4 + 3] * height;
    found.push({ box: [x1, y1, x2 - x1, y2 - y1], score });
  }
  return found;
}

export async function loadUltraface(modelsDir: string, variant: UltrafaceVariant = 'ultraface-rfb-640', threads = 2): Promise<Detector> {
  const spec = FILES[variant];
  const session = await openReferenceSession(join(modelsDir, 'ultraface', spec.file), threads);
  return {
    task: 'face',
    modelId: `ref:${variant}`,
    defaultThreshold: ULTRAFACE_DEFAULT_THRESHOLD,
    async detect(image: RgbImage, options: DetectOptions = {}): Promise<Detection[]> {
      const threshold = options.threshold ?? ULTRAFACE_DEFAULT_THRESHOLD;
      const resized = await resizeRgb(image, spec.width, spec.height);
      const tensor = new ort.Tensor('float32', packNchw(resized, spec.width, spec.height, NORM), [1, 3, spec.height, spec.width]);
      const out = await session.run({ [session.inputNames[0]]: tensor });
      const found = decodeUltraface(out.scores.data as Float32Array, out.boxes.data as Float32Array, image.width, image.height, threshold);
      return nms(found, ULTRAFACE_NMS_IOU)
        .map((c) => clipToImage(c, image.width, image.height))
        .filter((c): c is Candidate => c !== undefined)
        .map(faceDetection);
    },
    close: () => session.release(),
  };
}
