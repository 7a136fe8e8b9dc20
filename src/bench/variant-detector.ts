/**
 * A detector on another file of the same model (`models/build/<id>.int8.onnx`), for measuring the int8 copy
 * against the float one. The registry always opens `<id>.onnx`; until it takes a variant option this mirrors its
 * detect loop (same regions, preprocess, decoder, NMS and task defaults, all imported from src/detect), so the
 * only difference between the two is the ONNX file.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RaypackError } from '../errors.ts';
import { COCO_EN, FOOD_CLASS_IDS } from '../detect/labels.ts';
import { BUILD_DIR } from '../detect/manifest.ts';
import { nms } from '../detect/nms.ts';
import { createSession } from '../detect/onnx-session.ts';
import { preprocess, toImageSpace } from '../detect/preprocess.ts';
import { TASK_DEFAULTS, loadDetector, manifestFor } from '../detect/registry.ts';
import { planRegions, touchesInnerEdge } from '../detect/tiling.ts';
import type { Candidate, DecodeFn } from '../detect/decoders/common.ts';
import type { DecoderKind } from '../detect/manifest.ts';
import type { Detection, Detector, Task } from '../detect/types.ts';

export type Variant = 'fp32' | 'int8';

export function variantPath(modelId: string, variant: Variant): string {
  return join(BUILD_DIR, variant === 'int8' ? `${modelId}.int8.onnx` : `${modelId}.onnx`);
}

export function hasVariant(modelId: string, variant: Variant): boolean {
  return existsSync(variantPath(modelId, variant));
}

const DECODERS: Record<DecoderKind, () => Promise<DecodeFn>> = {
  blazeface: async () => (await import('../detect/decoders/blazeface.ts')).decodeBlazeface,
  centernet: async () => (await import('../detect/decoders/centernet.ts')).decodeCenternet,
  nanodet: async () => (await import('../detect/decoders/nanodet.ts')).decodeNanodet,
  ssd: async () => (await import('../detect/decoders/ssd.ts')).decodeSsd,
};

export async function loadVariantDetector(task: Task, modelId: string, variant: Variant, threads?: number): Promise<Detector> {
  if (variant === 'fp32') return loadDetector(task, { modelId, threads });
  const path = variantPath(modelId, variant);
  if (!existsSync(path)) throw new RaypackError('model_unavailable', `no ${variant} copy of '${modelId}' (${path}): run \`npx tsx scripts/quantize.ts ${modelId}\``);
  const manifest = manifestFor(task, modelId);
  const decode = await DECODERS[manifest.decoder]();
  const session = await createSession(path, { threads });
  const defaults = TASK_DEFAULTS[task];
  const dims = [1, 3, manifest.input.height, manifest.input.width];
  const outputs = manifest.outputs.length > 0 ? manifest.outputs : session.outputNames;
  return {
    task,
    modelId: `${modelId}.${variant}`,
    defaultThreshold: manifest.defaultThreshold,
    async detect(image, options = {}): Promise<Detection[]> {
      const threshold = options.threshold ?? manifest.defaultThreshold;
      const regions = planRegions(image.width, image.height, Math.max(manifest.input.width, manifest.input.height), defaults.tiling);
      let merged: Candidate[] = [];
      for (const region of regions) {
        const { tensor, transform } = await preprocess(image, manifest.input, region);
        const raw = await session.run(tensor, dims, outputs);
        for (const c of decode(raw, manifest, threshold)) {
          if (task === 'food' && !FOOD_CLASS_IDS.has(c.classId)) continue;
          const mapped = toImageSpace(c, transform, image.width, image.height);
          if (mapped.x2 - mapped.x1 < 1 || mapped.y2 - mapped.y1 < 1) continue;
          if (!region.whole && touchesInnerEdge(mapped, region, image.width, image.height)) continue;
          merged.push(mapped);
        }
      }
      merged = nms(merged, { iouThreshold: manifest.nmsIou, mode: defaults.nmsMode, maxDetections: defaults.maxDetections });
      return merged.map((c): Detection => {
        const box: [number, number, number, number] = [c.x1, c.y1, c.x2 - c.x1, c.y2 - c.y1];
        return task === 'face' ? { label: 'face', score: c.score, box } : { label: COCO_EN[c.classId] ?? `class ${c.classId}`, classId: c.classId, score: c.score, box };
      });
    },
    close: () => session.close(),
  };
}
