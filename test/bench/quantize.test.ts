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
import { applyQdq, headNodes, mergeGroups, planQuantization, weightRangeFor } from '../../scripts/quantize/qdq.ts';
import { PAIR_SUM_LIMIT, activationParams, isPairBounded, quantizeBias, quantizeWeights, tensorRange } from '../../scripts/quantize/quant-math.ts';
import { convInputMeans, offsetMeans, outputShift, quantizedConvs, type ConvGeometry } from '../../scripts/quantize/bias-correction.ts';
import { parsePercentiles } from '../../scripts/quantize.ts';
import { simplify } from '../../scripts/quantize/simplify.ts';

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

  it('pair-bounds weights: no two in a channel sum past 128 in magnitude, so 255 x (|w1| + |w2|) fits int16', () => {
    expect(255 * PAIR_SUM_LIMIT).toBeLessThanOrEqual(32767);
    // Channel 0: one weight stands out, so it keeps 8-bit resolution (scale from (largest + second) / 128).
    // Channel 1: two equal largest weights, so both end at 64 (7 bits).
    const w = Float32Array.of(1, 0.1, -0.05, 0, 1, -1, 0.5, 0.25);
    const q = quantizeWeights(w, [2, 4, 1, 1], true, 'pair-bounded');
    expect(q.scales[0]).toBeCloseTo(1.1 / 128, 6);
    expect(Array.from(q.data.slice(0, 4))).toEqual([116, 12, -6, 0]);
    expect(q.scales[1]).toBeCloseTo(2 / 128, 6);
    expect(Array.from(q.data.slice(4))).toEqual([64, -64, 32, 16]);
    expect(isPairBounded(q.data, 2)).toBe(true);
    // A lone weight keeps the full int8 range; the plain range would break the bound.
    expect(Array.from(quantizeWeights(Float32Array.of(0, 3, 0), [1, 3], true, 'pair-bounded').data)).toEqual([0, 127, 0]);
    expect(isPairBounded(quantizeWeights(w, [2, 4, 1, 1], true, 'full').data, 2)).toBe(false);
    // Rounding cannot push the pair over: the largest is capped at 128 minus the second largest.
    let seed = 11;
    const next = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    const random = Float32Array.from({ length: 64 * 27 }, next);
    expect(isPairBounded(quantizeWeights(random, [64, 3, 3, 3], true, 'pair-bounded').data, 64)).toBe(true);
    expect(isPairBounded(quantizeWeights(random, [64, 3, 3, 3], false, 'pair-bounded').data, 1)).toBe(true);
  });

  it('keeps the full int8 range only for depthwise convs (their kernels widen every product)', () => {
    const conv = (group: number): { opType: string; attribute: { name: string; type: number; i: number }[] } => ({ opType: 'Conv', attribute: [{ name: 'group', type: 2, i: group }] });
    expect(weightRangeFor(conv(32), [32, 1, 3, 3])).toBe('full');
    expect(weightRangeFor(conv(1), [32, 16, 1, 1])).toBe('pair-bounded');
    // Grouped (not depthwise) and depthwise with a channel multiplier go through GEMM-style kernels.
    expect(weightRangeFor(conv(4), [32, 8, 3, 3])).toBe('pair-bounded');
    expect(weightRangeFor(conv(16), [32, 1, 3, 3])).toBe('pair-bounded');
    expect(weightRangeFor({ opType: 'MatMul' }, [64, 10])).toBe('pair-bounded');
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

/** Mean over output positions of a plain (group 1) convolution, computed the slow way: the reference. */
function naiveConvMeans(x: Float32Array, c: number, h: number, w: number, weights: Float32Array, out: number, g: ConvGeometry): number[] {
  const outH = Math.floor((h + g.padTop + g.padBottom - g.dilationH * (g.kernelH - 1) - 1) / g.strideH) + 1;
  const outW = Math.floor((w + g.padLeft + g.padRight - g.dilationW * (g.kernelW - 1) - 1) / g.strideW) + 1;
  const means: number[] = [];
  for (let o = 0; o < out; o++) {
    let sum = 0;
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        for (let i = 0; i < c; i++) {
          for (let kh = 0; kh < g.kernelH; kh++) {
            for (let kw = 0; kw < g.kernelW; kw++) {
              const y = oh * g.strideH + kh * g.dilationH - g.padTop;
              const xx = ow * g.strideW + kw * g.dilationW - g.padLeft;
              if (y < 0 || y >= h || xx < 0 || xx >= w) continue;
              sum += weights[((o * c + i) * g.kernelH + kh) * g.kernelW + kw] * x[(i * h + y) * w + xx];
            }
          }
        }
      }
    }
    means.push(sum / (outH * outW));
  }
  return means;
}

