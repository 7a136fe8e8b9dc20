/**
 * Conversion state shared by the op handlers: what each TF tensor has become (a folded constant, or an ONNX
 * tensor with a known static TF shape and a layout permutation) and helpers to bring a value into the layout an
 * ONNX op needs. Transposes are emitted lazily and cached, so chains of layout-agnostic ops cost nothing.
 */
import type { OnnxGraphBuilder } from './onnx-builder.ts';
import type { TfNode } from './types.ts';
import {
  type ConstTensor,
  type Dtype,
  identityPerm,
  invertPerm,
  isIdentity,
  permuteShape,
  reshapeConst,
  samePerm,
  transposeConst,
} from './tensor.ts';

export interface ConstValue {
  readonly kind: 'const';
  readonly t: ConstTensor;
}

export interface DynValue {
  readonly kind: 'dyn';
  /** ONNX tensor name. */
  readonly name: string;
  /** Static shape in TF axis order. */
  readonly shape: readonly number[];
  readonly dtype: Dtype;
  /** ONNX holds transpose(tfTensor, perm). */
  readonly perm: readonly number[];
}

export type Value = ConstValue | DynValue;

export class ConvertError extends Error {
  constructor(node: TfNode | string, message: string) {
    const n = typeof node === 'string' ? node : `${node.name} (${node.op})`;
    super(`tfjs2onnx: node ${n}: ${message}`);
    this.name = 'ConvertError';
  }
}

export function constValue(t: ConstTensor): ConstValue {
  return { kind: 'const', t };
}

export function dynValue(name: string, shape: readonly number[], dtype: Dtype, perm: readonly number[] = identityPerm(shape.length)): DynValue {
  return { kind: 'dyn', name, shape: [...shape], dtype, perm: [...perm] };
}

export class ConvertContext {
  private readonly transposeCache = new Map<string, string>();
  private readonly constCache = new Map<ConstTensor, Map<string, string>>();

  constructor(readonly b: OnnxGraphBuilder) {}

  /** ONNX name of `v` laid out as transpose(tf, perm). Constants become initializers (cached per layout). */
  materialize(v: Value, perm: readonly number[], hint: string): string {
    if (v.kind === 'const') {
      const key = perm.join(',');
      let byPerm = this.constCache.get(v.t);
      if (!byPerm) this.constCache.set(v.t, (byPerm = new Map()));
      const hit = byPerm.get(key);
      if (hit) return hit;
      const t = transposeConst(v.t, perm);
      const name = this.b.addInitializer(hint, t.dtype, t.shape, t.data);
      byPerm.set(key, name);
      return name;
    }
    if (v.perm.length !== perm.length) throw new ConvertError(hint, `layout rank mismatch ${v.perm} vs ${perm}`);
    if (samePerm(v.perm, perm)) return v.name;
    // onnx_target[i] = tf[perm[i]], onnx_current[j] = tf[v.perm[j]] → Transpose with q[i] = v.perm⁻¹[perm[i]].
    const inv = invertPerm(v.perm);
    const q = perm.map((p) => inv[p]);
    const key = `${v.name}|${q.join(',')}`;
    const hit = this.transposeCache.get(key);
    if (hit) return hit;
    const [out] = this.b.addNode('Transpose', [v.name], `${hint}/to_${perm.join('')}`, { perm: q });
    this.transposeCache.set(key, out);
    return out;
  }

  /**
   * A constant prepared to broadcast against a rank-`rank` operand held with `perm`: TF broadcasting is
   * right-aligned, so the constant is first padded with leading 1s to full rank, then permuted like the operand.
   * Scalars stay scalars (ONNX broadcasts them anywhere).
   */
  broadcastConst(t: ConstTensor, rank: number, perm: readonly number[], hint: string): string {
    if (t.shape.length === 0 || isIdentity(perm)) return this.materialize(constValue(t), identityPerm(t.shape.length), hint);
    const full = reshapeConst(t, [...new Array<number>(rank - t.shape.length).fill(1), ...t.shape]);
    return this.materialize(constValue(full), perm, hint);
  }

  /** Physical ONNX shape of a dynamic value. */
  static onnxShape(v: DynValue): number[] {
    return permuteShape(v.shape, v.perm);
  }

  /** The ONNX axis that holds TF axis `tfAxis` of `v`. */
  static onnxAxis(v: DynValue, tfAxis: number): number {
    return v.perm.indexOf(tfAxis);
  }
}

/** Converts one TF node: receives its (data) inputs, returns one value per TF output. */
export type OpHandler = (node: TfNode, inputs: readonly Value[], ctx: ConvertContext) => Value[];

export function requireDyn(node: TfNode, v: Value | undefined, what: string, rank?: number): DynValue {
  if (!v) throw new ConvertError(node, `missing input ${what}`);
  if (v.kind !== 'dyn') throw new ConvertError(node, `${what} is a constant where a computed tensor was expected`);
  if (rank !== undefined && v.shape.length !== rank) throw new ConvertError(node, `${what} has rank ${v.shape.length}, expected ${rank}`);
  return v;
}

export function requireConst(node: TfNode, v: Value | undefined, what: string): ConstTensor {
  if (!v) throw new ConvertError(node, `missing input ${what}`);
  if (v.kind !== 'const') throw new ConvertError(node, `${what} must be a constant (static shapes only)`);
  return v.t;
}

export function allConst(inputs: readonly Value[]): inputs is readonly ConstValue[] {
  return inputs.every((v) => v.kind === 'const');
}

/** TF shape of any value. */
export function shapeOf(v: Value): readonly number[] {
  return v.kind === 'const' ? v.t.shape : v.shape;
}

export function dtypeOf(v: Value): Dtype {
  return v.kind === 'const' ? v.t.dtype : v.dtype;
}
