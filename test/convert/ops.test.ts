/**
 * One tiny graph per op family, converted and compared with tfjs. Odd spatial sizes make TF 'SAME' padding
 * asymmetric; shapes with distinct dimensions make a wrong axis mapping (NHWC vs NCHW) fail instead of passing
 * by symmetry.
 */
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { convertTfGraph } from '../../scripts/tfjs2onnx/convert.ts';
import { A, TinyGraph } from './tiny-graph.ts';

const TOL = 1e-5;

async function expectParity(g: TinyGraph, outputs: string[], options?: Parameters<TinyGraph['check']>[1]): Promise<void> {
  const diffs = await g.check(outputs, options);
  diffs.forEach((d, k) => expect(d.maxRel, `${outputs[k]}: max abs ${d.maxAbs}`).toBeLessThan(TOL));
}

const conv = (strides: number[], padding: string, extra: Record<string, unknown> = {}) => ({
  strides: A.ints(strides),
  padding: A.s(padding),
  data_format: A.s('NHWC'),
  dilations: A.ints([1, 1, 1, 1]),
  ...extra,
});

describe('convolutions', () => {
  it('Conv2D / _FusedConv2D: SAME with odd sizes and stride 2, VALID with dilation, fused activations', async () => {
    const g = new TinyGraph();
    const x = g.input('x', [1, 7, 9, 4]);
    g.op('c1', '_FusedConv2D', [x, g.const('w1', [3, 3, 4, 6]), g.const('b1', [6])], conv([1, 2, 2, 1], 'SAME', { fused_ops: A.strs(['BiasAdd', 'Relu6']), num_args: A.i(1) }));
    g.op('c2', 'Conv2D', [x, g.const('w2', [3, 2, 4, 5])], conv([1, 1, 1, 1], 'VALID', { dilations: A.ints([1, 2, 1, 1]) }));
    g.op('c3', '_FusedConv2D', [x, g.const('w3', [1, 1, 4, 3]), g.const('b3', [3])], conv([1, 1, 1, 1], 'SAME', { fused_ops: A.strs(['BiasAdd', 'LeakyRelu']), leakyrelu_alpha: A.f(0.1), num_args: A.i(1) }));
    g.op('c4', '_FusedConv2D', [x, g.const('w4', [2, 2, 4, 3]), g.const('b4', [3])], conv([1, 2, 3, 1], 'SAME', { fused_ops: A.strs(['BiasAdd', 'Elu']), num_args: A.i(1) }));
    await expectParity(g, ['c1', 'c2', 'c3', 'c4']);
  });

  it('depthwise: multiplier 2, SAME stride 2; fused BiasAdd + Relu', async () => {
    const g = new TinyGraph();
    const x = g.input('x', [1, 9, 6, 3]);
    g.op('d1', 'DepthwiseConv2dNative', [x, g.const('w1', [3, 3, 3, 2])], conv([1, 2, 2, 1], 'SAME'));
    g.op('d2', 'FusedDepthwiseConv2dNative', [x, g.const('w2', [5, 3, 3, 1]), g.const('b2', [3])], conv([1, 1, 1, 1], 'SAME', { fused_ops: A.strs(['BiasAdd', 'Relu']), num_args: A.i(1) }));
    await expectParity(g, ['d1', 'd2']);
  });
});

describe('pooling, resize, depth-to-space', () => {
  it('MaxPool and AvgPool, SAME (padding not counted) and VALID', async () => {
    const g = new TinyGraph();
    const x = g.input('x', [1, 7, 10, 3]);
    const pool = (ksize: number[], strides: number[], padding: string) => ({ ksize: A.ints(ksize), strides: A.ints(strides), padding: A.s(padding), data_format: A.s('NHWC') });
    g.op('m1', 'MaxPool', [x], pool([1, 3, 3, 1], [1, 2, 2, 1], 'SAME'));
    g.op('a1', 'AvgPool', [x], pool([1, 3, 3, 1], [1, 2, 2, 1], 'SAME'));
    g.op('a2', 'AvgPool', [x], pool([1, 2, 3, 1], [1, 2, 1, 1], 'VALID'));
    await expectParity(g, ['m1', 'a1', 'a2']);
  });

  it('ResizeBilinear: half_pixel_centers, align_corners, neither (up and non-integer scales)', async () => {
    const g = new TinyGraph();
    const x = g.input('x', [1, 5, 7, 3]);
    g.op('r1', 'ResizeBilinear', [x, g.ints('s1', [10, 14])], { half_pixel_centers: A.b(true), align_corners: A.b(false) });
    g.op('r2', 'ResizeBilinear', [x, g.ints('s2', [8, 11])], { half_pixel_centers: A.b(false), align_corners: A.b(true) });
    g.op('r3', 'ResizeBilinear', [x, g.ints('s3', [8, 11])], { half_pixel_centers: A.b(false), align_corners: A.b(false) });
    g.op('r4', 'ResizeBilinear', [x, g.ints('s4', [3, 4])], { half_pixel_centers: A.b(true), align_corners: A.b(false) });
    await expectParity(g, ['r1', 'r2', 'r3', 'r4']);
  });

  it('DepthToSpace (TF order = ONNX DCR)', async () => {
    const g = new TinyGraph();
    const x = g.input('x', [1, 3, 4, 12]);
    g.op('d', 'DepthToSpace', [x], { block_size: A.i(2), data_format: A.s('NHWC') });
    await expectParity(g, ['d']);
  });
});

