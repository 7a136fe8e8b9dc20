/**
 * Which ONNX file of a model the bench and the int8 comparison load: `fp32` = models/build/<id>.onnx, `int8` =
 * the quantized copy from scripts/quantize.ts. The registry's own `variant` option does the loading, so the two
 * files always run through the same detect loop.
 */
import { existsSync } from 'node:fs';
import { RaypackError } from '../../src/errors.ts';
import { loadDetector, variantPath, type ModelVariant } from '../../src/detect/registry.ts';
import type { Detector, Task } from '../../src/detect/types.ts';

export type Variant = ModelVariant;

export function hasVariant(modelId: string, variant: Variant): boolean {
  return existsSync(variantPath(modelId, variant));
}

export async function loadVariantDetector(task: Task, modelId: string, variant: Variant, threads?: number): Promise<Detector> {
  if (!hasVariant(modelId, variant)) {
    throw new RaypackError('model_unavailable', `no ${variant} copy of '${modelId}' (${variantPath(modelId, variant)})`);
  }
  return loadDetector(task, { modelId, variant, threads });
}
