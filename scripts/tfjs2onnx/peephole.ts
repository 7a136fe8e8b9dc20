/**
 * Peephole folds on the finished ONNX node list, where every use of a tensor is known exactly:
 *
 * - `Pad` (constant 0, spatial only) whose single reader is a `Conv` → the Conv's own pads. TF graphs spell
 *   MediaPipe/PyTorch-style padding as an explicit Pad before a VALID conv.
 * - `Conv` (no bias) whose single reader is `Add` with a per-channel constant → the Conv's bias. Graphs exported
 *   through onnx-tf write the bias as a separate Add.
 *
 * ONNX Runtime would fuse both at load time in float, but int8 QDQ quantization (scripts/quantize.ts) sees the
 * file: a separate Add or Pad there costs an extra quantize/dequantize step, so the file itself stays lean.
 */
import type onnxProto from 'onnx-proto';

type NodeProto = onnxProto.onnx.INodeProto;

export interface PeepholeInitializer {
  readonly name: string;
  readonly dtype: string;
  readonly dims: readonly number[];
  readonly raw: Uint8Array;
}

export interface PeepholeGraph {
  readonly nodes: NodeProto[];
  readonly initializers: PeepholeInitializer[];
  readonly outputs: readonly string[];
  /** A fresh, unused tensor name. */
  readonly uniqueName: (hint: string) => string;
}

function useCounts(g: PeepholeGraph, removed: ReadonlySet<NodeProto>): Map<string, number> {
  const uses = new Map<string, number>();
  const add = (n: string): void => {
    uses.set(n, (uses.get(n) ?? 0) + 1);
  };
  for (const n of g.nodes) if (!removed.has(n)) for (const i of n.input ?? []) if (i) add(i);
  for (const o of g.outputs) add(o);
  return uses;
}

function attrInts(node: NodeProto, name: string): number[] | undefined {
  const a = node.attribute?.find((x) => x.name === name);
  return a?.ints?.map((v) => Number(v));
}

function setAttrInts(node: NodeProto, name: string, values: number[]): void {
  const a = node.attribute?.find((x) => x.name === name);
  if (a) a.ints = values;
}

function stringAttr(node: NodeProto, name: string): string | undefined {
  const a = node.attribute?.find((x) => x.name === name);
  return a?.s ? new TextDecoder().decode(a.s) : undefined;
}

/** Pad → Conv. Returns the number of folds. */
function foldPads(g: PeepholeGraph, inits: Map<string, PeepholeInitializer>, uses: Map<string, number>, removed: Set<NodeProto>): number {
  const readers = new Map<string, NodeProto>();
  for (const n of g.nodes) if (!removed.has(n)) for (const i of n.input ?? []) readers.set(i, n);
  let folds = 0;
  for (const pad of g.nodes) {
    if (pad.opType !== 'Pad' || removed.has(pad)) continue;
    const out = pad.output![0];
    const conv = readers.get(out);
    if (!conv || conv.opType !== 'Conv' || conv.input![0] !== out || uses.get(out) !== 1) continue;
    if ((stringAttr(pad, 'mode') ?? 'constant') !== 'constant') continue;
    const padsInit = inits.get(pad.input![1]);
    if (!padsInit || padsInit.dtype !== 'int64' || padsInit.dims[0] !== 8) continue;
    const value = pad.input![2] ? inits.get(pad.input![2]) : undefined;
    if (pad.input![2] && (!value || value.dtype !== 'float32' || new Float32Array(value.raw.buffer, value.raw.byteOffset, 1)[0] !== 0)) continue;
    const p = Array.from(new BigInt64Array(padsInit.raw.buffer, padsInit.raw.byteOffset, 8), Number);
    // Only H and W may be padded (ONNX order [n0,c0,h0,w0,n1,c1,h1,w1]); negative pads crop, which Conv cannot.
    if (p[0] || p[1] || p[4] || p[5] || p.some((v) => v < 0)) continue;
    const cp = attrInts(conv, 'pads') ?? [0, 0, 0, 0];
    setAttrInts(conv, 'pads', [cp[0] + p[2], cp[1] + p[3], cp[2] + p[6], cp[3] + p[7]]);
    conv.input![0] = pad.input![0];
    removed.add(pad);
    folds++;
  }
  return folds;
}

/** Conv (no bias) → Add(per-channel constant). Returns the number of folds. */
function foldBiases(g: PeepholeGraph, inits: Map<string, PeepholeInitializer>, uses: Map<string, number>, removed: Set<NodeProto>): number {
  const producer = new Map<string, NodeProto>();
  for (const n of g.nodes) for (const o of n.output ?? []) producer.set(o, n);
  let folds = 0;
  for (const add of g.nodes) {
    if (add.opType !== 'Add' || removed.has(add) || add.input!.length !== 2) continue;
    for (const k of [0, 1]) {
      const conv = producer.get(add.input![k]);
      const bias = inits.get(add.input![1 - k]);
      if (!conv || conv.opType !== 'Conv' || conv.input!.length !== 2 || uses.get(conv.output![0]) !== 1) continue;
      const weight = inits.get(conv.input![1]);
      if (!bias || !weight || bias.dtype !== 'float32') continue;
      const c = weight.dims[0];
      // Broadcast against NCHW: [C,1,1] or [1,C,1,1] is per-channel.
      const d = bias.dims;
      const perChannel = (d.length === 3 && d[0] === c && d[1] === 1 && d[2] === 1) || (d.length === 4 && d[0] === 1 && d[1] === c && d[2] === 1 && d[3] === 1);
      if (!perChannel) continue;
      const name = g.uniqueName(`${conv.name}/bias`);
      g.initializers.push({ name, dtype: 'float32', dims: [c], raw: bias.raw });
      inits.set(name, g.initializers[g.initializers.length - 1]);
      conv.input!.push(name);
      conv.output![0] = add.output![0];
      removed.add(add);
      folds++;
      break;
    }
  }
  return folds;
}

/** Applies the folds in place; returns the surviving nodes (still in topological order). */
export function peephole(g: PeepholeGraph): NodeProto[] {
  const inits = new Map(g.initializers.map((t) => [t.name, t]));
  const removed = new Set<NodeProto>();
  foldPads(g, inits, useCounts(g, removed), removed);
  foldBiases(g, inits, useCounts(g, removed), removed);
  return g.nodes.filter((n) => !removed.has(n));
}
