/**
 * Shape and axis ops. Axis-parameterised ops (Concat, Pad, Mean, Split, Slice, Transpose) map TF axes to the
 * ONNX axes of the operand's current layout, so no data moves. Ops that depend on TF element order (Reshape,
 * Pack, ExpandDims, Squeeze, slices that drop axes) first bring the operand back to TF order. Ops on constants
 * (and Shape, since all shapes are static) are folded on the host.
 */
import { attrBool, attrInt, attrInts, attrString } from './attrs.ts';
import { ConvertError, type ConstValue, type ConvertContext, type DynValue, type OpHandler, type Value, allConst, constValue, dtypeOf, dynValue, requireConst, requireDyn, shapeOf } from './context.ts';
import { resolveStridedSlice, stridedSliceConst } from './slice.ts';
import {
  type ConstTensor,
  concatConst,
  identityPerm,
  intTensor,
  invertPerm,
  newData,
  normAxis,
  permuteShape,
  reshapeConst,
  scalarOrList,
  sizeOf,
  transposeConst,
} from './tensor.ts';
import type { TfNode } from './types.ts';

/** Resolves a TF shape with at most one -1. */
function resolveShape(node: TfNode, target: readonly number[], size: number): number[] {
  const known = target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const out = target.map((d) => (d === -1 ? size / known : d));
  if (sizeOf(out) !== size || out.some((d) => !Number.isInteger(d))) throw new ConvertError(node, `cannot reshape ${size} elements to [${target}]`);
  return out;
}

/** Reshape in TF element order (the operand is transposed back to TF layout first if needed). */
export function reshapeDyn(ctx: ConvertContext, v: DynValue, shape: readonly number[], hint: string): DynValue {
  const src = ctx.materialize(v, identityPerm(v.shape.length), hint);
  const [out] = ctx.b.addNode('Reshape', [src, ctx.b.int64(shape)], hint);
  return dynValue(out, shape, v.dtype);
}

const reshape: OpHandler = (node, inputs, ctx) => {
  const target = scalarOrList(requireConst(node, inputs[1], 'shape'));
  const x = inputs[0];
  if (!x) throw new ConvertError(node, 'missing tensor');
  const shape = resolveShape(node, target, sizeOf(shapeOf(x)));
  if (x.kind === 'const') return [constValue(reshapeConst(x.t, shape))];
  return [reshapeDyn(ctx, x, shape, node.name)];
};

const transpose: OpHandler = (node, inputs) => {
  const p = scalarOrList(requireConst(node, inputs[1], 'perm'));
  const x = inputs[0];
  if (x?.kind === 'const') return [constValue(transposeConst(x.t, p))];
  const v = requireDyn(node, x, 'x');
  // Free: only the bookkeeping changes. tf_out axis k = tf_in axis p[k]; ONNX axis i holds tf_in axis v.perm[i].
  const pinv = invertPerm(p);
  return [dynValue(v.name, permuteShape(v.shape, p), v.dtype, v.perm.map((a) => pinv[a]))];
};

/** Shared layout for several operands: that of the first computed one. */
function commonPerm(values: readonly Value[], rank: number): readonly number[] {
  const d = values.find((v): v is DynValue => v.kind === 'dyn');
  return d ? d.perm : identityPerm(rank);
}

const concat: OpHandler = (node, inputs, ctx) => {
  // ConcatV2: values..., axis. (The old `Concat` has the axis first.)
  const axisFirst = node.op === 'Concat';
  const axisT = requireConst(node, axisFirst ? inputs[0] : inputs[inputs.length - 1], 'axis');
  const values = axisFirst ? inputs.slice(1) : inputs.slice(0, -1);
  const rank = shapeOf(values[0]).length;
  const axis = normAxis(scalarOrList(axisT)[0], rank);
  if (allConst(values)) return [constValue(concatConst(values.map((v) => (v as ConstValue).t), axis))];
  const perm = commonPerm(values, rank);
  const names = values.map((v, i) => ctx.materialize(v, perm, `${node.name}/in${i}`));
  const [out] = ctx.b.addNode('Concat', names, node.name, { axis: perm.indexOf(axis) });
  const shape = [...shapeOf(values[0])];
  shape[axis] = values.reduce((s, v) => s + shapeOf(v)[axis], 0);
  return [dynValue(out, shape, dtypeOf(values[0]), perm)];
};

