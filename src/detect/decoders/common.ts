/**
 * What every decoder shares: the raw model outputs it reads and the candidates it returns. Decoders are pure:
 * they turn ONNX output tensors into candidate boxes in the MODEL INPUT's pixel space (0..input.width,
 * 0..input.height); preprocess.ts's transform maps them back to the image, and nms.ts merges them.
 */
import type { ModelManifest } from '../manifest.ts';

/** One ONNX output, as onnxruntime hands it back (float32, row-major). */
export interface OutputTensor {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/** A scored box before NMS, corners in model-input pixels. */
export interface Candidate {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  score: number;
  /** COCO class id (0-79) for object models; 0 for face models. */
  classId: number;
}

/**
 * A decoder: `outputs` are in the order of `manifest.outputs`; only candidates with score >= minScore are
 * returned (decoders filter early, so NMS sees few boxes).
 */
export type DecodeFn = (outputs: readonly OutputTensor[], manifest: ModelManifest, minScore: number) => Candidate[];

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Inverse of sigmoid: lets a decoder compare raw logits with a probability threshold without exp() per anchor. */
export function logit(p: number): number {
  const q = Math.min(Math.max(p, 1e-7), 1 - 1e-7);
  return Math.log(q / (1 - q));
}

/** Read a numeric decoder option, falling back to a default; throws on a wrong type so bad manifests fail loudly. */
export function numberOption(options: Readonly<Record<string, unknown>>, key: string, fallback: number): number {
  const value = options[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`decoderOptions.${key} must be a number`);
  return value;
}

export function numberArrayOption(options: Readonly<Record<string, unknown>>, key: string, fallback: readonly number[]): readonly number[] {
  const value = options[key];
  if (value === undefined) return fallback;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new TypeError(`decoderOptions.${key} must be an array of numbers`);
  }
  return value as number[];
}
