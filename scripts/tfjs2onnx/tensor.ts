/**
 * Small host-side tensor helpers: constant tensors for folding, permutation algebra for the layout tracking.
 *
 * Layout convention used everywhere in the converter: a TF tensor `t` (logical TF axis order) is held in ONNX as
 * `transpose(t, perm)`, i.e. ONNX axis i is TF axis perm[i]. NHWC activations use perm [0,3,1,2] (ONNX NCHW).
 */
export type Dtype = 'float32' | 'int32' | 'bool';
export type Data = Float32Array | Int32Array | Uint8Array;

export interface ConstTensor {
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  readonly data: Data;
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function newData(dtype: Dtype, n: number): Data {
  if (dtype === 'float32') return new Float32Array(n);
  if (dtype === 'int32') return new Int32Array(n);
  return new Uint8Array(n);
}

export function identityPerm(rank: number): number[] {
  return Array.from({ length: rank }, (_, i) => i);
}

export function isIdentity(perm: readonly number[]): boolean {
  return perm.every((p, i) => p === i);
}

export function samePerm(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((p, i) => p === b[i]);
}

export function invertPerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => {
    inv[p] = i;
  });
  return inv;
}

/** Shape after `transpose(x, perm)`. */
export function permuteShape(shape: readonly number[], perm: readonly number[]): number[] {
  return perm.map((p) => shape[p]);
}

/** NHWC TF tensor held as NCHW in ONNX. */
export const NCHW_PERM: readonly number[] = [0, 3, 1, 2];

export function transposeConst(t: ConstTensor, perm: readonly number[]): ConstTensor {
  if (isIdentity(perm)) return t;
  const outShape = permuteShape(t.shape, perm);
  const inStrides = stridesOf(t.shape);
  const out = newData(t.dtype, t.data.length);
  const rank = perm.length;
  const idx = new Array<number>(rank).fill(0);
  const stepIn = perm.map((p) => inStrides[p]);
  let src = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = t.data[src];
    // Odometer increment over the output index, tracking the matching input offset.
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      src += stepIn[d];
      if (idx[d] < outShape[d]) break;
      src -= stepIn[d] * outShape[d];
      idx[d] = 0;
    }
  }
  return { dtype: t.dtype, shape: outShape, data: out };
}

export function reshapeConst(t: ConstTensor, shape: readonly number[]): ConstTensor {
  if (sizeOf(shape) !== t.data.length) throw new Error(`cannot reshape [${t.shape}] to [${shape}]`);
  return { dtype: t.dtype, shape: [...shape], data: t.data };
}

export function scalarOrList(t: ConstTensor): number[] {
  return Array.from(t.data as ArrayLike<number>);
}

export function intTensor(values: readonly number[], shape: readonly number[] = [values.length]): ConstTensor {
  return { dtype: 'int32', shape: [...shape], data: Int32Array.from(values) };
}

/** Right-aligned TF/NumPy broadcast shape. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`shapes [${a}] and [${b}] do not broadcast`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Element-wise binary op on constants with broadcasting; float results rounded to float32 like TF. */
export function binaryConst(a: ConstTensor, b: ConstTensor, fn: (x: number, y: number) => number, dtype: Dtype = a.dtype): ConstTensor {
  const shape = broadcastShapes(a.shape, b.shape);
  const n = sizeOf(shape);
  const out = newData(dtype, n);
  const stA = stridesOf(a.shape);
  const stB = stridesOf(b.shape);
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < n; o++) {
    let ia = 0;
    let ib = 0;
    for (let d = 0; d < rank; d++) {
      const da = d - (rank - a.shape.length);
      const db = d - (rank - b.shape.length);
      if (da >= 0 && a.shape[da] !== 1) ia += idx[d] * stA[da];
      if (db >= 0 && b.shape[db] !== 1) ib += idx[d] * stB[db];
    }
    out[o] = fn(a.data[ia], b.data[ib]);
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return { dtype, shape, data: out };
}

export function mapConst(t: ConstTensor, fn: (x: number) => number, dtype: Dtype = t.dtype): ConstTensor {
  const out = newData(dtype, t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = fn(t.data[i]);
  return { dtype, shape: t.shape, data: out };
}

export function concatConst(parts: readonly ConstTensor[], axis: number): ConstTensor {
  const first = parts[0];
  const shape = [...first.shape];
  shape[axis] = parts.reduce((s, p) => s + p.shape[axis], 0);
  const outer = sizeOf(first.shape.slice(0, axis));
  const out = newData(first.dtype, sizeOf(shape));
  let o = 0;
  for (let i = 0; i < outer; i++) {
    for (const p of parts) {
      const chunk = sizeOf(p.shape.slice(axis));
      out.set(p.data.subarray(i * chunk, (i + 1) * chunk) as never, o);
      o += chunk;
    }
  }
  return { dtype: first.dtype, shape, data: out };
}

/** Normalises a possibly negative axis. */
export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`axis ${axis} out of range for rank ${rank}`);
  return a;
}
