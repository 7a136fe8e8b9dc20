/**
 * YOLOX-nano (COCO, 80 classes) as a reference object Detector. Input [1,3,416,416] BGR 0-255, letterboxed to the
 * top-left with pad 114; output [1,3549,85]: raw xywh decoded as (xy+grid)*stride and exp(wh)*stride for strides
 * 8/16/32, then objectness and 80 class scores (already through a sigmoid in this export). Score = obj * best class.
 */
import { join } from 'node:path';
import { cocoName } from '../../../src/detect/labels.ts';
import type { Detection, DetectOptions, Detector } from '../../../src/detect/types.ts';
import type { RgbImage } from '../../../src/core/image.ts';
import { type Candidate, clipToImage, letterboxSize, nms, openReferenceSession, ort, packNchw, resizeRgb } from './common.ts';

const SIDE = 416;
const STRIDES = [8, 16, 32] as const;
const CLASSES = 80;
export const YOLOX_DEFAULT_THRESHOLD = 0.3;
export const YOLOX_NMS_IOU = 0.45;

/** Decode the [N,85] output of a side x side input into boxes in input pixels. */
export function decodeYolox(output: ArrayLike<number>, side: number, threshold: number): Candidate[] {
  const found: Candidate[] = [];
  let row = 0;
  for (const s of STRIDES) {
    const cells = side / s;
    for (let gy = 0; gy < cells; gy++) {
      for (let gx = 0; gx < cells; gx++, row++) {
        const o = row * (5 + CLASSES);
        const objectness = output[o + 4];
        if (objectness < threshold) continue;
        let best = 0;
        for (let c = 1; c < CLASSES; c++) if (output[o + 5 + c] > output[o + 5 + best]) best = c;
        const score = objectness * output[o + 5 + best];
        if (score < threshold) continue;
        const cx = (output[o] + gx) * s;
        const cy = (output[o + 1] + gy) * s;
        const w = Math.exp(output[o + 2]) * s;
        const h = Math.exp(output[o + 3]) * s;
        found.push({ box: [cx - w / 2, cy - h / 2, w, h], score, classId: best });
      }
    }
  }
  if (row * (5 + CLASSES) !== output.length) throw new RangeError(`YOLOX output has ${output.length} values, expected ${row * (5 + CLASSES)}`);
  return found;
}

export async function loadYolox(modelsDir: string, threads = 2): Promise<Detector> {
  const session = await openReferenceSession(join(modelsDir, 'yolox', 'yolox_nano.onnx'), threads);
  return {
    task: 'objects',
    modelId: 'ref:yolox-nano',
    defaultThreshold: YOLOX_DEFAULT_THRESHOLD,
    async detect(image: RgbImage, options: DetectOptions = {}): Promise<Detection[]> {
      const threshold = options.threshold ?? YOLOX_DEFAULT_THRESHOLD;
      const fit = letterboxSize(image, SIDE, SIDE);
      const resized = await resizeRgb(image, fit.width, fit.height);
      const tensor = new ort.Tensor('float32', packNchw(resized, SIDE, SIDE, { bgr: true, mean: 0, std: 1 }, 114), [1, 3, SIDE, SIDE]);
      const out = await session.run({ [session.inputNames[0]]: tensor });
      return nms(decodeYolox(out[session.outputNames[0]].data as Float32Array, SIDE, threshold), YOLOX_NMS_IOU, 300)
        .map((c) => clipToImage({ ...c, box: [c.box[0] / fit.scale, c.box[1] / fit.scale, c.box[2] / fit.scale, c.box[3] / fit.scale] }, image.width, image.height))
        .filter((c): c is Candidate => c !== undefined)
        .map((c): Detection => ({ label: cocoName(c.classId ?? 0), classId: c.classId, score: c.score, box: c.box }));
    },
    close: () => session.release(),
  };
}
