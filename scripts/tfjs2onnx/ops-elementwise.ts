/**
 * Element-wise ops. They work in whatever layout their operand already has: the result keeps the layout of the
 * highest-rank computed input, constants are permuted to match (after TF's right-aligned rank padding), so a
 * bias [C] meets an NCHW activation as [C,1,1]. All-constant inputs are folded on the host.
 */
import { attrFloat, attrType } from './attrs.ts';
import {
  ConvertError,
  type ConvertContext,
  type DynValue,
  type OpHandler,
  type Value,
  constValue,
  dtypeOf,
  dynValue,
  requireDyn,
  shapeOf,
} from './context.ts';
import { emitActivation } from './ops-nn.ts';
import { type Dtype, binaryConst, broadcastShapes, identityPerm, mapConst } from './tensor.ts';
import type { TfNode } from './types.ts';

const f32 = Math.fround;

interface BinarySpec {
  readonly onnx: string;
  readonly fold: (a: number, b: number) => number;
}

const BINARY: Record<string, BinarySpec> = {
  Add: { onnx: 'Add', fold: (a, b) => a + b },
  AddV2: { onnx: 'Add', fold: (a, b) => a + b },
  BiasAdd: { onnx: 'Add', fold: (a, b) => a + b },
  Sub: { onnx: 'Sub', fold: (a, b) => a - b },
  Mul: { onnx: 'Mul', fold: (a, b) => a * b },
  RealDiv: { onnx: 'Div', fold: (a, b) => a / b },
  Div: { onnx: 'Div', fold: (a, b) => a / b },
  Maximum: { onnx: 'Max', fold: (a, b) => Math.max(a, b) },
  Minimum: { onnx: 'Min', fold: (a, b) => Math.min(a, b) },
  Pow: { onnx: 'Pow', fold: (a, b) => Math.pow(a, b) },
  SquaredDifference: { onnx: '', fold: (a, b) => (a - b) * (a - b) },
};

/** Brings a lower-rank computed operand up to `rank` (leading 1s) in TF order, as TF broadcasting implies. */
function raiseRank(ctx: ConvertContext, v: DynValue, rank: number, hint: string): DynValue {
  if (v.shape.length === rank) return v;
  const shape = [...new Array<number>(rank - v.shape.length).fill(1), ...v.shape];
  const src = ctx.materialize(v, identityPerm(v.shape.length), hint);
  const [out] = ctx.b.addNode('Reshape', [src, ctx.b.int64(shape)], `${hint}/rank${rank}`);
  return dynValue(out, shape, v.dtype);
}

function binary(node: TfNode, inputs: readonly Value[], ctx: ConvertContext): Value[] {
  const spec = BINARY[node.op];
  const [a, b] = inputs;
  if (!a || !b) throw new ConvertError(node, 'needs two inputs');
  const dtype = dtypeOf(a);
  if (a.kind === 'const' && b.kind === 'const') {
    const fold = dtype === 'float32' ? (x: number, y: number) => f32(spec.fold(x, y)) : (x: number, y: number) => Math.trunc(spec.fold(x, y));
    return [constValue(binaryConst(a.t, b.t, fold, dtype))];
  }
  const shape = broadcastShapes(shapeOf(a), shapeOf(b));
  const rank = shape.length;
  // The reference layout: the computed operand of full rank (the first one if both are).
  const ref = [a, b].find((v): v is DynValue => v.kind === 'dyn' && v.shape.length === rank) ?? null;
  const perm = ref ? ref.perm : identityPerm(rank);
  const names = [a, b].map((v, i) => {
    const hint = `${node.name}/in${i}`;
    if (v.kind === 'const') return ctx.broadcastConst(v.t, rank, perm, hint);
    return ctx.materialize(raiseRank(ctx, v, rank, hint), perm, hint);
  });
  if (node.op === 'SquaredDifference') {
    const [diff] = ctx.b.addNode('Sub', names, `${node.name}/diff`);
    const [out] = ctx.b.addNode('Mul', [diff, diff], node.name);
    return [dynValue(out, shape, dtype, perm)];
  }
  const [out] = ctx.b.addNode(spec.onnx, names, node.name);
  return [dynValue(out, shape, dtype, perm)];
}

