/**
 * Static QDQ quantization of an ONNX graph: QuantizeLinear/DequantizeLinear pairs around the operators that ONNX
 * Runtime runs in integer arithmetic (its QDQ fusions turn DQ -> Conv -> Q into QLinearConv, DQ -> Add -> Q into
 * QLinearAdd, and so on). Weights of Conv, Gemm and MatMul are stored as int8 (per output channel for Conv),
 * biases as int32, activations as uint8 with ranges from calibration.
 *
 * Two steps, so that calibration knows what to observe: `planQuantization` lists the float tensors that will be
 * quantized; `applyQdq` rewrites the graph given their calibrated ranges.
 */
import { outputShift } from './bias-correction.ts';
import { activationParams, quantizeBias, quantizeWeights, type ActivationParams, type WeightRange } from './quant-math.ts';
import {
  DataType,
  attribute,
  constantTensors,
  defaultOpset,
  dimsOf,
  floatData,
  makeTensor,
  onnx,
  toNumber,
  type ModelProto,
  type NodeProto,
  type TensorProto,
} from './onnx-model.ts';

/** Operators whose inputs and output get Q/DQ; ONNX Runtime has integer kernels or QDQ fusions for each. */
const QUANTIZED_OPS = new Set(['Conv', 'Gemm', 'MatMul', 'Add', 'Mul', 'Concat', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'Sigmoid', 'LeakyRelu']);
/**
 * Operators whose output must keep the input's scale for ONNX Runtime to run them on uint8 directly (it drops the
 * DQ/Q pair around them). Resize is not here: onnxruntime-node 1.30 kept NanoDet's bilinear Resizes float even
 * with equal scales on both sides (docs/notes/int8.md), so Q/DQ around them would only add work.
 */
const SAME_SCALE_OPS = new Set(['MaxPool']);
/** Input slots holding weights (int8) and biases (int32), per operator. */
const WEIGHT_SLOT: Readonly<Record<string, number>> = { Conv: 1, Gemm: 1, MatMul: 1 };
const BIAS_SLOT: Readonly<Record<string, number>> = { Conv: 2, Gemm: 2 };
/**
 * Operators between a head's last Conv and a graph output: they only move data (layout) or squash each value on
 * its own (Sigmoid, Softmax), so the raw head values pass through them. The walk back from the outputs crosses
 * these, so the Conv under an SSD's Reshape -> Concat -> Sigmoid, or NanoDet's Split -> Sigmoid -> Reshape, counts
 * as head too (before, the walk stopped at the Sigmoid/Split and those Convs and the logit Concat went int8).
 */
const HEAD_PASS_OPS = new Set(['Reshape', 'Transpose', 'Concat', 'Identity', 'Flatten', 'Squeeze', 'Unsqueeze', 'Split', 'Slice', 'Sigmoid', 'Softmax']);
/** Operators whose meaning changed at opset 13: a model using them cannot simply be relabelled opset 13. */
const CHANGED_AT_13 = new Set(['Split', 'Squeeze', 'Unsqueeze', 'Softmax', 'LogSoftmax', 'Hardmax', 'ReduceSum']);

export interface QuantizationPlan {
  /** Float activations to quantize (calibration observes exactly these). */
  readonly activations: readonly string[];
  /** Activation -> the activation whose range it must share (MaxPool output -> its input). */
  readonly sharedRange: ReadonlyMap<string, string>;
  /**
   * Activations quantized with one common range (the union of theirs): each Concat's output with its inputs.
   * ORT's QLinearConcat then copies bytes instead of requantizing every input; measured on NanoDet (12 Concats):
   * model time 10.3-10.6 -> 9.2-9.7 ms, mAP50 unchanged (docs/notes/int8.md).
   */
  readonly scaleGroups: readonly (readonly string[])[];
  /** Per-channel Conv weights are possible (opset >= 13, or relabelled to 13). */
  readonly perChannel: boolean;
  readonly opsetAfter: number;
  /** Output names of the nodes kept in float (the detection heads, when asked). */
  readonly floatNodes: ReadonlySet<string>;
}

/**
 * The detection heads: the nodes that write the graph outputs, walking back through layout operators to the
 * first compute node of each path. Their outputs are raw scores and box offsets whose small values decide the
 * ranking of weak detections, so int8 there costs AP out of proportion to the time it saves.
 */