const pad: OpHandler = (node, inputs, ctx) => {
  const x = requireDyn(node, inputs[0], 'input');
  const p = scalarOrList(requireConst(node, inputs[1], 'paddings'));
  const rank = x.shape.length;
  if (p.length !== rank * 2) throw new ConvertError(node, `paddings has ${p.length} values for rank ${rank}`);
  const begins = x.perm.map((a) => p[a * 2]);
  const ends = x.perm.map((a) => p[a * 2 + 1]);
  const onnxInputs = [x.name, ctx.b.int64([...begins, ...ends])];
  let mode = 'constant';
  if (node.op === 'PadV2') {
    const value = scalarOrList(requireConst(node, inputs[2], 'constant_values'))[0];
    onnxInputs.push(ctx.b.float32Scalar(value));
  } else if (node.op === 'MirrorPad') {
    const m = attrString(node, 'mode');
    if (m !== 'REFLECT') throw new ConvertError(node, `MirrorPad mode ${m} is not supported (only REFLECT)`);
    mode = 'reflect';
  }
  const [out] = ctx.b.addNode('Pad', onnxInputs, node.name, { mode });
  const shape = x.shape.map((d, a) => d + p[a * 2] + p[a * 2 + 1]);
  return [dynValue(out, shape, x.dtype, x.perm)];
};

/** After dropping TF axes `dropped` from a layout, the remaining layout renumbered. */
function dropAxes(perm: readonly number[], dropped: ReadonlySet<number>): number[] {
  const kept = perm.filter((a) => !dropped.has(a));
  const order = [...kept].sort((a, b) => a - b);
  return kept.map((a) => order.indexOf(a));
}

const REDUCE: Record<string, string> = { Mean: 'ReduceMean', Max: 'ReduceMax', Min: 'ReduceMin', Prod: 'ReduceProd' };

const reduce: OpHandler = (node, inputs, ctx) => {
  const x = requireDyn(node, inputs[0], 'input');
  const rank = x.shape.length;
  const axes = [...new Set(scalarOrList(requireConst(node, inputs[1], 'axes')).map((a) => normAxis(a, rank)))];
  const keep = attrBool(node, 'keep_dims');
  // Opset 17 still takes the axes of ReduceMean/Max/Min/Prod as an attribute.
  const [out] = ctx.b.addNode(REDUCE[node.op], [x.name], node.name, { axes: axes.map((a) => x.perm.indexOf(a)).sort((a, b) => a - b), keepdims: keep ? 1 : 0 });
  if (keep) return [dynValue(out, x.shape.map((d, a) => (axes.includes(a) ? 1 : d)), x.dtype, x.perm)];
  const dropped = new Set(axes);
  return [dynValue(out, x.shape.filter((_, a) => !dropped.has(a)), x.dtype, dropAxes(x.perm, dropped))];
};

function split(node: TfNode, x: DynValue, axis: number, sizes: number[], ctx: ConvertContext): Value[] {
  const [out0, ...rest] = ctx.b.addNode('Split', [x.name, ctx.b.int64(sizes)], node.name, { axis: x.perm.indexOf(axis) }, sizes.length);
  return [out0, ...rest].map((name, i) => {
    const shape = [...x.shape];
    shape[axis] = sizes[i];
    return dynValue(name, shape, x.dtype, x.perm);
  });
}

const splitV: OpHandler = (node, inputs, ctx) => {
  const x = requireDyn(node, inputs[0], 'value');
  const axis = normAxis(scalarOrList(requireConst(node, inputs[2], 'axis'))[0], x.shape.length);
  const sizes = scalarOrList(requireConst(node, inputs[1], 'size_splits'));
  const known = sizes.filter((s) => s !== -1).reduce((a, b) => a + b, 0);
  return split(node, x, axis, sizes.map((s) => (s === -1 ? x.shape[axis] - known : s)), ctx);
};

const splitEven: OpHandler = (node, inputs, ctx) => {
  const x = requireDyn(node, inputs[1], 'value');
  const axis = normAxis(scalarOrList(requireConst(node, inputs[0], 'axis'))[0], x.shape.length);
  const n = attrInt(node, 'num_split');
  if (x.shape[axis] % n !== 0) throw new ConvertError(node, `dimension ${x.shape[axis]} not divisible into ${n}`);
  return split(node, x, axis, new Array<number>(n).fill(x.shape[axis] / n), ctx);
};

