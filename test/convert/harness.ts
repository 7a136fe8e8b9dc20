/**
 * Test harness shared by the converter tests: tfjs (CPU backend) as the reference, ONNX Runtime for our output,
 * and a comparison that reports the largest absolute and relative (to the reference's largest magnitude) error.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';

let backendReady: Promise<void> | undefined;

/** tfjs on its pure-JS CPU backend (the reference the brief asks for), quiet about tfjs-node. */
export function tfjsCpu(): Promise<void> {
  backendReady ??= (async () => {
    tf.env().set('IS_TEST', true);
    tf.env().set('PROD', true);
    await tf.setBackend('cpu');
    await tf.ready();
  })();
  return backendReady;
}

/** tf.loadGraphModel through a tiny IOHandler that reads model.json and its shards from disk. */
export async function loadTfjsFromDisk(jsonPath: string): Promise<tf.GraphModel> {
  await tfjsCpu();
  const json = JSON.parse(readFileSync(jsonPath, 'utf8')) as {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
    format?: string;
    signature?: object;
  };
  const shards = json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dirname(jsonPath), p))));
  const data = Buffer.concat(shards);
  const handler: tf.io.IOHandler = {
    load: async () => ({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
      format: json.format,
      signature: json.signature,
    }),
  };
  return tf.loadGraphModel(handler);
}

export interface Diff {
  readonly maxAbs: number;
  readonly maxRel: number;
  readonly refMax: number;
}

/** Largest |a-b| and that divided by the largest |ref| (so near-zero elements do not blow the ratio up). */
export function compare(ref: ArrayLike<number>, got: ArrayLike<number>): Diff {
  if (ref.length !== got.length) throw new Error(`length ${got.length} != reference ${ref.length}`);
  let maxAbs = 0;
  let refMax = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(ref[i] - got[i]);
    if (!(d <= maxAbs)) maxAbs = d; // NaN propagates as a failure
    refMax = Math.max(refMax, Math.abs(ref[i]));
  }
  return { maxAbs, maxRel: refMax > 0 ? maxAbs / refMax : maxAbs, refMax };
}

export async function runOnnx(bytes: Uint8Array, feeds: Record<string, { data: Float32Array; dims: number[] }>): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const inputs: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) inputs[k] = new ort.Tensor('float32', v.data, v.dims);
    return await session.run(inputs);
  } finally {
    await session.release();
  }
}

export { tf };
