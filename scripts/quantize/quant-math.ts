/**
 * The arithmetic of static quantization, as ONNX Runtime's own tool does it (QDQ format):
 * activations: per-tensor, asymmetric uint8, the range widened to contain 0 so that 0 (padding, ReLU) is exact;
 * weights: symmetric int8 (zero point 0), per output channel for Conv, range [-127, 127] so that -w and w round alike;
 * bias: int32 with scale = input scale * weight scale (of its channel) and zero point 0, as QLinearConv requires.
 */

export interface ActivationParams {
  readonly scale: number;
  readonly zeroPoint: number;
}

/** uint8 parameters for a tensor seen in [min, max]. */
export function activationParams(min: number, max: number): ActivationParams {
  const lo = Math.min(0, min);
  const hi = Math.max(0, max);
  if (!(hi - lo > 0) || !Number.isFinite(hi - lo)) return { scale: 1, zeroPoint: 0 };
  const scale = (hi - lo) / 255;
  const zeroPoint = Math.min(255, Math.max(0, Math.round(-lo / scale)));
  return { scale, zeroPoint };
}

export interface QuantizedWeights {
  readonly data: Int8Array;
  /** One scale per channel along `axis` (a single one for per-tensor). */
  readonly scales: Float32Array;
}

/**
 * Symmetric int8 quantization of `weights` whose dims are `dims`, per channel along axis 0 (Conv's output
 * channels, ONNX layout OIHW) or per tensor.
 */
export function quantizeWeights(weights: Float32Array, dims: readonly number[], perChannel: boolean): QuantizedWeights {
  const channels = perChannel ? dims[0] : 1;
  const perChannelSize = weights.length / channels;
  const data = new Int8Array(weights.length);
  const scales = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    const start = c * perChannelSize;
    let maxAbs = 0;
    for (let i = start; i < start + perChannelSize; i++) maxAbs = Math.max(maxAbs, Math.abs(weights[i]));
    // A channel of zeros still needs a positive scale (DequantizeLinear rejects 0 in some runtimes).
    const scale = maxAbs > 0 ? maxAbs / 127 : 1;
    scales[c] = scale;
    for (let i = start; i < start + perChannelSize; i++) data[i] = Math.max(-127, Math.min(127, Math.round(weights[i] / scale)));
  }
  return { data, scales };
}

/** Bias to int32 with scale inputScale * weightScale[c]; scales are returned for the DequantizeLinear. */
export function quantizeBias(bias: Float32Array, inputScale: number, weightScales: Float32Array): { data: Int32Array; scales: Float32Array } {
  const data = new Int32Array(bias.length);
  const scales = new Float32Array(bias.length);
  for (let c = 0; c < bias.length; c++) {
    const scale = inputScale * (weightScales.length === 1 ? weightScales[0] : weightScales[c]);
    scales[c] = scale;
    const q = Math.round(bias[c] / scale);
    data[c] = Math.max(-2147483647, Math.min(2147483647, q));
  }
  return { data, scales };
}

/**
 * Range of a tensor for calibration: min/max, or the given percentile of the values at both ends (robust to a few
 * outliers). Percentiles are computed on a strided subsample of at most `maxSamples` values.
 */
export function tensorRange(values: Float32Array, percentile?: number, maxSamples = 1 << 16): [number, number] {
  // Non-finite values are padding sentinels (TF's PadV2 with -inf before a MaxPool), not part of the signal:
  // a range that included them would give an infinite scale. Clamping them to the range is what MaxPool needs.
  if (percentile === undefined || percentile >= 100) {
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) continue;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    return min <= max ? [min, max] : [0, 0];
  }
  const stride = Math.max(1, Math.floor(values.length / maxSamples));
  const picked: number[] = [];
  for (let i = 0; i < values.length; i += stride) if (Number.isFinite(values[i])) picked.push(values[i]);
  if (picked.length === 0) return [0, 0];
  const sample = Float32Array.from(picked).sort();
  const tail = (1 - percentile / 100) * (sample.length - 1);
  return [sample[Math.floor(tail)], sample[Math.ceil(sample.length - 1 - tail)]];
}