describe('bias correction arithmetic', () => {
  const same3x3: ConvGeometry = { kernelH: 3, kernelW: 3, strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1 };

  it('takes the mean of each input channel at each kernel offset, padding counted as 0', () => {
    const x = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9); // one 3x3 channel
    const m = offsetMeans(x, 1, 3, 3, same3x3);
    expect(m[4]).toBeCloseTo(5, 12); // the centre tap sees every pixel once
    expect(m[0]).toBeCloseTo((1 + 2 + 4 + 5) / 9, 12); // top-left tap: 4 of 9 positions inside the image
    expect(m[8]).toBeCloseTo((5 + 6 + 8 + 9) / 9, 12);
  });

  it('gives the exact mean output shift of rounded weights, with strides and TF-style asymmetric padding', () => {
    // Deterministic pseudo-random input and weights; TF "SAME" stride 2 pads only bottom/right.
    const g: ConvGeometry = { ...same3x3, strideH: 2, strideW: 2, padTop: 0, padLeft: 0 };
    const [c, h, w, out] = [3, 7, 6, 4];
    let seed = 7;
    const next = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    const x = Float32Array.from({ length: c * h * w }, next);
    const weights = Float32Array.from({ length: out * c * 9 }, next);
    const q = quantizeWeights(weights, [out, c, 3, 3], true);
    const dequantized = Float32Array.from(q.data, (v, i) => v * q.scales[Math.floor(i / (c * 9))]);
    const shift = outputShift(weights, dequantized, [out, c, 3, 3], 1, offsetMeans(x, c, h, w, g));
    const before = naiveConvMeans(x, c, h, w, weights, out, g);
    const after = naiveConvMeans(x, c, h, w, dequantized, out, g);
    for (let o = 0; o < out; o++) expect(shift[o]).toBeCloseTo(after[o] - before[o], 10);
    expect(shift.some((v) => Math.abs(v) > 1e-5)).toBe(true);
  });

  it('maps each depthwise output channel to its own input channel', () => {
    // group = 2, one input channel per group: channel 1's shift uses only channel 1's means.
    const means = Float64Array.of(10, 0.5); // 1x1 kernel
    const shift = outputShift(Float32Array.of(1, 1), Float32Array.of(1.1, 0.8), [2, 1, 1, 1], 2, means);
    expect(shift[0]).toBeCloseTo(1, 6);
    expect(shift[1]).toBeCloseTo(-0.1, 6);
  });

  it('merges scale groups that share a tensor', () => {
    expect(mergeGroups([['a', 'b'], ['c', 'd'], ['b', 'e'], ['f']])).toEqual([['a', 'b', 'e'], ['c', 'd'], ['f']]);
    expect(mergeGroups([])).toEqual([]);
  });

  it('parses the calibration percentiles', () => {
    expect(parsePercentiles(undefined)).toBeUndefined();
    expect(parsePercentiles('99.99')).toEqual([99.99]);
    expect(parsePercentiles('auto')).toEqual([100, 99.99, 99.9]);
    expect(() => parsePercentiles('abc')).toThrow();
  });
});

