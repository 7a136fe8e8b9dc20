/**
 * Accumulates ONNX nodes and initializers and serialises the model with `onnx-proto` (protobufjs). Names are
 * generated from counters in conversion order, and nothing depends on time or randomness, so the same graph
 * always gives the same bytes.
 */
import onnxProto from 'onnx-proto';
import { peephole } from './peephole.ts';

const { onnx } = onnxProto;

export const OPSET = 17;
/** IR version 8 (ONNX 1.10) is what onnx-proto's schema describes; onnxruntime accepts it with opset 17. */
const IR_VERSION = 8;

export type OnnxDtype = 'float32' | 'int32' | 'int64' | 'bool';

const DATA_TYPE: Record<OnnxDtype, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int32: onnx.TensorProto.DataType.INT32,
  int64: onnx.TensorProto.DataType.INT64,
  bool: onnx.TensorProto.DataType.BOOL,
};

export function onnxDataType(dtype: OnnxDtype): number {
  return DATA_TYPE[dtype];
}

export type AttrValue = number | string | readonly number[] | { readonly float: number } | { readonly floats: readonly number[] };

function encodeAttribute(name: string, value: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  // Plain numbers are INT attributes; floats must be tagged so `alpha: 1` never turns into an int.
  if (typeof value === 'number') return { name, type: T.INT, i: value };
  if (Array.isArray(value)) return { name, type: T.INTS, ints: [...(value as readonly number[])] };
  if ('float' in (value as object)) return { name, type: T.FLOAT, f: (value as { float: number }).float };
  return { name, type: T.FLOATS, floats: [...(value as { floats: readonly number[] }).floats] };
}

interface Initializer {
  readonly name: string;
  readonly dtype: OnnxDtype;
  readonly dims: readonly number[];
  readonly raw: Uint8Array;
}

export interface ValueInfo {
  readonly name: string;
  readonly dtype: OnnxDtype;
  readonly shape: readonly number[];
}

export class OnnxGraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: Initializer[] = [];
  private readonly used = new Set<string>();
  /** Small shared constants (int64 shapes/axes, float32 scalars) by dtype and value. */
  private readonly smallConsts = new Map<string, string>();
  private counter = 0;

  /** A fresh tensor name derived from `hint` (TF node names are kept where possible, for debugging). */
  uniqueName(hint: string): string {
    let name = hint;
    while (this.used.has(name)) name = `${hint}__${++this.counter}`;
    this.used.add(name);
    return name;
  }

  reserve(name: string): void {
    if (this.used.has(name)) throw new Error(`ONNX tensor name ${name} is used twice`);
    this.used.add(name);
  }

  addNode(opType: string, inputs: readonly string[], hint: string, attrs: Record<string, AttrValue> = {}, outputCount = 1): string[] {
    const outputs = Array.from({ length: outputCount }, (_, i) => this.uniqueName(outputCount === 1 ? hint : `${hint}:${i}`));
    const attribute = Object.keys(attrs)
      .sort()
      .map((k) => encodeAttribute(k, attrs[k]));
    this.nodes.push({ opType, input: [...inputs], output: outputs, name: this.uniqueName(`${hint}/${opType}`), attribute });
    return outputs;
  }

  /** Adds an ONNX node whose single output gets exactly `output`, a name reserved beforehand (graph outputs). */
  addNamedNode(opType: string, inputs: readonly string[], output: string): void {
    this.nodes.push({ opType, input: [...inputs], output: [output], name: this.uniqueName(`${output}/${opType}`), attribute: [] });
  }

  addInitializer(hint: string, dtype: OnnxDtype, dims: readonly number[], data: Float32Array | Int32Array | BigInt64Array | Uint8Array): string {
    const name = this.uniqueName(hint);
    const raw = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    this.initializers.push({ name, dtype, dims: [...dims], raw });
    return name;
  }

  /** A shared int64 constant (shapes, axes, pads), deduplicated by value. */
  int64(values: readonly number[], hint = 'const_i64'): string {
    const key = `i64:${values.join(',')}`;
    const hit = this.smallConsts.get(key);
    if (hit) return hit;
    const name = this.addInitializer(hint, 'int64', [values.length], BigInt64Array.from(values.map((v) => BigInt(v))));
    this.smallConsts.set(key, name);
    return name;
  }

  /** A shared float32 scalar constant (Clip bounds, pad values). */
  float32Scalar(value: number): string {
    const key = `f32:${value}`;
    const hit = this.smallConsts.get(key);
    if (hit) return hit;
    const name = this.addInitializer('const_f32', 'float32', [], Float32Array.of(value));
    this.smallConsts.set(key, name);
    return name;
  }

  /** Drops initializers no node reads (constants folded away after they were emitted). */
  private liveInitializers(nodes: readonly onnxProto.onnx.INodeProto[], outputs: readonly ValueInfo[]): Initializer[] {
    const read = new Set<string>(outputs.map((o) => o.name));
    for (const n of nodes) for (const i of n.input ?? []) read.add(i);
    return this.initializers.filter((t) => read.has(t.name));
  }

  encode(graphName: string, inputs: readonly ValueInfo[], outputs: readonly ValueInfo[], docString: string, producerVersion: string): Uint8Array {
    const valueInfo = (v: ValueInfo): onnxProto.onnx.IValueInfoProto => ({
      name: v.name,
      type: { tensorType: { elemType: DATA_TYPE[v.dtype], shape: { dim: v.shape.map((d) => ({ dimValue: d })) } } },
    });
    const nodes = peephole({ nodes: this.nodes, initializers: this.initializers, outputs: outputs.map((o) => o.name), uniqueName: (h) => this.uniqueName(h) });
    const model: onnxProto.onnx.IModelProto = {
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: OPSET }],
      producerName: 'raypack-tfjs2onnx',
      producerVersion,
      docString,
      graph: {
        name: graphName,
        node: nodes,
        initializer: this.liveInitializers(nodes, outputs).map((t) => ({ name: t.name, dataType: DATA_TYPE[t.dtype], dims: [...t.dims], rawData: t.raw })),
        input: inputs.map(valueInfo),
        output: outputs.map(valueInfo),
      },
    };
    return onnx.ModelProto.encode(onnx.ModelProto.fromObject(model)).finish();
  }
}
