/**
 * Loads detectors by task: the default model per task lives in DEFAULT_MODELS, its settings in the model's
 * manifest plus the per-task defaults below. A detector = one ONNX Runtime session + preprocess + decoder + NMS,
 * returning boxes in the image's own pixels.
 */
import { RaypackError } from '../errors.ts';
import { COCO_EN, FOOD_CLASS_IDS } from './labels.ts';
import { calibrationTablePath, int8OnnxPath, onnxPath, readManifest, type DecoderKind, type ModelManifest } from './manifest.ts';
import { createSession, type ModelSession } from './onnx-session.ts';
import { nms, type NmsMode } from './nms.ts';
import { planResize, preprocess, toImageSpace } from './preprocess.ts';
import { planRegions, touchesInnerEdge, type TilingOptions } from './tiling.ts';
import type { Candidate, DecodeFn } from './decoders/common.ts';
import type { DetectOptions, Detection, Detector, Task } from './types.ts';
import type { RgbImage } from '../core/image.ts';
import { thisCpuPath, type CpuPath, type CpuPathId } from '../os/cpu.ts';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MODELS_DIR } from './manifest.ts';

/** The model each task uses unless told otherwise. `food` runs the objects model and keeps COCO's food classes. */
export const DEFAULT_MODELS: Readonly<Record<Task, string>> = {
  face: 'ssd-mobilenetv1-face',
  objects: 'nanodet',
  food: 'nanodet',
};

/** How a detector runs a model beyond its manifest: regions, NMS flavour, which ONNX file. */
export interface DetectorSettings {
  readonly tiling: TilingOptions;
  readonly nmsMode: NmsMode;
  readonly maxDetections: number;
  readonly variant: ModelVariant;
}

const NO_TILES: TilingOptions = { tiles: 0, overlap: 0.25, minImageToInput: 1.5 };

/** Per-task defaults (see docs/DETECTION.md for the measurements behind them). */
export const TASK_DEFAULTS: Readonly<Record<Task, DetectorSettings>> = {
  face: { tiling: NO_TILES, nmsMode: 'weighted', maxDetections: 300, variant: 'fp32' },
  objects: { tiling: NO_TILES, nmsMode: 'greedy', maxDetections: 100, variant: 'fp32' },
  food: { tiling: NO_TILES, nmsMode: 'greedy', maxDetections: 100, variant: 'fp32' },
};

/**
 * Per-model overrides of the task defaults, chosen by measurement with `raypack-edge eval` and `raypack-edge bench`
 * (docs/EVAL.md, docs/BENCHMARKS.md). The rule: an int8 copy is the default where it is faster and loses at most
 * 1 point of AP50 (mAP50 for objects) on every set.
 * - SSD face: int8 (built at install from models/calibration/, scripts/quantize.ts; pair-bounded weights, so the
 *   same outputs on every CPU path). AP50 0.713 vs 0.709 fp32 on WIDER-416, 0.677 vs 0.680 on facemask-voc;
 *   1.9-2.2x faster from RGB on AVX-512 VNNI. A 512 px input already sees WIDER's small faces, so no tiles.
 * - NanoDet objects/food: int8. mAP50 0.464 vs 0.467 on COCO val2017-a; 1.7x faster on AVX-512 VNNI.
 * - BlazeFace family (128-256 px inputs): a 2x2 tile grid on top of the whole image lifts AP50 on WIDER from
 *   0.23 to 0.34 (blazeface-back) at ~5x the cost. fp32: their int8 copies were slower.
 * - CenterNet: fp32 (its int8 copy is broken by quantization: mAP50 0.26 vs 0.48).
 * `variant: 'fp32'` (or `--variant fp32`) still runs the float file of any model.
 */