export function headNodes(model: ModelProto): Set<string> {
  const nodes = model.graph?.node ?? [];
  const producer = new Map<string, NodeProto>();
  for (const node of nodes) for (const output of node.output ?? []) producer.set(output, node);
  const head = new Set<string>();
  const stack = (model.graph?.output ?? []).map((o) => o.name ?? '');
  while (stack.length > 0) {
    const node = producer.get(stack.pop() ?? '');
    const key = node?.output?.[0];
    if (!node || !key || head.has(key)) continue;
    head.add(key);
    if (HEAD_PASS_OPS.has(node.opType ?? '')) stack.push(...(node.input ?? []).filter(Boolean));
  }
  return head;
}

function consumersOf(nodes: readonly NodeProto[]): Map<string, NodeProto[]> {
  const consumers = new Map<string, NodeProto[]>();
  for (const node of nodes) {
    for (const input of node.input ?? []) {
      if (!input) continue;
      const list = consumers.get(input) ?? [];
      list.push(node);
      consumers.set(input, list);
    }
  }
  return consumers;
}

/** Relu, or Clip whose lower bound is 0: ONNX Runtime folds these into the Q that follows when its zero point is 0. */
function isRectifier(node: NodeProto, constants: ReadonlyMap<string, TensorProto>): boolean {
  if (node.opType === 'Relu') return true;
  if (node.opType !== 'Clip') return false;
  const minAttribute = attribute(node, 'min');
  if (minAttribute) return minAttribute.f === 0;
  const minTensor = node.input?.[1] ? constants.get(node.input[1]) : undefined;
  const value = minTensor ? floatData(minTensor) : undefined;
  return value !== undefined && value.length === 1 && value[0] === 0;
}

export interface PlanOptions {
  readonly perChannel?: boolean;
  readonly floatHead?: boolean;
  /** Nodes to keep in float besides the head, by node name or first output name (sensitive layers). */
  readonly keepFloat?: Iterable<string>;
}

export function planQuantization(model: ModelProto, options: PlanOptions = {}): QuantizationPlan {
  const graph = model.graph;
  if (!graph) throw new Error('the model has no graph');
  const nodes = graph.node ?? [];
  const constants = constantTensors(model);
  const consumers = consumersOf(nodes);
  const producer = new Map<string, NodeProto>();
  for (const node of nodes) for (const output of node.output ?? []) producer.set(output, node);
  const graphOutputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  const activations = new Set<string>();
  const sharedRange = new Map<string, string>();
  const scaleGroups: string[][] = [];
  const floatNodes = options.floatHead ? headNodes(model) : new Set<string>();
  const keep = new Set(options.keepFloat ?? []);
  for (const node of nodes) if (keep.has(node.name ?? '') || keep.has(node.output?.[0] ?? '')) floatNodes.add(node.output?.[0] ?? '');

  for (const node of nodes) {
    const op = node.opType ?? '';
    if (!QUANTIZED_OPS.has(op) || floatNodes.has(node.output?.[0] ?? '')) continue;
    (node.input ?? []).forEach((input, slot) => {
      if (!input || constants.has(input)) return;
      if (slot === BIAS_SLOT[op]) return;
      activations.add(input);
    });
    const output = node.output?.[0];
    if (!output || graphOutputs.has(output)) continue;
    if (op === 'Concat') {
      // Each input with the tensors it is only a reshaped view of (the SSD's conv -> Transpose -> Reshape ->
      // Concat): one scale along the chain lets ORT drop the Q/DQ pairs around the layout ops.
      const members = (node.input ?? []).filter((i) => i && !constants.has(i)).flatMap((i) => layoutChain(i, producer));
      scaleGroups.push([output, ...members]);
    }
    const next = consumers.get(output) ?? [];
    // Quantize after a following Relu/Clip(0, x) instead of before it: ORT then drops the rectifier entirely.
    if (next.length === 1 && isRectifier(next[0], constants) && next[0].output?.[0] && !graphOutputs.has(next[0].output[0])) {
      activations.add(next[0].output[0]);
    } else {
      activations.add(output);
      if (SAME_SCALE_OPS.has(op) && node.input?.[0]) {
        sharedRange.set(output, node.input[0]);
        // Also in the groups, so that a MaxPool output inside a Concat group pulls its input along.
        scaleGroups.push([output, node.input[0]]);
      }
    }
  }

  const opset = defaultOpset(model);
  const usesChanged = nodes.some((n) => CHANGED_AT_13.has(n.opType ?? ''));
  const wantPerChannel = options.perChannel ?? true;
  const perChannel = wantPerChannel && (opset >= 13 || !usesChanged);
  return { activations: [...activations], sharedRange, scaleGroups: mergeGroups(scaleGroups), perChannel, opsetAfter: perChannel ? Math.max(13, opset) : Math.max(10, opset), floatNodes };
}

