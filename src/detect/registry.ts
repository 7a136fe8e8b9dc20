/**
 * Loads detectors by task: the default model per task lives in DEFAULT_MODELS, its settings in the model's
 * manifest plus the per-task defaults below. A detector = one ONNX Runtime session + preprocess + decoder + NMS,
 * returning boxes in the image's own pixels.
 */
import { RaypackError } from '../errors.ts';
import { COCO_EN, FOOD_CLASS_IDS } from './labels.ts';
import { onnxPath, readManifest, type DecoderKind, type ModelManifest } from './manifest.ts';
import { createSession, type ModelSession } from './onnx-session.ts';
import { nms, type NmsMode } from './nms.ts';
import { preprocess, toImageSpace } from './preprocess.ts';
import { planRegions, touchesInnerEdge, type TilingOptions } from './tiling.ts';
import type { Candidate, DecodeFn } from './decoders/common.ts';
import type { DetectOptions, Detection, Detector, RgbImage, Task } from './types.ts';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MODELS_DIR } from './manifest.ts';

/** The model each task uses unless told otherwise. `food` runs the objects model and keeps COCO's food classes. */
export const DEFAULT_MODELS: Readonly<Record<Task, string>> = {
  face: 'blazeface-back',
  objects: 'nanodet',
  food: 'nanodet',
};

/** Per-task defaults for multi-region inference and NMS, chosen by measurement (see docs/notes/detect.md). */
export interface TaskDefaults {
  readonly tiling: TilingOptions;
  readonly nmsMode: NmsMode;
  readonly maxDetections: number;
  readonly variant: ModelVariant;
}

export const TASK_DEFAULTS: Readonly<Record<Task, TaskDefaults>> = {
  face: { tiling: { tiles: 2, overlap: 0.25, minImageToInput: 1.5 }, nmsMode: 'weighted', maxDetections: 300, variant: 'fp32' },
  objects: { tiling: { tiles: 0, overlap: 0, minImageToInput: 0 }, nmsMode: 'greedy', maxDetections: 100, variant: 'fp32' },
  food: { tiling: { tiles: 0, overlap: 0, minImageToInput: 0 }, nmsMode: 'greedy', maxDetections: 100, variant: 'fp32' },
};

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

/** The ONNX file of a model variant. */
export function variantPath(modelId: string, variant: ModelVariant): string {
  return variant === 'int8' ? onnxPath(modelId).replace(/\.onnx$/, '.int8.onnx') : onnxPath(modelId);
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

export async function loadDetector(task: Task, options: LoadOptions = {}): Promise<Detector> {
  checkOptions(options as Record<string, unknown>);
  const manifest = manifestFor(task, options.modelId ?? options.model);
  const decode = await decoderFor(manifest.decoder);
  const variant = options.variant ?? TASK_DEFAULTS[task].variant;
  const session = await createSession(variantPath(manifest.id, variant), { threads: options.threads, executionProviders: options.executionProviders });
  const defaults = TASK_DEFAULTS[task];
  return new OnnxDetector(task, manifest, variant === 'fp32' ? manifest.id : `${manifest.id}.${variant}`, session, decode, {
    tiling: {
      tiles: options.tiles ?? defaults.tiling.tiles,
      overlap: options.overlap ?? defaults.tiling.overlap,
      minImageToInput: options.minImageToInput ?? defaults.tiling.minImageToInput,
    },
    nmsMode: options.nmsMode ?? defaults.nmsMode,
    maxDetections: options.maxDetections ?? defaults.maxDetections,
  });
}

interface Settings {
  readonly tiling: TilingOptions;
  readonly nmsMode: NmsMode;
  readonly maxDetections: number;
}

class OnnxDetector implements Detector {
  readonly modelId: string;
  readonly defaultThreshold: number;
  private readonly dims: readonly number[];

  constructor(
    readonly task: Task,
    private readonly manifest: ModelManifest,
    modelId: string,
    private readonly session: ModelSession,
    private readonly decode: DecodeFn,
    private readonly settings: Settings,
  ) {
    this.modelId = modelId;
    this.defaultThreshold = manifest.defaultThreshold;
    this.dims = [1, 3, manifest.input.height, manifest.input.width];
  }

  async detect(image: RgbImage, options: DetectOptions = {}): Promise<Detection[]> {
    const threshold = options.threshold ?? this.defaultThreshold;
    const { input } = this.manifest;
    const regions = planRegions(image.width, image.height, Math.max(input.width, input.height), this.settings.tiling);
    const outputs = this.manifest.outputs.length > 0 ? this.manifest.outputs : this.session.outputNames;
    let merged: Candidate[] = [];
    for (const region of regions) {
      const { tensor, transform } = await preprocess(image, input, region);
      const raw = await this.session.run(tensor, this.dims, outputs);
      for (const c of this.decode(raw, this.manifest, threshold)) {
        if (this.task === 'food' && !FOOD_CLASS_IDS.has(c.classId)) continue;
        const mapped = toImageSpace(c, transform, image.width, image.height);
        if (mapped.x2 - mapped.x1 < 1 || mapped.y2 - mapped.y1 < 1) continue;
        if (!region.whole && touchesInnerEdge(mapped, region, image.width, image.height)) continue;
        merged.push(mapped);
      }
    }
    merged = nms(merged, { iouThreshold: this.manifest.nmsIou, mode: this.settings.nmsMode, maxDetections: this.settings.maxDetections });
    return merged.map((c) => this.toDetection(c));
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
