/**
 * tfjs graph model (TensorFlow ops, NHWC) → ONNX (opset 17, NCHW). Only the nodes the requested outputs depend
 * on are converted, so asking for intermediate tensors cuts off in-graph post-processing. All shapes are
 * static (from the declared input shapes), which lets Shape/StridedSlice/Pack/... fold to constants.
 */
import { attrType, parseTensorName, tensorKey } from './attrs.ts';
import { ConvertContext, ConvertError, type OpHandler, type Value, constValue, dynValue } from './context.ts';
import { OnnxGraphBuilder, type OnnxDtype, type ValueInfo } from './onnx-builder.ts';
import { ELEMENTWISE_OPS } from './ops-elementwise.ts';
import { NN_OPS } from './ops-nn.ts';
import { SHAPE_OPS } from './ops-shape.ts';
import { NCHW_PERM, type ConstTensor, identityPerm, permuteShape } from './tensor.ts';
import type { TfGraph, TfNode } from './types.ts';

/** Bumped whenever the converter's output for the same input changes (part of the build stamp). */
export const CONVERTER_VERSION = '1.0.0';

export interface ConvertInput {
  /** TF placeholder name. */
  readonly name: string;
  /** TF shape of the placeholder; 4-D shapes are NHWC unless `layout` says NCHW. */
  readonly shape: readonly number[];
  /**
   * `NHWC` (default for 4-D): the ONNX input is NCHW and maps onto the NHWC placeholder.
   * `NCHW`: the TF placeholder itself is NCHW (graphs exported from PyTorch via onnx-tf); fed as is.
   */
  readonly layout?: 'NHWC' | 'NCHW';
  /**
   * `BGR`: the model was trained on BGR images. The ONNX input stays RGB (our preprocessing contract) and the
   * graph reverses the channel axis before the first op. Default `RGB` (fed as is).
   */
  readonly channelOrder?: 'RGB' | 'BGR';
}

/**
 * An int32 placeholder (a model fed 0..255 integers, as MoveNet's `tf.cast(image, 'int32')`) still gets a float32
 * ONNX input, our preprocessing contract: the graph casts it to int32 first (ONNX Cast truncates toward zero, as
 * TF's float→int32 cast does), so fractional pixels behave as they would in tfjs.
 */
const ONNX_INT32 = 6;

export interface ConvertOptions {
  readonly inputs: readonly ConvertInput[];
  /** TF tensor names to output: `node` or `node:1`. */
  readonly outputs: readonly string[];
  /** ONNX names for the outputs (default: the TF names with `:` replaced). */
  readonly outputNames?: readonly string[];
  /** ONNX name of the (first) input (default: the placeholder name). */
  readonly onnxInputName?: string;
  /** Written into the model's doc_string. */
  readonly docString?: string;
}

const HANDLERS: Record<string, OpHandler> = { ...NN_OPS, ...ELEMENTWISE_OPS, ...SHAPE_OPS };

export function supportedOps(): string[] {
  return ['Placeholder', 'Const', ...Object.keys(HANDLERS)].sort();
}

function dataInputs(node: TfNode): string[] {
  return (node.input ?? []).filter((i) => !i.startsWith('^'));
}

/** Nodes the outputs depend on, in dependency order (iterative DFS, so deep graphs cannot overflow the stack). */
function orderedNodes(byName: ReadonlyMap<string, TfNode>, outputs: readonly string[]): TfNode[] {
  const order: TfNode[] = [];
  const state = new Map<string, 1 | 2>();
  for (const out of outputs) {
    const [root] = parseTensorName(out);
    if (!byName.has(root)) throw new ConvertError(root, 'requested output node does not exist in the graph');
    const stack: [string, boolean][] = [[root, false]];
    while (stack.length) {
      const [name, done] = stack.pop()!;
      if (done) {
        if (state.get(name) !== 2) {
          state.set(name, 2);
          order.push(byName.get(name)!);
        }
        continue;
      }
      if (state.has(name)) continue;
      const node = byName.get(name);
      if (!node) throw new ConvertError(name, 'referenced as an input but not defined');
      state.set(name, 1);
      stack.push([name, true]);
      for (const i of [...dataInputs(node)].reverse()) {
        const [dep] = parseTensorName(i);
        if (state.get(dep) === 1) throw new ConvertError(node, `graph has a cycle through input ${dep}`);
        if (!state.has(dep)) stack.push([dep, false]);
      }
    }
  }
  return order;
}