const MODEL = 'ssd-mobilenetv1-face';
const built = existsSync(onnxPath(MODEL));
const dir = mkdtempSync(join(tmpdir(), 'raypack-quantize-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** sqrt(sum (y - x)^2 / sum x^2): how far `y` is from the float `x`. */
function relativeError(x: Float32Array, y: Float32Array): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < x.length; i++) {
    diff += (x[i] - y[i]) ** 2;
    norm += x[i] ** 2;
  }
  return Math.sqrt(diff / norm);
}

describe.skipIf(!built)(`QDQ int8 copy of ${MODEL}`, () => {
  it('is valid ONNX that ONNX Runtime fuses into integer kernels, and bias correction brings it closer to float', { timeout: 180_000 }, async () => {
    const manifest = readManifest(MODEL);
    const spec: InputSpec = { ...manifest.input, name: manifest.input.name };
    const model = loadModel(onnxPath(MODEL));
    const plan = planQuantization(model, { floatHead: true });
    expect(plan.perChannel).toBe(true);
    expect(plan.activations.length).toBeGreaterThan(10);
    // The head: every node writing a graph output, and, through the Sigmoid and the Concat/Reshape/Transpose
    // in between, all 12 predictor convs (6 box, 6 class) of the SSD.
    const head = headNodes(model);
    const outputs = new Set((model.graph?.output ?? []).map((o) => o.name));
    for (const name of outputs) expect(head.has(name ?? '')).toBe(true);
    const nodes = model.graph?.node ?? [];
    const predictors = nodes.filter((n) => n.opType === 'Conv' && /BoxPredictor_\d\/(BoxEncoding|Class)Predictor/.test(n.name ?? ''));
    expect(predictors.length).toBe(12);
    for (const conv of predictors) expect(plan.floatNodes.has(conv.output?.[0] ?? '')).toBe(true);
    // Each Concat's group reaches back through Reshape/Transpose to the conv output it is a view of.
    expect(plan.scaleGroups.find((g) => g.includes('class_logits'))).toBeUndefined(); // float head: not planned
    const int8Plan = planQuantization(model);
    const int8Logits = int8Plan.scaleGroups.find((g) => g.includes('class_logits'));
    expect(int8Logits?.filter((name) => /ClassPredictor\/BiasAdd$/.test(name)).length).toBe(6);
    // keepFloat adds nodes by name.
    const first = nodes.find((n) => n.opType === 'Conv');
    expect(planQuantization(model, { floatHead: true, keepFloat: [first?.name ?? ''] }).floatNodes.has(first?.output?.[0] ?? '')).toBe(true);

    const [a1, a2, a3, , , heldOut] = sampleImages();
    const calibration = [a1, a2, a3];
    const ranges = await calibrate(model, plan.activations, calibrationFeeds(calibration, spec));
    expect(ranges.size).toBeGreaterThan(10);
    const { convs, weightDims } = quantizedConvs(model, plan.floatNodes);
    const means = await convInputMeans(model, convs, weightDims, calibrationFeeds(calibration, spec));
    expect(means.size).toBe(convs.length);

    const plain = loadModel(onnxPath(MODEL));
    applyQdq(plain, plan, ranges);
    const summary = applyQdq(model, plan, ranges, means);
    expect(summary.quantizedWeights).toBeGreaterThan(10);
    expect(summary.correctedBiases).toBe(summary.quantizedWeights);
    const ops = (model.graph?.node ?? []).map((n) => n.opType);
    expect(ops).toContain('QuantizeLinear');
    expect(ops).toContain('DequantizeLinear');
    const int8Weights = (model.graph?.initializer ?? []).filter((t) => t.dataType === DataType.INT8 && (t.dims ?? []).length > 1);
    expect(int8Weights.length).toBe(summary.quantizedWeights);
    const perChannelDq = (model.graph?.node ?? []).filter((n) => n.opType === 'DequantizeLinear' && attribute(n, 'axis'));
    expect(perChannelDq.length).toBeGreaterThan(0);

    const int8Path = join(dir, `${MODEL}.int8.onnx`);
    const plainPath = join(dir, `${MODEL}.int8-plain.onnx`);
    const optimizedPath = join(dir, `${MODEL}.int8.optimized.onnx`);
    saveModel(model, int8Path);
    saveModel(plain, plainPath);
    const int8 = await ort.InferenceSession.create(int8Path, { optimizedModelFilePath: optimizedPath });
    const uncorrected = await ort.InferenceSession.create(plainPath);
    const fp32 = await ort.InferenceSession.create(onnxPath(MODEL));
    const fusedOps = (loadModel(optimizedPath).graph?.node ?? []).map((n) => n.opType);
    // Every Conv runs as QLinearConv except the float heads.
    const headConvs = (model.graph?.node ?? []).filter((n) => n.opType === 'Conv' && plan.floatNodes.has(n.output?.[0] ?? '')).length;
    expect(headConvs).toBe(12);
    expect(fusedOps.filter((op) => op === 'QLinearConv').length).toBe(summary.quantizedWeights);
    expect(fusedOps.filter((op) => op === 'Conv').length).toBe(headConvs);

    // On a photo not used for calibration: the face scores stay close to the float model's, the strongest face
    // keeps its place, and bias correction moves the box encodings (the output that drifts most) closer to float.
    const feed = { [spec.name]: await toInputTensor(heldOut, spec) };
    const [a, b, c] = [await fp32.run(feed), await int8.run(feed), await uncorrected.run(feed)];
    const x = a.class_scores.data as Float32Array;
    const y = b.class_scores.data as Float32Array;
    expect(relativeError(x, y)).toBeLessThan(0.1);
    const best = x.reduce((top, value, i) => (value > x[top] ? i : top), 0);
    expect(Math.abs(y[best] - x[best])).toBeLessThan(0.1);
    const boxes = a.box_encodings.data as Float32Array;
    const corrected = relativeError(boxes, b.box_encodings.data as Float32Array);
    const plainError = relativeError(boxes, c.box_encodings.data as Float32Array);
    expect(corrected).toBeLessThan(0.8 * plainError);
    await Promise.all([int8.release(), uncorrected.release(), fp32.release()]);
  });
});

