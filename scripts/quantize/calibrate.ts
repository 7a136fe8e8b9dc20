/**
 * Calibration: run the float model with onnxruntime-node on real images, with every tensor to be quantized
 * added as a graph output, and keep each float tensor's range (min/max, or a percentile of each end averaged over
 * the images).
 */
import * as ort from 'onnxruntime-node';
import { onnx, type ModelProto } from './onnx-model.ts';
import { tensorRange } from './quant-math.ts';

export interface CalibrationOptions {
  /** undefined: global min/max over all images; e.g. 99.99: that percentile at both ends, averaged over images. */
  readonly percentile?: number;
}

/** A copy of `model` whose graph also outputs `tensors` (those already outputs stay as they are). */
export function withObservedOutputs(model: ModelProto, tensors: readonly string[]): Uint8Array {
  const copy = onnx.ModelProto.decode(onnx.ModelProto.encode(model).finish());
  const graph = copy.graph;
  if (!graph) throw new Error('the model has no graph');
  const outputs = (graph.output ??= []);
  const existing = new Set(outputs.map((o) => o.name));
  for (const name of tensors) if (!existing.has(name)) outputs.push(onnx.ValueInfoProto.create({ name }));
  return onnx.ModelProto.encode(copy).finish();
}

export async function calibrate(
  model: ModelProto,
  tensors: readonly string[],
  feeds: AsyncIterable<Record<string, ort.Tensor>>,
  options: CalibrationOptions = {},
): Promise<Map<string, [number, number]>> {
  const session = await ort.InferenceSession.create(withObservedOutputs(model, tensors), {
    graphOptimizationLevel: 'disabled', // observe the tensors as named in the graph, before any fusion renames them
  });
  const wanted = new Set(tensors);
  const percentile = options.percentile !== undefined && options.percentile < 100 ? options.percentile : undefined;
  const sums = new Map<string, { min: number; max: number; count: number }>();
  try {
    for await (const feed of feeds) {
      const outputs = await session.run(feed);
      for (const [name, value] of Object.entries(outputs)) {
        if (!wanted.has(name) || value.type !== 'float32') continue;
        const [lo, hi] = tensorRange(value.data as Float32Array, percentile);
        const entry = sums.get(name);
        if (!entry) sums.set(name, { min: lo, max: hi, count: 1 });
        else if (percentile === undefined) {
          entry.min = Math.min(entry.min, lo);
          entry.max = Math.max(entry.max, hi);
        } else {
          entry.min += lo;
          entry.max += hi;
          entry.count += 1;
        }
        value.dispose?.();
      }
    }
  } finally {
    await session.release();
  }
  const ranges = new Map<string, [number, number]>();
  for (const [name, { min, max, count }] of sums) ranges.set(name, [min / count, max / count]);
  return ranges;
}
