/**
 * An int32 placeholder (MoveNet takes its 0..255 pixels as int32): the ONNX input stays float32 NCHW, our
 * preprocessing contract, and the graph casts it to int32 itself, truncating toward zero as tf.cast does, before the
 * model's own Cast back to float. Fed fractional values, the ONNX model must match tfjs fed the truncated integers.
 */
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { convertTfGraph } from '../../scripts/tfjs2onnx/convert.ts';
import { A, TinyGraph } from './tiny-graph.ts';

const conv = { strides: A.ints([1, 1, 1, 1]), padding: A.s('SAME'), data_format: A.s('NHWC'), dilations: A.ints([1, 1, 1, 1]) };

function intInputGraph(): TinyGraph {
  const g = new TinyGraph();
  const x = g.input('x', [1, 5, 6, 3], 'int32');
  const f = g.op('f', 'Cast', [x], { SrcT: A.type('DT_INT32'), DstT: A.type('DT_FLOAT'), Truncate: A.b(false) });
  // MoveNet's own normalisation: (x - 0) * (1/127.5) - 1, then a convolution.
  const n = g.op('n', 'Sub', [g.op('s', 'Mul', [g.op('z', 'Sub', [f, g.const('zero', [1, 1, 1, 3], [0, 0, 0])]), g.const('k', [1, 1, 1, 3], [1 / 127.5, 1 / 127.5, 1 / 127.5])]), g.const('one', [], [1])]);
  g.op('c', 'Conv2D', [n, g.const('w', [3, 3, 3, 4])], conv);
  return g;
}

describe('int32 placeholders', () => {
  it('float32 ONNX input, truncated to int32 in the graph, matches tfjs fed the integers', async () => {
    const diffs = await intInputGraph().check(['f', 'c']);
    expect(diffs[0].maxAbs).toBe(0); // the cast pixels are the same integers
    expect(diffs[1].maxRel).toBeLessThan(1e-5);
  });

  it('declares a float32 input and starts with Cast(to int32)', () => {
    const bytes = convertTfGraph(intInputGraph().graph(), { inputs: [{ name: 'x', shape: [1, 5, 6, 3] }], outputs: ['c'] });
    const graph = onnxProto.onnx.ModelProto.decode(bytes).graph!;
    expect(graph.input![0].type!.tensorType!.elemType).toBe(onnxProto.onnx.TensorProto.DataType.FLOAT);
    const first = graph.node!.find((n) => n.input!.includes('x'))!;
    expect(first.opType).toBe('Cast');
    expect(Number(first.attribute!.find((a) => a.name === 'to')!.i)).toBe(onnxProto.onnx.TensorProto.DataType.INT32);
  });
});