export const MODEL_DEFAULTS: Readonly<Record<string, Partial<DetectorSettings>>> = {
  'ssd-mobilenetv1-face': { variant: 'int8' },
  'nanodet': { variant: 'int8' },
  'blazeface-back': { tiling: { tiles: 2, overlap: 0.25, minImageToInput: 1.5 } },
  'blazeface-front': { tiling: { tiles: 2, overlap: 0.25, minImageToInput: 1.5 } },
  'facemesh-detection-full': { tiling: { tiles: 2, overlap: 0.25, minImageToInput: 1.5 } },
  'facemesh-detection-short': { tiling: { tiles: 2, overlap: 0.25, minImageToInput: 1.5 } },
};

/**
 * The int8 copy's speed against its float file per CPU path, detector time from a decoded frame, measured in one
 * run on one machine. Accuracy is the same on every path (pair-bounded weights: the same integers everywhere), so
 * speed alone decides where an int8 default runs: a ratio under 1 makes the float file the default on that path.
 */
export const INT8_SPEED: Partial<Record<CpuPathId, Readonly<Record<string, { readonly ratio: number; readonly measured: string }>>>> = {
  'x86-64-avx512-vnni': {
    'ssd-mobilenetv1-face': { ratio: 2.2, measured: 'eval --variants, 2-core AMD EPYC with AVX-512 VNNI, 2026-12-01 (1.9-2.2x)' },
    nanodet: { ratio: 1.7, measured: 'eval --variants, 2-core AMD EPYC with AVX-512 VNNI, 2026-12-01' },
  },
  'x86-64-avx2': {
    'ssd-mobilenetv1-face': { ratio: 1.9, measured: 'bench --only face,objects, 2-core AMD EPYC with AVX2 and no AVX-512, 2026-12-02: 80 vs 153 ms from RGB, face-api samples' },
    nanodet: { ratio: 1.6, measured: 'bench --only face,objects, 2-core AMD EPYC with AVX2 and no AVX-512, 2026-12-02: 43 vs 70 ms from RGB, face-api samples' },
  },
};

export interface VariantChoice {
  readonly variant: ModelVariant;
  /** Why, for the start log: asked for, measured faster or slower on this CPU path, or not measured there. */
  readonly reason: string;
}

/** Which file of `modelId` runs on `cpu` when the caller names none: the model's default, unless measured slower. */
export function chooseVariant(modelId: string, defaultVariant: ModelVariant, requested?: ModelVariant, cpu: CpuPath = thisCpuPath()): VariantChoice {
  if (requested) return { variant: requested, reason: 'asked for' };
  if (defaultVariant === 'fp32') return { variant: 'fp32', reason: 'the float file is this model\'s default' };
  const speed = INT8_SPEED[cpu.id]?.[modelId];
  if (!speed) {
    return { variant: 'int8', reason: `int8 speed not measured on ${cpu.label} (same accuracy on every CPU); \`raypack-edge bench --only face,objects --no-peers\` measures it, variant: fp32 overrides` };
  }
  if (speed.ratio < 1) return { variant: 'fp32', reason: `the int8 copy is slower on ${cpu.label} (${speed.ratio}x, ${speed.measured})` };
  return { variant: 'int8', reason: `the int8 copy is ${speed.ratio}x the float file's speed on ${cpu.label} (${speed.measured})` };
}

/** The variant `loadDetector(task, options)` runs, and why (the daemon logs it at start). */
export function variantChoiceFor(task: Task, options: LoadOptions = {}): VariantChoice {
  const id = manifestFor(task, options.modelId ?? options.model).id;
  return chooseVariant(id, { ...TASK_DEFAULTS[task], ...MODEL_DEFAULTS[id] }.variant, options.variant);
}

/** Effective settings: task defaults, then the model's overrides, then the caller's options. */
export function settingsFor(task: Task, modelId: string, options: LoadOptions = {}): DetectorSettings {
  const base = { ...TASK_DEFAULTS[task], ...MODEL_DEFAULTS[modelId] };
  return {
    tiling: {
      tiles: options.tiles ?? base.tiling.tiles,
      overlap: options.overlap ?? base.tiling.overlap,
      minImageToInput: options.minImageToInput ?? base.tiling.minImageToInput,
    },
    nmsMode: options.nmsMode ?? base.nmsMode,
    maxDetections: options.maxDetections ?? base.maxDetections,
    variant: chooseVariant(modelId, base.variant, options.variant).variant,
  };
}