/** A Concat group shares one range only if every member's range is at least this fraction of the union's. */
export const SHARED_SCALE_MIN_FRACTION = 0.5;

/** Ops that only reshape or reorder their first input: a quantized tensor passes them unchanged. */
const VIEW_OPS = new Set(['Reshape', 'Transpose', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity']);

/** `tensor` and, walking back through VIEW_OPS, the tensors it is a view of. */
function layoutChain(tensor: string, producer: ReadonlyMap<string, NodeProto>): string[] {
  const chain = [tensor];
  let node = producer.get(tensor);
  while (node && VIEW_OPS.has(node.opType ?? '') && node.input?.[0]) {
    chain.push(node.input[0]);
    node = producer.get(node.input[0]);
  }
  return chain;
}

/** Groups that share a member merged into one (union-find), members in first-seen order. */
export function mergeGroups(groups: readonly (readonly string[])[]): string[][] {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let root = x;
    while (parent.get(root) !== root) root = parent.get(root) as string;
    parent.set(x, root);
    return root;
  };
  for (const group of groups) {
    for (const name of group) if (!parent.has(name)) parent.set(name, name);
    for (const name of group.slice(1)) parent.set(find(name), find(group[0]));
  }
  const merged = new Map<string, string[]>();
  for (const name of parent.keys()) {
    const root = find(name);
    merged.set(root, [...(merged.get(root) ?? []), name]);
  }
  return [...merged.values()];
}

export interface QdqSummary {
  readonly quantizedActivations: number;
  readonly quantizedWeights: number;
  /** Convs whose bias was corrected for the weight rounding. */
  readonly correctedBiases: number;
  readonly perChannel: boolean;
  readonly opset: number;
}

/**
 * Rewrite `model` in place. `ranges` holds the calibrated [min, max] of each float activation of the plan;
 * planned tensors without a range (not float, or never produced) are left alone.
 */
export function applyQdq(
  model: ModelProto,
  plan: QuantizationPlan,
  ranges: ReadonlyMap<string, readonly [number, number]>,
  /** Per Conv (first output): offset means of its float input, for bias correction (bias-correction.ts). */
  inputMeans?: ReadonlyMap<string, Float64Array>,
): QdqSummary {
  const graph = model.graph;
  if (!graph) throw new Error('the model has no graph');
  const constants = constantTensors(model);
  const params = new Map<string, ActivationParams>();
  const rangeOf = (name: string): readonly [number, number] | undefined => ranges.get(plan.sharedRange.get(name) ?? name) ?? ranges.get(name);
  const groupRange = new Map<string, readonly [number, number]>();
  for (const group of plan.scaleGroups) {
    const known = group.map(rangeOf).filter((r): r is readonly [number, number] => r !== undefined);
    if (known.length === 0) continue;
    const union: [number, number] = [Math.min(...known.map((r) => r[0])), Math.max(...known.map((r) => r[1]))];
    // Only when no member loses more than one bit of resolution to the union: the SSD's logit Concat joins six
    // scales' predictions with quite different ranges, and sharing there cost 0.4 AP50 on WIDER for no speed.
    const width = (r: readonly [number, number]): number => Math.max(0, r[1]) - Math.min(0, r[0]);
    if (known.some((r) => width(r) < SHARED_SCALE_MIN_FRACTION * width(union))) continue;
    for (const name of group) groupRange.set(name, union);
  }
  for (const name of plan.activations) {
    const range = groupRange.get(name) ?? rangeOf(name);
    if (range) params.set(name, activationParams(range[0], range[1]));
  }

  const head: NodeProto[] = [];
  const newInitializers: TensorProto[] = [];
  const dequantized = new Map<string, string>();

  const qdqNodes = (tensor: string, p: ActivationParams): NodeProto[] => {
    const scale = `${tensor}_scale`;
    const zeroPoint = `${tensor}_zero_point`;
    newInitializers.push(makeTensor(scale, DataType.FLOAT, [], Float32Array.of(p.scale)));
    newInitializers.push(makeTensor(zeroPoint, DataType.UINT8, [], Uint8Array.of(p.zeroPoint)));
    dequantized.set(tensor, `${tensor}_dequantized`);
    return [
      onnx.NodeProto.create({ name: `${tensor}_QuantizeLinear`, opType: 'QuantizeLinear', input: [tensor, scale, zeroPoint], output: [`${tensor}_quantized`] }),
      onnx.NodeProto.create({ name: `${tensor}_DequantizeLinear`, opType: 'DequantizeLinear', input: [`${tensor}_quantized`, scale, zeroPoint], output: [`${tensor}_dequantized`] }),
    ];
  };

  // A constant tensor stored quantized, read back through one DequantizeLinear at the head of the graph.
  const dequantizeConstant = (name: string, dataType: number, dims: number[], data: Int8Array | Uint8Array | Int32Array, scales: Float32Array, zeroPoint: Int8Array | Uint8Array | Int32Array, axis?: number): string => {
    const quantizedName = `${name}_quantized`;
    const output = `${name}_dequantized`;
    newInitializers.push(makeTensor(quantizedName, dataType, dims, data));
    newInitializers.push(makeTensor(`${name}_scale`, DataType.FLOAT, scales.length === 1 && axis === undefined ? [] : [scales.length], scales));
    newInitializers.push(makeTensor(`${name}_zero_point`, dataType, zeroPoint.length === 1 && axis === undefined ? [] : [zeroPoint.length], zeroPoint));
    const attributes = axis === undefined ? [] : [onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: axis })];
    head.push(
      onnx.NodeProto.create({ name: `${name}_DequantizeLinear`, opType: 'DequantizeLinear', input: [quantizedName, `${name}_scale`, `${name}_zero_point`], output: [output], attribute: attributes }),
    );
    return output;
  };

  let quantizedWeights = 0;
  let correctedBiases = 0;
  const rewrittenInputs = new Map<NodeProto, string[]>();
  for (const node of graph.node ?? []) {
    const op = node.opType ?? '';
    if (!QUANTIZED_OPS.has(op) || plan.floatNodes.has(node.output?.[0] ?? '')) continue;
    const inputs = [...(node.input ?? [])];
    const inputParams = inputs[0] ? params.get(inputs[0]) : undefined;
    const weightName = inputs[WEIGHT_SLOT[op]];
    const weightTensor = weightName !== undefined ? constants.get(weightName) : undefined;
    const weights = weightTensor ? floatData(weightTensor) : undefined;
    if (weightTensor && weights && inputParams && WEIGHT_SLOT[op] !== undefined) {
      const dims = dimsOf(weightTensor);
      const perChannel = plan.perChannel && op === 'Conv';
      const q = quantizeWeights(weights, dims, perChannel, weightRangeFor(node, dims));
      const slot = WEIGHT_SLOT[op];
      const id = `${node.name || node.output?.[0]}_${slot}`;
      inputs[slot] = dequantizeConstant(`${id}_weight`, DataType.INT8, dims, q.data, q.scales, new Int8Array(q.scales.length), perChannel ? 0 : undefined);
      quantizedWeights += 1;
      const biasSlot = BIAS_SLOT[op];
      const biasTensor = biasSlot !== undefined && inputs[biasSlot] ? constants.get(inputs[biasSlot]) : undefined;
      const floatBias = biasTensor ? floatData(biasTensor) : undefined;
      const means = op === 'Conv' ? inputMeans?.get(node.output?.[0] ?? '') : undefined;
      let bias = floatBias;
      if (floatBias && means) {
        // Bias correction: cancel the mean shift the rounded weights cause on each output channel.
        const dequantized = new Float32Array(weights.length);
        const perScale = weights.length / q.scales.length;
        for (let i = 0; i < weights.length; i++) dequantized[i] = q.data[i] * q.scales[Math.floor(i / perScale)];
        const group = toNumber(attribute(node, 'group')?.i) || 1;
        const shift = outputShift(weights, dequantized, dims, group, means);
        bias = Float32Array.from(floatBias, (b, c) => b - shift[c]);
        correctedBiases += 1;
      }
      if (biasSlot !== undefined && bias && biasTensor) {
        // Per-tensor weights give one weight scale; the bias still needs one scale per element.
        const b = quantizeBias(bias, inputParams.scale, q.scales);
        const biasScales = perChannel ? b.scales : Float32Array.of(b.scales[0]);
        inputs[biasSlot] = dequantizeConstant(`${id}_bias`, DataType.INT32, dimsOf(biasTensor), b.data, biasScales, new Int32Array(biasScales.length), perChannel ? 0 : undefined);
      }
    }
    // Other constant inputs (Add/Mul/Concat operands): uint8 per tensor over their own range.
    inputs.forEach((input, slot) => {
      if (!input || slot === WEIGHT_SLOT[op] || slot === BIAS_SLOT[op]) return;
      const tensor = constants.get(input);
      const values = tensor ? floatData(tensor) : undefined;
      if (!tensor || !values || values.length === 0) return;
      let min = Infinity;
      let max = -Infinity;
      for (const v of values) {
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      const p = activationParams(min, max);
      const data = Uint8Array.from(values, (v) => Math.max(0, Math.min(255, Math.round(v / p.scale) + p.zeroPoint)));
      const id = `${node.name || node.output?.[0]}_${slot}_const`;
      inputs[slot] = dequantizeConstant(id, DataType.UINT8, dimsOf(tensor), data, Float32Array.of(p.scale), Uint8Array.of(p.zeroPoint));
    });
    rewrittenInputs.set(node, inputs);
  }

  // Graph inputs that are quantized get their pair first; every other pair follows the node producing the tensor.
  const body: NodeProto[] = [];
  for (const input of graph.input ?? []) {
    const p = input.name ? params.get(input.name) : undefined;
    if (p && input.name) body.push(...qdqNodes(input.name, p));
  }
  for (const node of graph.node ?? []) {
    const own = rewrittenInputs.get(node) ?? [...(node.input ?? [])];
    node.input = own.map((name) => dequantized.get(name) ?? name);
    body.push(node);
    for (const output of node.output ?? []) {
      const p = params.get(output);
      if (p) body.push(...qdqNodes(output, p));
    }
  }
  graph.node = [...head, ...body];
  graph.initializer = [...(graph.initializer ?? []), ...newInitializers];
  removeUnused(model);

  const opsetEntry = model.opsetImport?.find((o) => !o.domain || o.domain === 'ai.onnx');
  if (opsetEntry) opsetEntry.version = plan.opsetAfter;
  // IR version 7 is the lowest that ONNX Runtime accepts with opset 13.
  if (toNumber(model.irVersion) < 7) model.irVersion = 7;
  return { quantizedActivations: params.size, quantizedWeights, correctedBiases, perChannel: plan.perChannel, opset: plan.opsetAfter };
}

