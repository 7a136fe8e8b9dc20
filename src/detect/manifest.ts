/**
 * Model manifests (`models/<id>.json`): how each ONNX model is built, fed and decoded. The build script writes
 * the ONNX file to `models/build/<id>.onnx`; the runtime reads the manifest to preprocess and decode.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Task } from './types.ts';

export const MODELS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../models');
export const BUILD_DIR = join(MODELS_DIR, 'build');

/** `movenet` is a pose decoder (src/detect/pose.ts), not a box DecodeFn: the registry's detectors never load it. */
export type DecoderKind = 'blazeface' | 'centernet' | 'nanodet' | 'ssd' | 'movenet';

export interface ModelManifest {
  readonly id: string;
  /** `pose`: a pose model, loaded by src/detect/pose.ts (loadPoseDetector), not by the registry's loadDetector. */
  readonly task: Task | 'pose';
  readonly description: string;
  /** Where the upstream weights come from (an npm package and a file in it) and under which licence. */
  readonly source: { readonly package: string; readonly path: string; readonly format: 'tfjs-graph' | 'face-api-ssd'; readonly license: string };
  readonly input: {
    readonly name: string;
    readonly width: number;
    readonly height: number;
    /** ONNX input layout: always NCHW float32, RGB. */
    readonly layout: 'NCHW';
    /** pixel' = (pixel - mean) / std, per channel, pixel in 0..255. */
    readonly mean: readonly [number, number, number];
    readonly std: readonly [number, number, number];
    /** `stretch`: resize to width x height ignoring aspect; `letterbox`: keep aspect, pad right/bottom. */
    readonly resize: 'stretch' | 'letterbox';
  };
  /** ONNX output names in the order the decoder expects them. */
  readonly outputs: readonly string[];
  readonly decoder: DecoderKind;
  /** Decoder-specific settings (anchor layout, strides, score activation...). */
  readonly decoderOptions: Readonly<Record<string, unknown>>;
  readonly defaultThreshold: number;
  readonly nmsIou: number;
  /**
   * How `scripts/build-models.ts` converts a `tfjs-graph` source (optional; ignored at run time). The graph is
   * cut at `tfOutputs` (in-graph post-processing after them is dropped); ONNX output k is `tfOutputs[k]`,
   * named `outputs[k]`, in TF layout (NHWC maps stay NHWC).
   */
  readonly convert?: ModelConvertSpec;
}

export interface ModelConvertSpec {
  /** The TF placeholder fed by the ONNX input `input.name`. */
  readonly tfInput: string;
  /** Its TF shape; 4-D is NHWC unless `tfInputLayout` is NCHW (the ONNX input is NCHW either way). */
  readonly tfInputShape: readonly number[];
  readonly tfInputLayout?: 'NHWC' | 'NCHW';
  /** `BGR`: the model was trained on BGR; the ONNX graph swaps channels itself, so its input stays RGB. */
  readonly tfInputChannelOrder?: 'RGB' | 'BGR';
  /** TF tensor names (`node` or `node:1`), one per entry of `outputs`, same order. */
  readonly tfOutputs: readonly string[];
}

export function readManifest(id: string): ModelManifest {
  return JSON.parse(readFileSync(join(MODELS_DIR, `${id}.json`), 'utf8')) as ModelManifest;
}

export function listManifests(): ModelManifest[] {
  return readdirSync(MODELS_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(MODELS_DIR, f), 'utf8')) as ModelManifest)
    .filter((m) => typeof m.id === 'string' && typeof m.decoder === 'string');
}

export function onnxPath(id: string): string {
  return join(BUILD_DIR, `${id}.onnx`);
}

/** The int8 copy of a model (scripts/quantize.ts; built at install from its calibration table when it has one). */
export function int8OnnxPath(id: string): string {
  return join(BUILD_DIR, `${id}.int8.onnx`);
}

/** A model's committed calibration table (scripts/quantize/table.ts), from which its int8 copy is built. */
export function calibrationTablePath(id: string): string {
  return join(MODELS_DIR, 'calibration', `${id}.json`);
}