describe('axis-mapped ops on NHWC activations held as NCHW', () => {
  it('ConcatV2 on channels (axis 3 and -1) and on height (axis 1)', async () => {
    const g = new TinyGraph();
    const x = g.input('x', [1, 5, 6, 3]);
    const y = g.op('y', 'Relu', [x]);
    g.op('cc', 'ConcatV2', [x, y, g.ints('ax3', [3], [])], { N: A.i(2) });
    g.op('cm', 'ConcatV2', [y, x, g.ints('axm', [-1], [])], { N: A.i(2) });
    g.op('ch', 'ConcatV2', [x, y, x, g.ints('ax1', [1], [])], { N: A.i(3) });
    await expectParity(g, ['cc', 'cm', 'ch']);
  });

  it('Mean over H,W with and without keep_dims, over channels; broadcasting back onto the activation', async () => {
    const g = new TinyGraph();
    const x = g.input('x', [1, 4, 6, 5]);
    g.op('mk', 'Mean', [x, g.ints('hw', [1, 2])], { keep_dims: A.b(true) });
    const m = g.op('m', 'Mean', [x, g.ints('hw2', [1, 2])], { keep_dims: A.b(false) });
    g.op('mc', 'Mean', [x, g.ints('c', [3])], { keep_dims: A.b(false) });
    // [1,5] * [1,4,6,5]: a lower-rank computed operand broadcast against the NCHW-held activation.
    g.op('se', 'Mul', [m, x]);
    await expectParity(g, ['mk', 'm', 'mc', 'se']);
  });

  it('Pad and PadV2 with asymmetric paddings on H and W', async () => {
    const g = new TinyGraph();
    const x = g.input('x', [1, 4, 5, 3]);
    g.op('p', 'Pad', [x, g.ints('pads', [0, 0, 1, 2, 3, 0, 0, 0], [4, 2])]);
    g.op('p2', 'PadV2', [x, g.ints('pads2', [0, 0, 0, 1, 2, 1, 0, 1], [4, 2]), g.const('v', [], [-1.5])]);
    g.op('p3', 'MirrorPad', [x, g.ints('pads3', [0, 0, 2, 1, 0, 3, 0, 0], [4, 2])], { mode: A.s('REFLECT') });
    await expectParity(g, ['p', 'p2', 'p3']);
  });

  it('SplitV on channels (with -1) and on width', async () => {
    const g = new TinyGraph();
    const x = g.input('x', [1, 3, 6, 5]);
    g.op('s', 'SplitV', [x, g.ints('sizes', [2, -1]), g.ints('axis', [3], [])], { num_split: A.i(2) });
    g.op('w', 'SplitV', [x, g.ints('sizes2', [1, 2, 3]), g.ints('axis2', [-2], [])], { num_split: A.i(3) });
    g.op('e', 'Split', [g.ints('axis3', [2], []), x], { num_split: A.i(2) });
    // Pack of computed tensors: each gets a new axis in TF order, then they are concatenated.
    g.op('pk', 'Pack', ['e', 'e:1'], { N: A.i(2), axis: A.i(1) });
    await expectParity(g, ['s', 's:1', 'w', 'w:1', 'w:2', 'e:1', 'pk']);
  });

  it('StridedSlice with masks, strides, negative stride and a shrunk axis', async () => {
    const g = new TinyGraph();
    const x = g.input('x', [1, 7, 6, 5]);
    const masks = (begin: number, end: number, shrink = 0) => ({ begin_mask: A.i(begin), end_mask: A.i(end), shrink_axis_mask: A.i(shrink), ellipsis_mask: A.i(0), new_axis_mask: A.i(0) });
    g.op('s1', 'StridedSlice', [x, g.ints('b1', [0, 1, 0, 1]), g.ints('e1', [0, 6, 0, 4]), g.ints('t1', [1, 2, 1, 1])], masks(5, 5));
    g.op('s2', 'StridedSlice', [x, g.ints('b2', [0, 0, 0, 2]), g.ints('e2', [0, 0, 0, 3]), g.ints('t2', [1, 1, 1, 1])], masks(7, 7, 8));
    g.op('s3', 'StridedSlice', [x, g.ints('b3', [0, -1, 0, 0]), g.ints('e3', [0, 0, 0, 0]), g.ints('t3', [1, -2, 1, 1])], masks(13, 15));
    await expectParity(g, ['s1', 's2', 's3']);
  });
});

