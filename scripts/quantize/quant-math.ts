/**
 * The arithmetic of static quantization, as ONNX Runtime's own tool does it (QDQ format):
 * activations: per-tensor, asymmetric uint8, the range widened to contain 0 so that 0 (padding, ReLU) is exact;
 * weights: symmetric int8 (zero point 0), per output channel for Conv, range [-127, 127] so that -w and w round alike,
 *   and, for every op whose int8 kernels may add weight pairs in 16 bits, pair-bounded (see PAIR_SUM_LIMIT);
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
 * The largest |w1| + |w2| of any two int8 weights that one output channel may hold, so that no CPU's int8 kernel
 * can saturate. ONNX Runtime's u8s8 kernels on x86 without VNNI (SSSE3, AVX2, AVX-512BW: VPMADDUBSW) multiply
 * uint8 activations by int8 weights and add *pairs* of products into int16 with saturation: 255 * (|w1| + |w2|)
 * must stay <= 32767. With this limit it is at most 255 * 128 = 32640, whichever two weights a kernel pairs (the
 * pairing depends on the kernel and on the weight layout it packs), so the int32 sums are exact there as they are
 * with VNNI (VPDPBUSD) and on ARM64 (UMULL/UADALP, UDOT/SDOT): every CPU computes the same integers. Measured with
 * plain [-127, 127] weights, the SSD face copy lost 2.6 points of AP50 on an AVX2-only machine and none on a VNNI
 * one (issue "Green on every CPU"); with pair-bounded weights its outputs are bit-identical on both
 * (test/convert/int8-cpu-paths.test.ts runs them under qemu's AVX2 and SSE4.2 CPUs).
 */
export const PAIR_SUM_LIMIT = 128;

/**
 * `full`: [-127, 127], for kernels that widen every product before adding (ONNX Runtime's depthwise kernels on
 * every CPU). `pair-bounded`: at most one weight per channel above PAIR_SUM_LIMIT / 2 in magnitude, and the two
 * largest magnitudes summing to at most PAIR_SUM_LIMIT. The scale is chosen so that the largest weight still
 * maps to the top of that range: a channel whose largest weight stands out keeps more resolution than the plain
 * 7-bit range [-64, 64] (ONNX Runtime's `reduce_range`) gives; cost measured on the default models, AP50 within
 * 0.4 points of the float file on every set (docs/notes/int8.md).
 */
export type WeightRange = 'full' | 'pair-bounded';

/**
 * Symmetric int8 quantization of `weights` whose dims are `dims`, per channel along axis 0 (Conv's output
 * channels, ONNX layout OIHW) or per tensor (a per-tensor block then counts as one channel for the pair bound,
 * which only makes it stricter).
 */
export function quantizeWeights(weights: Float32Array, dims: readonly number[], perChannel: boolean, range: WeightRange = 'full'): QuantizedWeights {
  const channels = perChannel ? dims[0] : 1;
  const perChannelSize = weights.length / channels;
  const data = new Int8Array(weights.length);
  const scales = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    const start = c * perChannelSize;
    const end = start + perChannelSize;
    let largest = 0;
    let second = 0;
    let largestAt = start;
    for (let i = start; i < end; i++) {
      const a = Math.abs(weights[i]);
      if (a > largest) {
        second = largest;
        largest = a;
        largestAt = i;
      } else if (a > second) {
        second = a;
      }
    }
    // A channel of zeros still needs a positive scale (DequantizeLinear rejects 0 in some runtimes).
    if (!(largest > 0)) {
      scales[c] = 1;
      continue;
    }
    if (range === 'full') {
      const scale = largest / 127;
      scales[c] = scale;
      for (let i = start; i < end; i++) data[i] = clampInt(Math.round(weights[i] / scale), 127);
      continue;
    }
    // The smallest scale at which the two largest weights fit the pair bound (and the largest fits int8).
    const half = PAIR_SUM_LIMIT / 2;
    const scale = Math.max(largest / 127, (largest + second) / PAIR_SUM_LIMIT);
    scales[c] = scale;
    let secondQ = 0;
    for (let i = start; i < end; i++) {
      if (i === largestAt) continue;
      const q = clampInt(Math.round(weights[i] / scale), half);
      data[i] = q;
      secondQ = Math.max(secondQ, Math.abs(q));
    }
    data[largestAt] = clampInt(Math.round(weights[largestAt] / scale), Math.min(127, PAIR_SUM_LIMIT - secondQ));
  }
  return { data, scales };
}

function clampInt(value: number, limit: number): number {
  return Math.max(-limit, Math.min(limit, value));
}

/**
 * The two largest magnitudes of each channel's int8 weights sum to at most PAIR_SUM_LIMIT (and none is -128):
 * the property `pair-bounded` weights have, checked on a built file's weights by the tests and the build.
 */
export function isPairBounded(data: Int8Array, channels: number): boolean {
  const size = data.length / channels;
  for (let c = 0; c < channels; c++) {
    let largest = 0;
    let second = 0;
    for (let i = c * size; i < (c + 1) * size; i++) {
      const a = Math.abs(data[i]);
      if (a > 127) return false;
      if (a > largest) {
        second = largest;
        largest = a;
      } else if (a > second) {
        second = a;
      }
    }
    if (largest + second > PAIR_SUM_LIMIT) return false;
  }
  return true;
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
