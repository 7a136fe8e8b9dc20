/**
 * int8 quantization: the arithmetic as pure functions, then the whole QDQ rewrite on a real model
 * (ssd-mobilenetv1-face, the default face model, built by `npm run models`) calibrated on real photos and run by
 * onnxruntime-node.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { onnxPath, readManifest } from '../../src/detect/manifest.ts';
import { calibrate } from '../../scripts/quantize/calibrate.ts';
import { calibrationFeeds, sampleImages, toInputTensor, type InputSpec } from '../../scripts/quantize/calibration-images.ts';
import { DataType, loadModel, saveModel, attribute } from '../../scripts/quantize/onnx-model.ts';
import { applyQdq, headNodes, planQuantization } from '../../scripts/quantize/qdq.ts';
import { activationParams, quantizeBias, quantizeWeights, tensorRange } from '../../scripts/quantize/quant-math.ts';

describe('quantization arithmetic', () => {
  it('maps an activation range to uint8 with 0 exactly representable', () => {
    const p = activationParams(-1, 3);
    expect(p.scale).toBeCloseTo(4 / 255, 9);
    expect(p.zeroPoint).toBe(64);
    // A ReLU output: zero point 0, so ONNX Runtime can drop the ReLU.
    expect(activationParams(0.5, 6).zeroPoint).toBe(0);
    expect(activationParams(0, 6).scale).toBeCloseTo(6 / 255, 9);
    expect(activationParams(2, 2)).toEqual({ scale: 2 / 255, zeroPoint: 0 });
    expect(activationParams(0, 0)).toEqual({ scale: 1, zeroPoint: 0 });
  });

  it('quantizes weights per output channel, symmetric, within [-127, 127]', () => {
    // Two output channels of 3 weights with very different magnitudes.
    const w = Float32Array.of(0.5, -1, 0.25, 10, -20, 5);
    const q = quantizeWeights(w, [2, 3, 1, 1], true);
    expect(Array.from(q.scales)).toEqual([Math.fround(1 / 127), Math.fround(20 / 127)]);
    expect(Array.from(q.data)).toEqual([64, -127, 32, 64, -127, 32]);
    const perTensor = quantizeWeights(w, [2, 3, 1, 1], false);
    expect(perTensor.scales.length).toBe(1);
    // Per tensor, the small channel loses most of its resolution: why Conv weights go per channel.
    expect(Array.from(perTensor.data.slice(0, 3))).toEqual([3, -6, 2]);
    expect(quantizeWeights(new Float32Array(4), [1, 4], true).scales[0]).toBe(1);
  });

  it('quantizes a bias with scale input x weight scale per channel', () => {
    const b = quantizeBias(Float32Array.of(0.3, -2), 0.1, Float32Array.of(0.01, 0.5));
    expect(Array.from(b.data)).toEqual([300, -40]);
    expect(b.scales[0]).toBeCloseTo(0.001, 9);
    expect(b.scales[1]).toBeCloseTo(0.05, 6);
  });

  it('takes min/max, or a percentile at both ends that ignores outliers', () => {
    const values = new Float32Array(10_001).map((_, i) => i / 10_000);
    values[5] = 1000;
    values[6] = -1000;
    expect(tensorRange(values)).toEqual([-1000, 1000]);
    const [lo, hi] = tensorRange(values, 99.9);
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThanOrEqual(1);
    expect(hi).toBeGreaterThan(0.99);
  });
});

const MODEL = 'ssd-mobilenetv1-face';
const built = existsSync(onnxPath(MODEL));
const dir = mkdtempSync(join(tmpdir(), 'raypack-quantize-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!built)(`QDQ int8 copy of ${MODEL}`, () => {
  it('is valid ONNX that ONNX Runtime fuses into integer kernels and that keeps the float outputs', { timeout: 120_000 }, async () => {
    const manifest = readManifest(MODEL);
    const spec: InputSpec = { ...manifest.input, name: manifest.input.name };
    const model = loadModel(onnxPath(MODEL));
    const plan = planQuantization(model, { floatHead: true });
    expect(plan.perChannel).toBe(true);
    expect(plan.activations.length).toBeGreaterThan(10);
    // The head nodes are the ones writing the graph outputs.
    const outputs = new Set((model.graph?.output ?? []).map((o) => o.name));
    for (const name of outputs) expect(headNodes(model).has(name ?? '')).toBe(true);

    const [first, second, third, , , heldOut] = sampleImages();
    const ranges = await calibrate(model, plan.activations, calibrationFeeds([first, second, third], spec), { percentile: 99.9 });
    expect(ranges.size).toBeGreaterThan(10);
    const summary = applyQdq(model, plan, ranges);
    expect(summary.quantizedWeights).toBeGreaterThan(10);
    const ops = (model.graph?.node ?? []).map((n) => n.opType);
    expect(ops).toContain('QuantizeLinear');
    expect(ops).toContain('DequantizeLinear');
    const int8Weights = (model.graph?.initializer ?? []).filter((t) => t.dataType === DataType.INT8 && (t.dims ?? []).length > 1);
    expect(int8Weights.length).toBe(summary.quantizedWeights);
    const perChannelDq = (model.graph?.node ?? []).filter((n) => n.opType === 'DequantizeLinear' && attribute(n, 'axis'));
    expect(perChannelDq.length).toBeGreaterThan(0);

    const int8Path = join(dir, `${MODEL}.int8.onnx`);
    const optimizedPath = join(dir, `${MODEL}.int8.optimized.onnx`);
    saveModel(model, int8Path);
    const int8 = await ort.InferenceSession.create(int8Path, { optimizedModelFilePath: optimizedPath });
    const fp32 = await ort.InferenceSession.create(onnxPath(MODEL));
    const fusedOps = (loadModel(optimizedPath).graph?.node ?? []).map((n) => n.opType);
    // Every Conv runs as QLinearConv except the float heads (the Convs that write the outputs).
    const headConvs = (model.graph?.node ?? []).filter((n) => n.opType === 'Conv' && plan.floatNodes.has(n.output?.[0] ?? '')).length;
    expect(fusedOps.filter((op) => op === 'QLinearConv').length).toBe(summary.quantizedWeights);
    expect(fusedOps.filter((op) => op === 'Conv').length).toBe(headConvs);

    // On a photo not used for calibration, the face scores stay close to the float model's (RMS error relative
    // to the scores' own RMS), and the strongest face keeps its place.
    const feed = { [spec.name]: await toInputTensor(heldOut, spec) };
    const [a, b] = [await fp32.run(feed), await int8.run(feed)];
    const x = a.class_scores.data as Float32Array;
    const y = b.class_scores.data as Float32Array;
    let diff = 0;
    let norm = 0;
    for (let i = 0; i < x.length; i++) {
      diff += (x[i] - y[i]) ** 2;
      norm += x[i] ** 2;
    }
    expect(Math.sqrt(diff / norm)).toBeLessThan(0.1);
    const best = x.reduce((top, value, i) => (value > x[top] ? i : top), 0);
    expect(Math.abs(y[best] - x[best])).toBeLessThan(0.1);
    await Promise.all([int8.release(), fp32.release()]);
  });
});
