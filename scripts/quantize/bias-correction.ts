/**
 * Bias correction (Nagel et al., "Data-Free Quantization", 2019, section 4.2, the empirical variant): rounding the
 * weights to int8 shifts the mean of each output channel by E[(Wq - W) * x]; adding minus that shift to the
 * channel's bias removes it. The shift is measured exactly for a Conv: the mean of every input channel at every
 * kernel offset, over all output positions (zero padding included), from the float model run on calibration
 * photos. Small shifts compound over a deep network: on the SSD face model the weight rounding alone (activations
 * left float) costs 1.7 points of AP50 on WIDER.
 */
// Types only at load time: the table application (table.ts, run at install) imports this module's pure half
// and should not load the onnxruntime-node binding; the sessions below import it when they run.
import type * as ort from 'onnxruntime-node';
import { attribute, constantTensors, dimsOf, toNumber, type ModelProto, type NodeProto } from './onnx-model.ts';
import { withObservedOutputs } from './calibrate.ts';

export interface ConvGeometry {
  readonly kernelH: number;
  readonly kernelW: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly dilationH: number;
  readonly dilationW: number;
  readonly padTop: number;
  readonly padLeft: number;
  readonly padBottom: number;
  readonly padRight: number;
}

function ints(node: NodeProto, name: string, fallback: number[]): number[] {
  const a = attribute(node, name);
  return a?.ints && a.ints.length > 0 ? a.ints.map((v) => toNumber(v)) : fallback;
}

/** A Conv node's geometry from its attributes; undefined for auto_pad other than NOTSET (shapes then unknown here). */
export function convGeometry(node: NodeProto, weightDims: readonly number[]): ConvGeometry | undefined {
  const autoPad = attribute(node, 'auto_pad')?.s;
  if (autoPad && autoPad.length > 0 && Buffer.from(autoPad).toString() !== 'NOTSET') return undefined;
  if (weightDims.length !== 4) return undefined;
  const [strideH, strideW] = ints(node, 'strides', [1, 1]);
  const [dilationH, dilationW] = ints(node, 'dilations', [1, 1]);
  const [padTop, padLeft, padBottom, padRight] = ints(node, 'pads', [0, 0, 0, 0]);
  return { kernelH: weightDims[2], kernelW: weightDims[3], strideH, strideW, dilationH, dilationW, padTop, padLeft, padBottom, padRight };
}

/**
 * For an input [C, H, W] (one image), the mean of input channel c seen at kernel offset (kh, kw) over all output
 * positions, out-of-image taps counting as 0: result[(c * kernelH + kh) * kernelW + kw].
 */
export function offsetMeans(x: Float32Array, channels: number, height: number, width: number, g: ConvGeometry): Float64Array {
  const outH = Math.floor((height + g.padTop + g.padBottom - g.dilationH * (g.kernelH - 1) - 1) / g.strideH) + 1;
  const outW = Math.floor((width + g.padLeft + g.padRight - g.dilationW * (g.kernelW - 1) - 1) / g.strideW) + 1;
  const result = new Float64Array(channels * g.kernelH * g.kernelW);
  if (outH <= 0 || outW <= 0) return result;
  // Per offset, the taps form a strided sub-grid of the input: sum the rows' strided sums.
  for (let c = 0; c < channels; c++) {
    const plane = c * height * width;
    for (let kh = 0; kh < g.kernelH; kh++) {
      for (let kw = 0; kw < g.kernelW; kw++) {
        let sum = 0;
        for (let oh = 0; oh < outH; oh++) {
          const y = oh * g.strideH + kh * g.dilationH - g.padTop;
          if (y < 0 || y >= height) continue;
          const row = plane + y * width;
          for (let ow = 0; ow < outW; ow++) {
            const xx = ow * g.strideW + kw * g.dilationW - g.padLeft;
            if (xx >= 0 && xx < width) sum += x[row + xx];
          }
        }
        result[(c * g.kernelH + kh) * g.kernelW + kw] = sum / (outH * outW);
      }
    }
  }
  return result;
}

