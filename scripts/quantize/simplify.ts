/**
 * Graph simplifications made before quantizing, each exact in float. They matter for speed: ONNX Runtime runs a
 * quantized graph in uint8 NHWC from one QLinear kernel to the next, and every float operator in between costs a
 * DequantizeLinear, the float op, a QuantizeLinear and two layout Transposes.
 */
import { DataType, attribute, constantTensors, dimsOf, floatData, makeTensor, onnx, toNumber, type ModelProto } from './onnx-model.ts';

/**
 * Pad(constant -inf) -> MaxPool becomes one MaxPool with those pads (TensorFlow's PadV2 before a VALID max pool,
 * as in NanoDet's stem): MaxPool's own padding never wins a max, exactly like -inf. Returns how many were folded.
 */
export function foldPadIntoMaxPool(model: ModelProto): number {
  const graph = model.graph;
  if (!graph) return 0;
  const nodes = graph.node ?? [];
  const constants = constantTensors(model);
  const consumers = new Map<string, number>();
  for (const node of nodes) for (const input of node.input ?? []) consumers.set(input, (consumers.get(input) ?? 0) + 1);
  const outputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  const removed = new Set<typeof nodes[number]>();
  for (const pad of nodes) {
    if (pad.opType !== 'Pad' || !pad.output?.[0] || outputs.has(pad.output[0]) || consumers.get(pad.output[0]) !== 1) continue;
    const mode = attribute(pad, 'mode')?.s;
    if (mode && mode.length > 0 && Buffer.from(mode).toString() !== 'constant') continue;
    const padsTensor = pad.input?.[1] ? constants.get(pad.input[1]) : undefined;
    const valueTensor = pad.input?.[2] ? constants.get(pad.input[2]) : undefined;
    const value = valueTensor ? floatData(valueTensor) : undefined;
    if (!padsTensor || !value || value.length !== 1 || value[0] !== -Infinity || pad.input?.[3]) continue;
    const pads = int64Values(padsTensor);
    // NCHW: [n0, c0, h0, w0, n1, c1, h1, w1]; only spatial padding folds.
    if (pads.length !== 8 || pads[0] !== 0 || pads[1] !== 0 || pads[4] !== 0 || pads[5] !== 0) continue;
    const pool = nodes.find((n) => n.input?.[0] === pad.output?.[0]);
    if (!pool || pool.opType !== 'MaxPool') continue;
    const poolPads = attribute(pool, 'pads')?.ints?.map((v) => toNumber(v)) ?? [0, 0, 0, 0];
    const autoPad = attribute(pool, 'auto_pad')?.s;
    if (poolPads.some((p) => p !== 0) || (autoPad && autoPad.length > 0 && Buffer.from(autoPad).toString() !== 'NOTSET')) continue;
    pool.attribute = [
      ...(pool.attribute ?? []).filter((a) => a.name !== 'pads' && a.name !== 'auto_pad'),
      onnx.AttributeProto.create({ name: 'pads', type: onnx.AttributeProto.AttributeType.INTS, ints: [pads[2], pads[3], pads[6], pads[7]] }),
    ];
    pool.input = [pad.input?.[0] ?? '', ...(pool.input ?? []).slice(1)];
    removed.add(pad);
  }
  graph.node = nodes.filter((n) => !removed.has(n));
  return removed.size;
}

function int64Values(tensor: ReturnType<typeof constantTensors> extends Map<string, infer T> ? T : never): number[] {
  if (tensor.int64Data && tensor.int64Data.length > 0) return tensor.int64Data.map((v) => toNumber(v));
  if (!tensor.rawData || tensor.rawData.length === 0) return [];
  const bytes = new Uint8Array(tensor.rawData);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.byteLength / 8 }, (_, i) => Number(view.getBigInt64(i * 8, true)));
}