export interface LoadOptions {
  /** A model id (`models/<id>.json`); default DEFAULT_MODELS[task]. `model` is accepted as an alias. */
  readonly modelId?: string;
  readonly model?: string;
  /** ONNX Runtime intra-op threads (default: all cores). */
  readonly threads?: number;
  readonly executionProviders?: readonly string[];
  /** Face tiling (see tiling.ts): tiles along the longer side (0 = whole image only), their overlap, and from which image/input size ratio tiles are added. */
  readonly tiles?: number;
  readonly overlap?: number;
  readonly minImageToInput?: number;
  readonly nmsMode?: NmsMode;
  readonly maxDetections?: number;
  /** Which file of the model: `fp32` = models/build/<id>.onnx, `int8` = the quantized <id>.int8.onnx (scripts/quantize.ts). */
  readonly variant?: ModelVariant;
}

export type ModelVariant = 'fp32' | 'int8';

const OPTION_KEYS = new Set(['modelId', 'model', 'threads', 'executionProviders', 'tiles', 'overlap', 'minImageToInput', 'nmsMode', 'maxDetections', 'variant']);

/** `nanodet.int8` / `nanodet.fp32` (how bench and eval name a file, and a loaded detector's modelId) → id and variant. */
export function splitVariant(ref: string): { id: string; variant?: ModelVariant } {
  const m = /^(.+)\.(fp32|int8)$/.exec(ref);
  return m ? { id: m[1], variant: m[2] as ModelVariant } : { id: ref };
}

/** Whether this install can build models (a clone, with scripts/); an installed .deb cannot. */
function canBuildModels(): boolean {
  return existsSync(join(MODELS_DIR, '../scripts/build-models.ts'));
}

/**
 * The command that builds a model's file: `npm run models` for the float models and for int8 copies with a
 * committed calibration table (as at install); the calibration script, which needs the photos, for other int8 copies.
 */
export function buildCommand(modelId: string, variant: ModelVariant): string {
  // An installed .deb has no converter (scripts/ is not shipped): its optional models come in a second package.
  if (!canBuildModels()) return '`sudo apt install raypack-edge-models-extra` (the raypack-edge package has the default models only; docs/INSTALL-DEB.md)';
  if (variant === 'fp32' || existsSync(calibrationTablePath(modelId))) return '`npm run models`';
  return `\`npx tsx scripts/quantize.ts ${modelId}\``;
}

/** The ONNX file of a model variant. */
export function variantPath(modelId: string, variant: ModelVariant): string {
  return variant === 'int8' ? int8OnnxPath(modelId) : onnxPath(modelId);
}

/** Options come from CLIs and config as loose key/values: reject unknown keys and wrong types with a clear message. */
function checkOptions(options: Readonly<Record<string, unknown>>): void {
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    if (!OPTION_KEYS.has(key)) throw new RaypackError('bad_parameter', `unknown detector option '${key}' (known: ${[...OPTION_KEYS].join(', ')})`);
    const numeric = ['threads', 'tiles', 'overlap', 'minImageToInput', 'maxDetections'].includes(key);
    if (numeric && (typeof value !== 'number' || !Number.isFinite(value) || value < 0)) {
      throw new RaypackError('bad_parameter', `detector option '${key}' must be a number >= 0`);
    }
    if (key === 'variant' && value !== 'fp32' && value !== 'int8') throw new RaypackError('bad_parameter', `variant must be fp32 or int8`);
    if (key === 'nmsMode' && value !== 'greedy' && value !== 'weighted') throw new RaypackError('bad_parameter', `nmsMode must be greedy or weighted`);
  }
}