describe('element order and constant folding', () => {
  it('Reshape of an NHWC activation sees TF element order; Transpose is tracked for free', async () => {
    const g = new TinyGraph();
    const x = g.input('x', [1, 3, 4, 5]);
    const r = g.op('relu', 'Relu', [x]);
    g.op('flat', 'Reshape', [r, g.ints('shape', [1, -1, 5])]);
    const t = g.op('t', 'Transpose', [r, g.ints('perm', [0, 3, 1, 2])]);
    g.op('tflat', 'Reshape', [t, g.ints('shape2', [1, 5, -1])]);
    g.op('tt', 'Transpose', [t, g.ints('perm2', [0, 2, 3, 1])]);
    await expectParity(g, ['flat', 'tflat', 'tt', 't']);
  });

  it('Shape → StridedSlice → Pack → Reshape folds to a constant shape; ExpandDims, Squeeze, Cast', async () => {
    const g = new TinyGraph();
    const x = g.input('x', [1, 4, 4, 8]);
    const d2s = g.op('d2s', 'DepthToSpace', [x], { block_size: A.i(2), data_format: A.s('NHWC') });
    const shape = g.op('shape', 'Shape', [d2s], { out_type: A.type('DT_INT32') });
    const n = g.op('n', 'StridedSlice', [shape, g.ints('sb', [0]), g.ints('se', [1]), g.ints('ss', [1])], { begin_mask: A.i(0), end_mask: A.i(0), shrink_axis_mask: A.i(1), ellipsis_mask: A.i(0), new_axis_mask: A.i(0), T: A.type('DT_INT32') });
    const packed = g.op('packed', 'Pack', [n, g.ints('m1', [-1], []), g.ints('c', [1], [])], { N: A.i(3), axis: A.i(0), T: A.type('DT_INT32') });
    const r = g.op('r', 'Reshape', [d2s, packed]);
    const e = g.op('e', 'ExpandDims', [r, g.ints('ax', [0], [])]);
    g.op('sq', 'Squeeze', [e], { squeeze_dims: A.ints([0]) });
    g.op('cast', 'Cast', [r], { SrcT: A.type('DT_FLOAT'), DstT: A.type('DT_INT32') });
    await expectParity(g, ['r', 'e', 'sq', 'cast']);
  });

  it('binary ops: constants of lower rank, scalars, Sub/Mul/Add/AddV2/hard-swish pattern', async () => {
    const g = new TinyGraph();
    const x = g.input('x', [1, 3, 5, 4]);
    const c = g.const('bias', [4]);
    const a = g.op('a', 'AddV2', [x, c]);
    const m = g.op('m', 'Mul', [g.const('k', [], [0.1666666]), a]);
    const h = g.op('h', 'Relu6', [g.op('add3', 'Add', [a, g.const('three', [], [3])])]);
    g.op('hs', 'Mul', [m, h]);
    g.op('sub', 'Sub', [g.const('row', [5, 1]), x]);
    g.op('sig', 'Sigmoid', [g.op('lr', 'LeakyRelu', [x], { alpha: A.f(0.1) })]);
    await expectParity(g, ['hs', 'sub', 'sig']);
  });
});

