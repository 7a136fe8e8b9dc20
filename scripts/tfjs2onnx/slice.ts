/**
 * TF StridedSlice semantics (begin/end/strides with begin/end/ellipsis/new_axis/shrink_axis masks) resolved
 * against a static input shape, plus the constant evaluation of a slice.
 */
import { type ConstTensor, newData, sizeOf, stridesOf } from './tensor.ts';

export interface SliceMasks {
  readonly begin: number;
  readonly end: number;
  readonly ellipsis: number;
  readonly newAxis: number;
  readonly shrink: number;
}

export interface AxisSlice {
  readonly axis: number;
  readonly start: number;
  readonly step: number;
  readonly length: number;
  readonly shrink: boolean;
}

export interface ResolvedSlice {
  /** One entry per input axis, in input order. */
  readonly axes: readonly AxisSlice[];
  /** Output shape (new axes inserted, shrunk axes removed). */
  readonly outShape: readonly number[];
  /** Output shape before new axes are inserted and shrunk axes removed (input rank). */
  readonly slicedShape: readonly number[];
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);

export function resolveStridedSlice(shape: readonly number[], begin: readonly number[], end: readonly number[], strides: readonly number[], m: SliceMasks): ResolvedSlice {
  const rank = shape.length;
  type Entry = { kind: 'new' } | { kind: 'axis'; axis: number; b: number; e: number; s: number; bm: boolean; em: boolean; shrink: boolean };
  const entries: Entry[] = [];
  let axis = 0;
  const full = (a: number): Entry => ({ kind: 'axis', axis: a, b: 0, e: 0, s: 1, bm: true, em: true, shrink: false });
  for (let i = 0; i < begin.length; i++) {
    const bit = 1 << i;
    if (m.ellipsis & bit) {
      let remaining = 0;
      for (let j = i + 1; j < begin.length; j++) if (!(m.newAxis & (1 << j))) remaining++;
      const count = rank - axis - remaining;
      for (let k = 0; k < count; k++) entries.push(full(axis++));
    } else if (m.newAxis & bit) {
      entries.push({ kind: 'new' });
    } else {
      entries.push({ kind: 'axis', axis: axis++, b: begin[i], e: end[i], s: strides[i] ?? 1, bm: !!(m.begin & bit), em: !!(m.end & bit), shrink: !!(m.shrink & bit) });
    }
  }
  while (axis < rank) entries.push(full(axis++));
  if (axis > rank) throw new Error(`strided slice addresses ${axis} axes of a rank-${rank} tensor`);

  const axes: AxisSlice[] = [];
  const outShape: number[] = [];
  for (const en of entries) {
    if (en.kind === 'new') {
      outShape.push(1);
      continue;
    }
    const d = shape[en.axis];
    if (en.s === 0) throw new Error('strided slice with stride 0');
    if (en.shrink) {
      const idx = en.b < 0 ? en.b + d : en.b;
      if (idx < 0 || idx >= d) throw new Error(`strided slice index ${en.b} out of range for dimension ${d}`);
      axes.push({ axis: en.axis, start: idx, step: 1, length: 1, shrink: true });
      continue;
    }
    let start: number;
    let stop: number;
    let length: number;
    if (en.s > 0) {
      start = en.bm ? 0 : clamp(en.b < 0 ? en.b + d : en.b, 0, d);
      stop = en.em ? d : clamp(en.e < 0 ? en.e + d : en.e, 0, d);
      length = Math.max(0, Math.ceil((stop - start) / en.s));
    } else {
      start = en.bm ? d - 1 : clamp(en.b < 0 ? en.b + d : en.b, -1, d - 1);
      stop = en.em ? -1 : clamp(en.e < 0 ? en.e + d : en.e, -1, d - 1);
      length = Math.max(0, Math.ceil((start - stop) / -en.s));
    }
    axes.push({ axis: en.axis, start, step: en.s, length, shrink: false });
    outShape.push(length);
  }
  axes.sort((a, b) => a.axis - b.axis);
  return { axes, outShape, slicedShape: axes.map((a) => a.length) };
}

export function stridedSliceConst(t: ConstTensor, r: ResolvedSlice): ConstTensor {
  const inStrides = stridesOf(t.shape);
  const n = sizeOf(r.slicedShape);
  const out = newData(t.dtype, n);
  const rank = r.axes.length;
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < n; o++) {
    let src = 0;
    for (let d = 0; d < rank; d++) src += (r.axes[d].start + idx[d] * r.axes[d].step) * inStrides[d];
    out[o] = t.data[src];
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d] < r.slicedShape[d]) break;
      idx[d] = 0;
    }
  }
  return { dtype: t.dtype, shape: [...r.outShape], data: out };
}