async function decoderFor(kind: DecoderKind): Promise<DecodeFn> {
  switch (kind) {
    case 'blazeface':
      return (await import('./decoders/blazeface.ts')).decodeBlazeface;
    case 'centernet':
      return (await import('./decoders/centernet.ts')).decodeCenternet;
    case 'nanodet':
      return (await import('./decoders/nanodet.ts')).decodeNanodet;
    case 'ssd':
      return (await import('./decoders/ssd.ts')).decodeSsd;
    default:
      throw new RaypackError('model_unavailable', `no decoder for '${kind}'`);
  }
}

export function manifestFor(task: Task, modelId?: string): ModelManifest {
  const id = modelId ?? DEFAULT_MODELS[task];
  if (!/^[a-z0-9][a-z0-9._-]*$/i.test(id) || !existsSync(join(MODELS_DIR, `${id}.json`))) {
    throw new RaypackError('model_unavailable', `no model '${id}' (no models/${id}.json)`, { modelId: id });
  }
  const manifest = readManifest(id);
  const taskOfModel = manifest.task === 'food' ? 'objects' : manifest.task;
  const wanted = task === 'food' ? 'objects' : task;
  if (taskOfModel !== wanted) throw new RaypackError('bad_parameter', `model '${id}' is a ${manifest.task} model, not a ${task} model`);
  return manifest;
}

/**
 * Decoded long side per model-input side. libjpeg's shrink-on-load only helps when sharp asks for it, which it
 * does for a reduction of 3x or more (1/2 decode; 5x for 1/4, 9x for 1/8): so the side must be at most a third of
 * a 1920 px photo to gain anything. 1.25x the input (640 px for a 512 px model) still leaves the detector's
 * own resize a downsample; measured on face-api's samples: same faces, IoU >= 0.95 (scripts/bench-detection-decode.ts).
 */
export const DECODE_SIDE_PER_INPUT = 1.25;

/**
 * The longest image side a detector needs: DECODE_SIDE_PER_INPUT x its input side for the whole-image pass; with
 * tiling, enough that each tile still gets that many pixels per input side, and never below the size at which
 * tiles start (so reducing an image does not switch tiling off).
 */
export function decodeSideFor(inputSide: number, tiling: TilingOptions): number {
  const whole = Math.ceil(DECODE_SIDE_PER_INPUT * inputSide);
  if (tiling.tiles <= 1) return whole;
  const overlap = Math.min(Math.max(tiling.overlap, 0), 0.9);
  const forTiles = Math.ceil(whole * (tiling.tiles - (tiling.tiles - 1) * overlap));
  return Math.max(whole, forTiles, Math.ceil(tiling.minImageToInput * inputSide));
}

/** How large to decode an image for `detector` (undefined: full resolution). Callers map boxes back to the original. */
export function detectionDecodeSide(detector: Detector): number | undefined {
  return detector.preferredDecodeSide;
}

/**
 * decodeForDetection options for `detector`: decode straight to the size its whole-image pass feeds the model when
 * it has one (one resample, and the detector's own resize becomes a no-op), else to its preferred long side.
 */
export function detectionDecodeOptions(detector: Detector): { maxSide?: number; exactSize?: (width: number, height: number) => { width: number; height: number } | undefined } {
  const exactSize = detector.decodeSizeFor?.bind(detector);
  return { maxSide: detector.preferredDecodeSide, ...(exactSize ? { exactSize } : {}) };
}

export async function loadDetector(task: Task, options: LoadOptions = {}): Promise<Detector> {
  checkOptions(options as Record<string, unknown>);
  const manifest = manifestFor(task, options.modelId ?? options.model);
  const decode = await decoderFor(manifest.decoder);
  const settings = settingsFor(task, manifest.id, options);
  const variant = settings.variant;
  const file = variantPath(manifest.id, variant);
  if (!existsSync(file) && (variant === 'int8' || !canBuildModels())) {
    const how = buildCommand(manifest.id, variant);
    const fallback = how.includes('quantize') || (how.includes('apt') && variant === 'int8') ? ', or use variant fp32' : '';
    throw new RaypackError('model_unavailable', `${file} is not built: run ${how}${fallback}`, { modelId: manifest.id });
  }
  const session = await createSession(file, { threads: options.threads, executionProviders: options.executionProviders });
  const modelId = variant === 'fp32' ? manifest.id : `${manifest.id}.${variant}`;
  return new OnnxDetector(task, manifest, modelId, session, decode, { ...settings, variant });
}