/**
 * The mean shift of each output channel caused by replacing `weights` with `dequantized` (both OIHW, dims
 * [O, I/group, kh, kw]), given the input's offset means ([C_in, kh, kw], from offsetMeans).
 */
export function outputShift(weights: Float32Array, dequantized: Float32Array, dims: readonly number[], group: number, means: Float64Array): Float64Array {
  const [outChannels, inPerGroup, kh, kw] = dims;
  const taps = inPerGroup * kh * kw;
  const outPerGroup = outChannels / group;
  const shift = new Float64Array(outChannels);
  for (let o = 0; o < outChannels; o++) {
    const inputBase = Math.floor(o / outPerGroup) * inPerGroup * kh * kw;
    let s = 0;
    for (let t = 0; t < taps; t++) s += (dequantized[o * taps + t] - weights[o * taps + t]) * means[inputBase + t];
    shift[o] = s;
  }
  return shift;
}

/**
 * Offset means of the input of each listed Conv (key: the Conv's first output), averaged over the images, from the
 * float model. Convs whose input is not a 4-D float tensor or whose padding is implicit are left out.
 */
export async function convInputMeans(
  model: ModelProto,
  convs: readonly NodeProto[],
  weightDims: ReadonlyMap<string, readonly number[]>,
  feeds: AsyncIterable<Record<string, ort.Tensor>>,
): Promise<Map<string, Float64Array>> {
  const byInput = new Map<string, { key: string; geometry: ConvGeometry }[]>();
  for (const node of convs) {
    const key = node.output?.[0];
    const dims = key ? weightDims.get(key) : undefined;
    const geometry = dims ? convGeometry(node, dims) : undefined;
    const input = node.input?.[0];
    if (!key || !geometry || !input) continue;
    byInput.set(input, [...(byInput.get(input) ?? []), { key, geometry }]);
  }
  const graphInputs = new Set((model.graph?.input ?? []).map((i) => i.name ?? ''));
  const observed = [...byInput.keys()].filter((name) => !graphInputs.has(name));
  const session = await (await import('onnxruntime-node')).InferenceSession.create(withObservedOutputs(model, observed), { graphOptimizationLevel: 'disabled' });
  const sums = new Map<string, Float64Array>();
  let images = 0;
  try {
    for await (const feed of feeds) {
      const outputs = { ...feed, ...(await session.run(feed)) };
      for (const [input, users] of byInput) {
        const value = outputs[input];
        if (!value || value.type !== 'float32' || value.dims.length !== 4) continue;
        const [, channels, height, width] = value.dims as number[];
        for (const { key, geometry } of users) {
          const means = offsetMeans(value.data as Float32Array, channels, height, width, geometry);
          const sum = sums.get(key);
          if (!sum) sums.set(key, means);
          else for (let i = 0; i < sum.length; i++) sum[i] += means[i];
        }
      }
      images += 1;
    }
  } finally {
    await session.release();
  }
  for (const sum of sums.values()) for (let i = 0; i < sum.length; i++) sum[i] /= Math.max(1, images);
  return sums;
}

/** The Convs a plan quantizes, with their weight dims: what convInputMeans needs. */
export function quantizedConvs(model: ModelProto, floatNodes: ReadonlySet<string>): { convs: NodeProto[]; weightDims: Map<string, number[]> } {
  const constants = constantTensors(model);
  const convs: NodeProto[] = [];
  const weightDims = new Map<string, number[]>();
  for (const node of model.graph?.node ?? []) {
    const key = node.output?.[0];
    const weight = node.input?.[1] ? constants.get(node.input[1]) : undefined;
    if (node.opType !== 'Conv' || !key || floatNodes.has(key) || !weight) continue;
    convs.push(node);
    weightDims.set(key, dimsOf(weight));
  }
  return { convs, weightDims };
}
