/**
 * The converter's input: a TensorFlow graph in the tfjs graph-model form (as in a tfjs `model.json`), with its
 * weights already dequantized to plain typed arrays. `loadTfjsGraphModel` builds one from a model.json + .bin
 * files; other builders (the face-api SSD, whose architecture lives in code) build one directly.
 */
export interface TfNode {
  readonly name: string;
  readonly op: string;
  /** Input names as in model.json: `node`, `node:1`, or `^node` for control inputs (ignored). */
  readonly input: readonly string[];
  /** Attributes in model.json form, e.g. `{ strides: { list: { i: ['1','2','2','1'] } }, padding: { s: 'U0FNRQ==' } }`. */
  readonly attr: Readonly<Record<string, unknown>>;
}

export interface TfTensor {
  readonly name: string;
  readonly dtype: 'float32' | 'int32' | 'bool';
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array | Uint8Array;
}

export interface TfGraph {
  readonly nodes: readonly TfNode[];
  /** Const node values by node name. */
  readonly weights: ReadonlyMap<string, TfTensor>;
}