function constOf(graph: TfGraph, node: TfNode): ConstTensor {
  const w = graph.weights.get(node.name);
  if (!w) throw new ConvertError(node, 'constant has no value in the weights');
  return { dtype: w.dtype, shape: [...w.shape], data: w.data };
}

function onnxDtype(dtype: string): OnnxDtype {
  return dtype === 'float32' || dtype === 'int32' || dtype === 'bool' ? dtype : 'float32';
}

export function convertTfGraph(graph: TfGraph, options: ConvertOptions): Uint8Array {
  const byName = new Map<string, TfNode>();
  for (const n of graph.nodes) {
    if (byName.has(n.name)) throw new ConvertError(n, 'node name defined twice in the graph');
    byName.set(n.name, n);
  }
  const b = new OnnxGraphBuilder();
  const ctx = new ConvertContext(b);
  const values = new Map<string, Value>();
  const inputInfos: ValueInfo[] = [];

  for (const [i, spec] of options.inputs.entries()) {
    const node = byName.get(spec.name);
    if (!node || node.op !== 'Placeholder') throw new ConvertError(spec.name, 'declared input is not a Placeholder of the graph');
    const onnxName = i === 0 && options.onnxInputName ? options.onnxInputName : spec.name;
    b.reserve(onnxName);
    const nchwFeed = spec.shape.length === 4 && (spec.layout ?? 'NHWC') === 'NHWC';
    const perm = nchwFeed ? NCHW_PERM : identityPerm(spec.shape.length);
    let fed = onnxName;
    if (spec.channelOrder === 'BGR') {
      if (spec.shape.length !== 4) throw new ConvertError(spec.name, 'channelOrder BGR needs a 4-D image input');
      // The ONNX input is NCHW, so channels are ONNX axis 1 whatever the TF layout.
      [fed] = b.addNode('Gather', [onnxName, b.int64([2, 1, 0])], `${onnxName}/rgb_to_bgr`, { axis: 1 });
    }
    const intInput = attrType(node, 'dtype') === 'DT_INT32';
    if (intInput) [fed] = b.addNode('Cast', [fed], `${onnxName}/to_int32`, { to: ONNX_INT32 });
    values.set(`${spec.name}:0`, dynValue(fed, spec.shape, intInput ? 'int32' : 'float32', perm));
    inputInfos.push({ name: onnxName, dtype: 'float32', shape: permuteShape(spec.shape, perm) });
  }

  // Output names are claimed first so no internal tensor (often named after a TF node) can take them.
  const outputNames = options.outputs.map((tfName, k) => options.outputNames?.[k] ?? tfName.replace(/:/g, '_'));
  for (const name of outputNames) b.reserve(name);

  for (const node of orderedNodes(byName, options.outputs)) {
    if (values.has(`${node.name}:0`)) continue;
    if (node.op === 'Placeholder') throw new ConvertError(node, 'placeholder needed by the outputs but not declared in options.inputs');
    if (node.op === 'Const') {
      values.set(`${node.name}:0`, constValue(constOf(graph, node)));
      continue;
    }
    const handler = HANDLERS[node.op];
    if (!handler) throw new ConvertError(node, `unsupported op ${node.op} (supported: ${supportedOps().join(', ')})`);
    const inputs = dataInputs(node).map((i) => {
      const v = values.get(tensorKey(i));
      if (!v) throw new ConvertError(node, `input ${i} has no value (multi-output op not converted?)`);
      return v;
    });
    let outs: Value[];
    try {
      outs = handler(node, inputs, ctx);
    } catch (err) {
      if (err instanceof ConvertError) throw err;
      throw new ConvertError(node, (err as Error).message);
    }
    outs.forEach((v, k) => values.set(`${node.name}:${k}`, v));
  }

  const outputInfos: ValueInfo[] = options.outputs.map((tfName, k) => {
    const v = values.get(tensorKey(tfName));
    if (!v) throw new ConvertError(tfName, 'output has no value');
    const name = outputNames[k];
    // Outputs are in TF layout (e.g. NHWC maps), exactly what the tfjs model returns.
    const src = ctx.materialize(v, identityPerm(v.kind === 'const' ? v.t.shape.length : v.shape.length), `${name}/src`);
    b.addNamedNode('Identity', [src], name);
    const shape = v.kind === 'const' ? v.t.shape : v.shape;
    const dtype = v.kind === 'const' ? v.t.dtype : v.dtype;
    return { name, dtype: onnxDtype(dtype), shape };
  });

  return b.encode('tfjs2onnx', inputInfos, outputInfos, options.docString ?? '', CONVERTER_VERSION);
}