const stridedSlice: OpHandler = (node, inputs, ctx) => {
  const x = inputs[0];
  if (!x) throw new ConvertError(node, 'missing input');
  const [begin, end, strides] = [1, 2, 3].map((i) => scalarOrList(requireConst(node, inputs[i], ['', 'begin', 'end', 'strides'][i])));
  const masks = {
    begin: attrInt(node, 'begin_mask'),
    end: attrInt(node, 'end_mask'),
    ellipsis: attrInt(node, 'ellipsis_mask'),
    newAxis: attrInt(node, 'new_axis_mask'),
    shrink: attrInt(node, 'shrink_axis_mask'),
  };
  const r = resolveStridedSlice(shapeOf(x), begin, end, strides, masks);
  if (x.kind === 'const') return [constValue(stridedSliceConst(x.t, r))];
  const sliced = r.axes.filter((a) => !(a.start === 0 && a.step === 1 && a.length === x.shape[a.axis]));
  let v: DynValue = x;
  if (sliced.length > 0) {
    // Negative steps: an end of -(dim+1) means "through index 0" for ONNX Slice.
    const ends = sliced.map((a) => {
      const e = a.start + a.length * a.step;
      return e < 0 ? -(x.shape[a.axis] + 1) : e;
    });
    const [out] = ctx.b.addNode(
      'Slice',
      [x.name, ctx.b.int64(sliced.map((a) => a.start)), ctx.b.int64(ends), ctx.b.int64(sliced.map((a) => x.perm.indexOf(a.axis))), ctx.b.int64(sliced.map((a) => a.step))],
      node.name,
    );
    v = dynValue(out, r.slicedShape, x.dtype, x.perm);
  }
  const sameRank = r.outShape.length === r.slicedShape.length && r.outShape.every((d, i) => d === r.slicedShape[i]);
  return [sameRank ? v : reshapeDyn(ctx, v, r.outShape, `${node.name}/shape`)];
};

const shapeOp: OpHandler = (node, inputs) => {
  if (!inputs[0]) throw new ConvertError(node, 'missing input');
  return [constValue(intTensor(shapeOf(inputs[0])))];
};

/** Inserts a unit axis at `axis` of a value (host-side for constants, Reshape in TF order otherwise). */
function expandAxis(ctx: ConvertContext, v: Value, axis: number, hint: string): Value {
  const shape = [...shapeOf(v)];
  shape.splice(axis, 0, 1);
  return v.kind === 'const' ? constValue(reshapeConst(v.t, shape)) : reshapeDyn(ctx, v, shape, hint);
}

const pack: OpHandler = (node, inputs, ctx) => {
  const rank = shapeOf(inputs[0]).length + 1;
  const axis = normAxis(attrInt(node, 'axis'), rank);
  const expanded = inputs.map((v, i) => expandAxis(ctx, v, axis, `${node.name}/in${i}`));
  return concat({ ...node, op: 'ConcatV2' }, [...expanded, constValue(intTensor([axis], []))], ctx);
};

const expandDims: OpHandler = (node, inputs, ctx) => {
  const x = inputs[0];
  if (!x) throw new ConvertError(node, 'missing input');
  const axis = normAxis(scalarOrList(requireConst(node, inputs[1], 'axis'))[0], shapeOf(x).length + 1);
  return [expandAxis(ctx, x, axis, node.name)];
};

const squeeze: OpHandler = (node, inputs, ctx) => {
  const x = inputs[0];
  if (!x) throw new ConvertError(node, 'missing input');
  const shape = shapeOf(x);
  const dims = attrInts(node, 'squeeze_dims', attrInts(node, 'axis')).map((a) => normAxis(a, shape.length));
  const out = shape.filter((d, a) => (dims.length ? !dims.includes(a) : d !== 1));
  if (x.kind === 'const') return [constValue(reshapeConst(x.t, out))];
  return [reshapeDyn(ctx, x, out, node.name)];
};

const sparseToDense: OpHandler = (node, inputs) => {
  const [indices, outShape, values, dflt] = [0, 1, 2, 3].map((i) => requireConst(node, inputs[i], `input ${i}`)) as ConstTensor[];
  const shape = scalarOrList(outShape);
  const out = newData(values.dtype, sizeOf(shape)).fill(dflt.data[0]);
  const rank = shape.length;
  const n = indices.shape.length === 0 ? 1 : indices.shape[0];
  const strides = shape.map((_, i) => sizeOf(shape.slice(i + 1)));
  for (let k = 0; k < n; k++) {
    let off = 0;
    for (let d = 0; d < rank; d++) off += indices.data[k * rank + d] * strides[d];
    out[off] = values.data.length === 1 ? values.data[0] : values.data[k];
  }
  return [constValue({ dtype: values.dtype, shape, data: out })];
};

export const SHAPE_OPS: Record<string, OpHandler> = {
  Reshape: reshape,
  Transpose: transpose,
  ConcatV2: concat,
  Concat: concat,
  Pad: pad,
  PadV2: pad,
  MirrorPad: pad,
  Mean: reduce,
  Max: reduce,
  Min: reduce,
  Prod: reduce,
  SplitV: splitV,
  Split: splitEven,
  StridedSlice: stridedSlice,
  Shape: shapeOp,
  Pack: pack,
  ExpandDims: expandDims,
  Squeeze: squeeze,
  SparseToDense: sparseToDense,
};