const NANODET = 'nanodet';
describe.skipIf(!existsSync(onnxPath(NANODET)))(`graph simplifications on ${NANODET}`, () => {
  it('folds the -inf Pad into the MaxPool and the RGB->BGR Gather into the first Conv, outputs unchanged', { timeout: 60_000 }, async () => {
    const manifest = readManifest(NANODET);
    const spec: InputSpec = { ...manifest.input, name: manifest.input.name };
    const model = loadModel(onnxPath(NANODET));
    const before = (model.graph?.node ?? []).map((n) => n.opType);
    expect(before).toContain('Pad');
    expect(before).toContain('Gather');
    expect(simplify(model)).toEqual({ padsFolded: 1, gathersFolded: 1 });
    const after = (model.graph?.node ?? []).map((n) => n.opType);
    expect(after).not.toContain('Pad');
    expect(after).not.toContain('Gather');
    expect(after.length).toBe(before.length - 2);
    const path = join(dir, `${NANODET}.simplified.onnx`);
    saveModel(model, path);
    const [a, b] = await Promise.all([ort.InferenceSession.create(onnxPath(NANODET)), ort.InferenceSession.create(path)]);
    const feed = { [spec.name]: await toInputTensor(sampleImages()[1], spec) };
    const [x, y] = [await a.run(feed), await b.run(feed)];
    for (const name of a.outputNames) {
      const p = x[name].data as Float32Array;
      const q = y[name].data as Float32Array;
      let worst = 0;
      for (let i = 0; i < p.length; i++) worst = Math.max(worst, Math.abs(p[i] - q[i]));
      expect(worst).toBeLessThan(1e-4);
    }
    await Promise.all([a.release(), b.release()]);
    // The SSD has neither pattern: nothing changes.
    expect(simplify(loadModel(onnxPath(MODEL)))).toEqual({ padsFolded: 0, gathersFolded: 0 });
  });
});
