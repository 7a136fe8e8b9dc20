/**
 * Parity of the converted pose model with tfjs (see parity-harness.ts) on a photo of six people: all six head maps
 * the ONNX model returns (the graph is cut before its post-processing; the decoder is checked against the graph's
 * own [1,6,56] output in test/detect/movenet-reference.test.ts). The tfjs graph takes int32 pixels, the ONNX model
 * the same values as float32 and casts them itself.
 */
import { afterAll, describe, expect, it } from 'vitest';
import onnxProto from 'onnx-proto';
import { readManifest } from '../../src/detect/manifest.ts';
import { modelSource } from '../../scripts/build-models.ts';
import { convertTfGraph } from '../../scripts/tfjs2onnx/convert.ts';
import { PARITY_TOLERANCE, parityOf } from './parity-harness.ts';

const report: string[] = [];

describe('converted pose model matches tfjs on a real photo (sample5.jpg, six people)', () => {
  afterAll(() => {
    console.log(`parity (max abs / max rel to the output's largest |value|):\n${report.join('\n')}`);
  });

  it('movenet-multipose: centre, keypoint heatmap, keypoint regression and offsets, box size and offset', { timeout: 120_000 }, async () => {
    const m = readManifest('movenet-multipose');
    const diffs = await parityOf(m, 'sample5.jpg', report);
    expect(diffs).toHaveLength(6);
    diffs.forEach((d, k) => expect(d.maxRel, m.outputs[k]).toBeLessThan(PARITY_TOLERANCE));
  });

  it('takes float32 NCHW and casts to int32 inside the graph; no post-processing op is left in the file', async () => {
    const m = readManifest('movenet-multipose');
    const { graph, options } = await modelSource(m).load();
    const model = onnxProto.onnx.ModelProto.decode(convertTfGraph(graph, options));
    const input = model.graph!.input![0];
    expect(input.name).toBe('input');
    expect(input.type!.tensorType!.elemType).toBe(onnxProto.onnx.TensorProto.DataType.FLOAT);
    expect(input.type!.tensorType!.shape!.dim!.map((d) => Number(d.dimValue))).toEqual([1, 3, 256, 256]);
    const ops = new Set(model.graph!.node!.map((n) => n.opType));
    expect(ops.has('Cast')).toBe(true);
    for (const op of ['TopK', 'GatherND', 'ArgMax', 'Where']) expect(ops.has(op), op).toBe(false);
    expect(model.graph!.output!.map((o) => o.name)).toEqual(m.outputs);
  });
});