/**
 * `full` int8 weights only for a depthwise Conv (one input channel per group, as many groups as output channels):
 * ONNX Runtime runs it with its depthwise kernels, which widen each product to 16/32 bits before adding on every
 * CPU (MLAS qdwconv, and the VPMOVZXBD-fed depthwise path of its symmetric conv kernels). Every other Conv, Gemm
 * and MatMul goes through a GEMM-style kernel that may add weight pairs in int16: pair-bounded (quant-math.ts).
 */
export function weightRangeFor(node: NodeProto, dims: readonly number[]): WeightRange {
  if (node.opType !== 'Conv' || dims.length !== 4) return 'pair-bounded';
  const group = toNumber(attribute(node, 'group')?.i) || 1;
  return group > 1 && dims[1] === 1 && dims[0] === group ? 'full' : 'pair-bounded';
}

/** Drop float weights and Constant nodes that the quantized copies replaced. */
function removeUnused(model: ModelProto): void {
  const graph = model.graph;
  if (!graph) return;
  const used = new Set<string>((graph.output ?? []).map((o) => o.name ?? ''));
  for (const node of graph.node ?? []) for (const input of node.input ?? []) used.add(input);
  const wasInitializer = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  graph.node = (graph.node ?? []).filter((n) => n.opType !== 'Constant' || used.has(n.output?.[0] ?? ''));
  graph.initializer = (graph.initializer ?? []).filter((t) => used.has(t.name ?? ''));
  // Old models (IR < 4) also list every initializer as a graph input: drop those whose initializer is gone.
  graph.input = (graph.input ?? []).filter((i) => used.has(i.name ?? '') || !wasInitializer.has(i.name ?? ''));
}