class OnnxDetector implements Detector {
  readonly modelId: string;
  readonly defaultThreshold: number;
  readonly preferredDecodeSide: number;
  readonly inputSize: number;
  private readonly dims: readonly number[];
  /** Input tensors not in use: reused across regions and calls (concurrent calls each take their own). */
  private readonly freeInputs: Float32Array[] = [];

  constructor(
    readonly task: Task,
    private readonly manifest: ModelManifest,
    modelId: string,
    private readonly session: ModelSession,
    private readonly decode: DecodeFn,
    private readonly settings: DetectorSettings,
  ) {
    this.modelId = modelId;
    this.defaultThreshold = manifest.defaultThreshold;
    this.dims = [1, 3, manifest.input.height, manifest.input.width];
    this.inputSize = Math.max(manifest.input.width, manifest.input.height);
    this.preferredDecodeSide = decodeSideFor(Math.max(manifest.input.width, manifest.input.height), settings.tiling);
  }

  decodeSizeFor(width: number, height: number): { width: number; height: number } | undefined {
    const { input } = this.manifest;
    const regions = planRegions(width, height, Math.max(input.width, input.height), this.settings.tiling);
    if (regions.length !== 1) return undefined;
    const plan = planResize(regions[0], input);
    return { width: plan.resizedWidth, height: plan.resizedHeight };
  }

  async detect(image: RgbImage, options: DetectOptions = {}): Promise<Detection[]> {
    return (await this.detectAt(image, [options.threshold ?? this.defaultThreshold], options))[0];
  }

  /**
   * One inference, one result per threshold: each list is what detect() gives at that threshold (NMS runs per
   * list, so a lower threshold's extra boxes never move the boxes of a higher one).
   */
  async detectAt(image: RgbImage, thresholds: readonly number[], options: Omit<DetectOptions, 'threshold'> = {}): Promise<Detection[][]> {
    const threshold = Math.min(...thresholds);
    const { input } = this.manifest;
    const regions = options.regions ?? planRegions(image.width, image.height, this.inputSize, this.settings.tiling);
    const outputs = this.manifest.outputs.length > 0 ? this.manifest.outputs : this.session.outputNames;
    const merged: Candidate[] = [];
    for (const region of regions) {
      const { tensor, transform } = await preprocess(image, input, region, this.freeInputs.pop());
      let raw;
      try {
        raw = await this.session.run(tensor, this.dims, outputs);
      } finally {
        if (this.freeInputs.length < 4) this.freeInputs.push(tensor);
      }
      for (const c of this.decode(raw, this.manifest, threshold)) {
        if (this.task === 'food' && !FOOD_CLASS_IDS.has(c.classId)) continue;
        const mapped = toImageSpace(c, transform, image.width, image.height);
        if (mapped.x2 - mapped.x1 < 1 || mapped.y2 - mapped.y1 < 1) continue;
        if (!region.whole && touchesInnerEdge(mapped, region, image.width, image.height)) continue;
        merged.push(mapped);
      }
    }
    const nmsOptions = { iouThreshold: this.manifest.nmsIou, mode: this.settings.nmsMode, maxDetections: this.settings.maxDetections };
    return thresholds.map((t) => nms(t === threshold ? merged : merged.filter((c) => c.score >= t), nmsOptions).map((c) => this.toDetection(c)));
  }

  private toDetection(c: Candidate): Detection {
    const box: [number, number, number, number] = [c.x1, c.y1, c.x2 - c.x1, c.y2 - c.y1];
    if (this.task === 'face') return { label: 'face', score: c.score, box };
    return { label: COCO_EN[c.classId] ?? `class ${c.classId}`, classId: c.classId, score: c.score, box };
  }

  async close(): Promise<void> {
    await this.session.close();
  }
}