interface UnarySpec {
  readonly fold?: (x: number) => number;
  readonly emit: (ctx: ConvertContext, input: string, node: TfNode) => string;
}

const simple = (onnx: string, fold?: (x: number) => number): UnarySpec => ({ fold, emit: (ctx, input, node) => ctx.b.addNode(onnx, [input], node.name)[0] });

const UNARY: Record<string, UnarySpec> = {
  Relu: simple('Relu', (x) => Math.max(x, 0)),
  Relu6: { fold: (x) => Math.min(Math.max(x, 0), 6), emit: (ctx, input, node) => emitActivation(ctx, 'Relu6', input, node.name, node) },
  Sigmoid: simple('Sigmoid', (x) => 1 / (1 + Math.exp(-x))),
  Tanh: simple('Tanh', Math.tanh),
  Exp: simple('Exp', Math.exp),
  Sqrt: simple('Sqrt', Math.sqrt),
  Neg: simple('Neg', (x) => -x),
  Abs: simple('Abs', Math.abs),
  Floor: simple('Floor', Math.floor),
  Softplus: simple('Softplus', (x) => Math.log1p(Math.exp(x))),
  Elu: { fold: (x) => (x > 0 ? x : Math.expm1(x)), emit: (ctx, input, node) => ctx.b.addNode('Elu', [input], node.name, { alpha: { float: 1 } })[0] },
  LeakyRelu: {
    emit: (ctx, input, node) => ctx.b.addNode('LeakyRelu', [input], node.name, { alpha: { float: attrFloat(node, 'alpha', 0.2) } })[0],
  },
  Rsqrt: {
    fold: (x) => 1 / Math.sqrt(x),
    emit: (ctx, input, node) => ctx.b.addNode('Reciprocal', [ctx.b.addNode('Sqrt', [input], `${node.name}/sqrt`)[0]], node.name)[0],
  },
  Square: { fold: (x) => x * x, emit: (ctx, input, node) => ctx.b.addNode('Mul', [input, input], node.name)[0] },
};

function unary(node: TfNode, inputs: readonly Value[], ctx: ConvertContext): Value[] {
  const spec = UNARY[node.op];
  const x = inputs[0];
  if (x?.kind === 'const') {
    if (!spec.fold) throw new ConvertError(node, 'cannot fold this op on a constant');
    return [constValue(mapConst(x.t, (v) => f32(spec.fold!(v))))];
  }
  const v = requireDyn(node, x, 'x');
  return [dynValue(spec.emit(ctx, v.name, node), v.shape, v.dtype, v.perm)];
}

const ONNX_CAST_TO: Record<Dtype, number> = { float32: 1, int32: 6, bool: 9 };

function tfDtype(node: TfNode, t: string | undefined): Dtype {
  if (t === 'DT_FLOAT') return 'float32';
  if (t === 'DT_INT32' || t === 'DT_INT64') return 'int32';
  if (t === 'DT_BOOL') return 'bool';
  throw new ConvertError(node, `unsupported dtype ${t}`);
}

const cast: OpHandler = (node, inputs, ctx) => {
  const to = tfDtype(node, attrType(node, 'DstT'));
  const x = inputs[0];
  if (x?.kind === 'const') {
    const fn = to === 'int32' ? Math.trunc : to === 'bool' ? (v: number) => (v !== 0 ? 1 : 0) : (v: number) => v;
    return [constValue(mapConst(x.t, fn, to))];
  }
  const v = requireDyn(node, x, 'x');
  const [out] = ctx.b.addNode('Cast', [v.name], node.name, { to: ONNX_CAST_TO[to] });
  return [dynValue(out, v.shape, to, v.perm)];
};

const identity: OpHandler = (node, inputs) => {
  if (!inputs[0]) throw new ConvertError(node, 'missing input');
  return [inputs[0]];
};

export const ELEMENTWISE_OPS: Record<string, OpHandler> = {
  ...Object.fromEntries(Object.keys(BINARY).map((op) => [op, binary])),
  ...Object.fromEntries(Object.keys(UNARY).map((op) => [op, unary])),
  Cast: cast,
  Identity: identity,
  StopGradient: identity,
  Snapshot: identity,
};