/**
 * A channel Gather on the graph input (NanoDet's RGB -> BGR swap, indices on axis 1) feeding only Convs becomes a
 * permutation of those Convs' input-channel weights: one float pass over the whole input frame less, exact.
 */
export function foldInputChannelGather(model: ModelProto): number {
  const graph = model.graph;
  if (!graph) return 0;
  const nodes = graph.node ?? [];
  const constants = constantTensors(model);
  const inputs = new Set((graph.input ?? []).map((i) => i.name ?? ''));
  const outputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  let folded = 0;
  for (const gather of [...nodes]) {
    if (gather.opType !== 'Gather' || !inputs.has(gather.input?.[0] ?? '') || toNumber(attribute(gather, 'axis')?.i) !== 1) continue;
    const out = gather.output?.[0] ?? '';
    const indicesTensor = gather.input?.[1] ? constants.get(gather.input[1]) : undefined;
    const indices = indicesTensor ? int64Values(indicesTensor) : [];
    const users = nodes.filter((n) => (n.input ?? []).includes(out));
    if (outputs.has(out) || indices.length === 0 || users.length === 0) continue;
    if (!users.every((n) => n.opType === 'Conv' && n.input?.[0] === out && !(n.input ?? []).slice(1).includes(out))) continue;
    const weights = users.map((n) => (n.input?.[1] ? constants.get(n.input[1]) : undefined));
    // Each Conv must own its weight (not shared) with exactly `indices.length` input channels and group 1.
    const ok = weights.every((w, i) => w && floatData(w) && dimsOf(w)[1] === indices.length && (toNumber(attribute(users[i], 'group')?.i) || 1) === 1);
    if (!ok || new Set(users.map((n) => n.input?.[1])).size !== users.length) continue;
    users.forEach((conv, i) => {
      const tensor = weights[i] as NonNullable<(typeof weights)[number]>;
      const dims = dimsOf(tensor);
      const w = floatData(tensor) as Float32Array;
      const spatial = dims[2] * dims[3];
      const permuted = new Float32Array(w.length);
      // Conv reads channel c of the gathered tensor = channel indices[c] of the input: move weights[o][c] to [o][indices[c]].
      for (let o = 0; o < dims[0]; o++) {
        for (let c = 0; c < dims[1]; c++) {
          const from = (o * dims[1] + c) * spatial;
          const to = (o * dims[1] + indices[c]) * spatial;
          permuted.set(w.subarray(from, from + spatial), to);
        }
      }
      const name = `${tensor.name ?? conv.name}_channels_folded`;
      graph.initializer = [...(graph.initializer ?? []), makeTensor(name, DataType.FLOAT, dims, permuted)];
      conv.input = [gather.input?.[0] ?? '', name, ...(conv.input ?? []).slice(2)];
    });
    graph.node = (graph.node ?? []).filter((n) => n !== gather);
    folded += 1;
  }
  return folded;
}

/** Every simplification, in place (each exact in float); returns what was done. */
export function simplify(model: ModelProto): { padsFolded: number; gathersFolded: number } {
  const result = { padsFolded: foldPadIntoMaxPool(model), gathersFolded: foldInputChannelGather(model) };
  dropUnusedInitializers(model);
  return result;
}

function dropUnusedInitializers(model: ModelProto): void {
  const graph = model.graph;
  if (!graph) return;
  const used = new Set<string>((graph.output ?? []).map((o) => o.name ?? ''));
  for (const node of graph.node ?? []) for (const input of node.input ?? []) used.add(input);
  const dropped = new Set((graph.initializer ?? []).filter((t) => !used.has(t.name ?? '')).map((t) => t.name ?? ''));
  graph.initializer = (graph.initializer ?? []).filter((t) => !dropped.has(t.name ?? ''));
  // Old models (IR < 4) also list initializers as graph inputs: those must go with them.
  graph.input = (graph.input ?? []).filter((i) => !dropped.has(i.name ?? ''));
}
