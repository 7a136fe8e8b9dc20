/**
 * Calibration: run the float model with onnxruntime-node on real images, with every tensor to be quantized
 * added as a graph output, and keep each float tensor's range under several methods at once: global min/max
 * (percentile 100), or a percentile at each end of every image, averaged over the images. One pass over the
 * images serves every method, so the caller can keep whichever loses least.
 */
// Types only at load time: the table application (table.ts, run at install) imports this module's pure half
// and should not load the onnxruntime-node binding; the sessions below import it when they run.
import type * as ort from 'onnxruntime-node';
import { onnx, type ModelProto } from './onnx-model.ts';
import { tensorRange } from './quant-math.ts';

export type Ranges = Map<string, [number, number]>;

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

/** Ranges per method: key = percentile (100 = min/max). */
export async function calibrateMethods(
  model: ModelProto,
  tensors: readonly string[],
  feeds: AsyncIterable<Record<string, ort.Tensor>>,
  percentiles: readonly number[],
): Promise<Map<number, Ranges>> {
  const session = await (await import('onnxruntime-node')).InferenceSession.create(withObservedOutputs(model, tensors), {
    graphOptimizationLevel: 'disabled', // observe the tensors as named in the graph, before any fusion renames them
  });
  const wanted = new Set(tensors);
  // The model input's range is known and every pixel matters: never clip it.
  const inputs = new Set((model.graph?.input ?? []).map((i) => i.name ?? ''));
  const sums = new Map<number, Map<string, { min: number; max: number; count: number }>>(percentiles.map((p) => [p, new Map()]));
  try {
    for await (const feed of feeds) {
      const outputs = await session.run(feed);
      for (const [name, value] of Object.entries(outputs)) {
        if (!wanted.has(name) || value.type !== 'float32') continue;
        const data = value.data as Float32Array;
        for (const p of percentiles) {
          const minMax = p >= 100 || inputs.has(name);
          const [lo, hi] = tensorRange(data, minMax ? undefined : p);
          const table = sums.get(p) as Map<string, { min: number; max: number; count: number }>;
          const entry = table.get(name);
          if (!entry) table.set(name, { min: lo, max: hi, count: 1 });
          else if (minMax) {
            entry.min = Math.min(entry.min, lo);
            entry.max = Math.max(entry.max, hi);
          } else {
            entry.min += lo;
            entry.max += hi;
            entry.count += 1;
          }
        }
        value.dispose?.();
      }
    }
  } finally {
    await session.release();
  }
  const result = new Map<number, Ranges>();
  for (const [p, table] of sums) {
    const ranges: Ranges = new Map();
    for (const [name, { min, max, count }] of table) ranges.set(name, [min / count, max / count]);
    result.set(p, ranges);
  }
  return result;
}

/** One method: percentile undefined or >= 100 is min/max. */
export async function calibrate(
  model: ModelProto,
  tensors: readonly string[],
  feeds: AsyncIterable<Record<string, ort.Tensor>>,
  options: { percentile?: number } = {},
): Promise<Ranges> {
  const p = options.percentile !== undefined && options.percentile < 100 ? options.percentile : 100;
  return (await calibrateMethods(model, tensors, feeds, [p])).get(p) as Ranges;
}
