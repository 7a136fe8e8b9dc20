/**
 * Builds small TensorFlow graphs in tfjs model.json form, runs them with tfjs (the reference) and through our
 * converter + ONNX Runtime, and compares. Inputs are deterministic pseudo-random values.
 */
import { convertTfGraph, type ConvertInput } from '../../scripts/tfjs2onnx/convert.ts';
import type { TfGraph, TfNode, TfTensor } from '../../scripts/tfjs2onnx/types.ts';
import { compare, runOnnx, tf, tfjsCpu, type Diff } from './harness.ts';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
export const A = {
  s: (v: string) => ({ s: b64(v) }),
  strs: (v: string[]) => ({ list: { s: v.map(b64) } }),
  ints: (v: number[]) => ({ list: { i: v.map(String) } }),
  i: (v: number) => ({ i: String(v) }),
  b: (v: boolean) => ({ b: v }),
  f: (v: number) => ({ f: v }),
  type: (v: 'DT_FLOAT' | 'DT_INT32' | 'DT_BOOL') => ({ type: v }),
};

const TF_TYPE = { float32: 'DT_FLOAT', int32: 'DT_INT32', bool: 'DT_BOOL' } as const;

/** Deterministic values in [-1, 1) (a tiny LCG, so every run feeds the same numbers). */
export function pseudoRandom(n: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x / 2 ** 31 - 1;
  }
  return out;
}

export class TinyGraph {
  readonly nodes: TfNode[] = [];
  readonly weights = new Map<string, TfTensor>();
  private readonly inputs: { name: string; shape: number[]; dtype: 'float32' | 'int32' }[] = [];
  private seed = 7;

  /**
   * A placeholder. An `int32` one is fed pseudo-random values in [-100, 100): the ONNX model gets them as float32
   * (fractions and all), tfjs gets them truncated to integers, as tf.cast would.
   */
  input(name: string, shape: number[], dtype: 'float32' | 'int32' = 'float32'): string {
    this.inputs.push({ name, shape, dtype });
    this.nodes.push({
      name,
      op: 'Placeholder',
      input: [],
      attr: { dtype: A.type(TF_TYPE[dtype]), shape: { shape: { dim: shape.map((d) => ({ size: String(d) })) } } },
    });
    return name;
  }

  const(name: string, shape: number[], values?: ArrayLike<number>, dtype: 'float32' | 'int32' = 'float32'): string {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = dtype === 'int32' ? Int32Array.from(values ?? []) : values ? Float32Array.from(values) : pseudoRandom(n, this.seed++);
    if (data.length !== n) throw new Error(`const ${name}: ${data.length} values for shape [${shape}]`);
    this.weights.set(name, { name, dtype, shape, data });
    this.nodes.push({
      name,
      op: 'Const',
      input: [],
      attr: { dtype: A.type(TF_TYPE[dtype]), value: { tensor: { dtype: TF_TYPE[dtype], tensorShape: { dim: shape.map((d) => ({ size: String(d) })) } } } },
    });
    return name;
  }

  ints(name: string, values: number[], shape: number[] = [values.length]): string {
    return this.const(name, shape, values, 'int32');
  }

  op(name: string, op: string, input: string[], attr: Record<string, unknown> = {}): string {
    this.nodes.push({ name, op, input, attr: { T: A.type('DT_FLOAT'), ...attr } });
    return name;
  }

  graph(): TfGraph {
    return { nodes: this.nodes, weights: this.weights };
  }

  private async tfjsModel(): Promise<tf.GraphModel> {
    await tfjsCpu();
    const specs: tf.io.WeightsManifestEntry[] = [];
    const parts: Uint8Array[] = [];
    for (const w of this.weights.values()) {
      specs.push({ name: w.name, shape: [...w.shape], dtype: w.dtype as 'float32' | 'int32' });
      parts.push(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength));
    }
    const data = Buffer.concat(parts);
    const weightData = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
    return tf.loadGraphModel(tf.io.fromMemory({ modelTopology: { node: this.nodes, versions: { producer: 1 } }, weightSpecs: specs, weightData, format: 'graph-model' }));
  }

  /**
   * Runs both ways and returns one Diff per output. 4-D inputs are NHWC in TF unless listed in `nchwInputs`;
   * ONNX always gets NCHW for 4-D.
   */
  async check(outputs: string[], options: { nchwInputs?: string[]; bgr?: boolean } = {}): Promise<Diff[]> {
    const convertInputs: ConvertInput[] = this.inputs.map((i) => ({
      name: i.name,
      shape: i.shape,
      layout: options.nchwInputs?.includes(i.name) ? 'NCHW' : 'NHWC',
      channelOrder: options.bgr ? 'BGR' : 'RGB',
    }));
    const bytes = convertTfGraph(this.graph(), { inputs: convertInputs, outputs });
    const feeds: Record<string, { data: Float32Array; dims: number[] }> = {};
    const tfFeeds: Record<string, tf.Tensor> = {};
    this.inputs.forEach((i, k) => {
      let values = pseudoRandom(i.shape.reduce((a, b) => a * b, 1), 1000 + k);
      if (i.dtype === 'int32') values = values.map((v) => v * 100);
      let t = tf.tensor(values, i.shape);
      const nhwc = i.shape.length === 4 && !options.nchwInputs?.includes(i.name);
      const onnxT = nhwc ? tf.transpose(t, [0, 3, 1, 2]) : t;
      feeds[i.name] = { data: onnxT.dataSync() as Float32Array, dims: onnxT.shape };
      if (i.dtype === 'int32') t = tf.tensor(Int32Array.from(values, Math.trunc), i.shape, 'int32');
      if (options.bgr) t = tf.reverse(t, nhwc ? 3 : 1);
      tfFeeds[i.name] = t;
    });
    const onnxOut = await runOnnx(bytes, feeds);
    const model = await this.tfjsModel();
    const result = model.execute(tfFeeds, outputs);
    const refs = Array.isArray(result) ? result : [result];
    const diffs = outputs.map((o, k) => {
      const got = onnxOut[o.replace(/:/g, '_')];
      if (got.dims.join(',') !== refs[k].shape.join(',')) throw new Error(`output ${o}: ONNX shape [${got.dims}] != tfjs [${refs[k].shape}]`);
      return compare(refs[k].dataSync() as Float32Array, got.data as Float32Array);
    });
    tf.dispose([...refs, ...Object.values(tfFeeds)]);
    model.dispose();
    return diffs;
  }
}