describe('graphs exported NCHW (onnx-tf style) and BGR inputs', () => {
  it('NCHW placeholder with Transposes around an NHWC conv, channel split, sigmoid, reshape', async () => {
    const g = new TinyGraph();
    const x = g.input('x', [1, 3, 8, 6]);
    const p = g.op('pad', 'Pad', [x, g.ints('pads', [0, 0, 0, 0, 1, 1, 1, 1], [4, 2])]);
    const t1 = g.op('t1', 'Transpose', [p, g.ints('to_nhwc', [0, 2, 3, 1])]);
    const cv = g.op('cv', 'Conv2D', [t1, g.const('w', [3, 3, 3, 6])], conv([1, 1, 1, 1], 'VALID'));
    const add = g.op('add', 'Add', [cv, g.const('b', [6])]);
    const t2 = g.op('t2', 'Transpose', [add, g.ints('to_nchw', [0, 3, 1, 2])]);
    const lr = g.op('lr', 'LeakyRelu', [t2], { alpha: A.f(0.1) });
    g.op('split', 'SplitV', [lr, g.ints('sizes', [2, 4]), g.ints('axis', [1], [])], { num_split: A.i(2) });
    const s = g.op('sig', 'Sigmoid', ['split']);
    g.op('r', 'Reshape', [s, g.ints('shape', [1, 2, -1])]);
    g.op('r2', 'Transpose', [g.op('rr', 'Reshape', ['split:1', g.ints('shape2', [1, 4, -1])]), g.ints('p3', [0, 2, 1])]);
    await expectParity(g, ['r', 'r2'], { nchwInputs: ['x'] });
  });

  it('channelOrder BGR: the ONNX model takes RGB and matches tfjs fed BGR', async () => {
    const g = new TinyGraph();
    const x = g.input('x', [1, 5, 4, 3]);
    g.op('c', 'Conv2D', [x, g.const('w', [1, 1, 3, 2])], conv([1, 1, 1, 1], 'VALID'));
    await expectParity(g, ['c'], { bgr: true });
  });
});

function opCounts(bytes: Uint8Array): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const n of onnxProto.onnx.ModelProto.decode(bytes).graph!.node!) counts[n.opType!] = (counts[n.opType!] ?? 0) + 1;
  return counts;
}

describe('peephole folds', () => {
  function padConvAdd(): TinyGraph {
    const g = new TinyGraph();
    const x = g.input('x', [1, 6, 7, 3]);
    const p = g.op('p', 'Pad', [x, g.ints('pads', [0, 0, 1, 2, 2, 1, 0, 0], [4, 2])]);
    const c = g.op('c', 'Conv2D', [p, g.const('w', [3, 3, 3, 4])], conv([1, 2, 2, 1], 'VALID'));
    g.op('biased', 'AddV2', [c, g.const('b', [4])]);
    // A channel pad cannot become Conv padding; a conv read twice cannot take the Add as its bias.
    const pc = g.op('pc', 'Pad', [x, g.ints('cpads', [0, 0, 0, 0, 0, 0, 1, 2], [4, 2])]);
    const c2 = g.op('c2', 'Conv2D', [pc, g.const('w2', [1, 1, 6, 2])], conv([1, 1, 1, 1], 'VALID'));
    g.op('twice', 'AddV2', [c2, g.const('b2', [2])]);
    g.op('relu2', 'Relu', [c2]);
    return g;
  }

  it('Pad (spatial, zero) folds into the Conv and a per-channel Add into its bias; other cases are kept', async () => {
    const g = padConvAdd();
    await expectParity(g, ['biased', 'twice', 'relu2']);
    const counts = opCounts(convertTfGraph(g.graph(), { inputs: [{ name: 'x', shape: [1, 6, 7, 3] }], outputs: ['biased', 'twice', 'relu2'] }));
    expect(counts.Pad).toBe(1); // the channel pad
    expect(counts.Add).toBe(1); // the Add of the conv that is also read by Relu
    expect(counts.Conv).toBe(2);
  });
});

describe('converter contract', () => {
  it('names the node of an unsupported op', () => {
    const g = new TinyGraph();
    const x = g.input('x', [1, 4]);
    g.op('topk', 'TopKV2', [x, g.ints('k', [2], [])]);
    expect(() => convertTfGraph(g.graph(), { inputs: [{ name: 'x', shape: [1, 4] }], outputs: ['topk'] })).toThrow(/node topk \(TopKV2\): unsupported op TopKV2/);
  });

  it('rejects a node name defined twice', () => {
    const g = new TinyGraph();
    const x = g.input('x', [1, 4]);
    g.op('x', 'Relu', [x]);
    expect(() => convertTfGraph(g.graph(), { inputs: [{ name: 'x', shape: [1, 4] }], outputs: ['x'] })).toThrow(/node x \(Relu\): node name defined twice/);
  });

  it('cuts the graph at the requested outputs (ops after them are never visited) and is deterministic', () => {
    const g = new TinyGraph();
    const x = g.input('x', [1, 4, 4, 2]);
    const r = g.op('r', 'Relu', [x]);
    g.op('topk', 'TopKV2', [r, g.ints('k', [2], [])]);
    const options = { inputs: [{ name: 'x', shape: [1, 4, 4, 2] }], outputs: ['r'], outputNames: ['relu_out'] };
    const a = convertTfGraph(g.graph(), options);
    const b = convertTfGraph(g.graph(), options);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });
});
