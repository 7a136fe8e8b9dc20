/**
 * People's poses and the head areas they imply, for hiding faces the face detector misses (masked, turned away,
 * small). `loadPoseDetector` runs MoveNet MultiPose (models/movenet-multipose.json: one ONNX session, letterboxed
 * 256 px input, decoders/movenet.ts) and returns poses in the IMAGE's own pixels; `headRegion` is a pure function
 * from one pose to a box around its head.
 *
 *   const poses = await loadPoseDetector();
 *   for (const pose of await poses.detect(image)) {
 *     const head = headRegion(pose, { bounds: image });
 *     if (head) hide(head.box);
 *   }
 *   await poses.close();
 */
import { RaypackError } from '../errors.ts';
import { decodeMovenet, MOVENET_KEYPOINTS, type KeypointName } from './decoders/movenet.ts';
import { readManifest, type ModelManifest } from './manifest.ts';
import { createSession, type ModelSession } from './onnx-session.ts';
import { preprocess, type Transform } from './preprocess.ts';
import { buildCommand, variantPath, type ModelVariant } from './registry.ts';
import type { RgbImage } from '../core/image.ts';
import { existsSync } from 'node:fs';

export type { KeypointName } from './decoders/movenet.ts';
export { headRegion, type HeadRegion, type HeadRegionOptions } from './head-region.ts';

export interface PoseKeypoint {
  readonly name: KeypointName;
  /** Image pixels (clipped to the image). */
  readonly x: number;
  readonly y: number;
  readonly score: number;
}

export interface Pose {
  /** The model's person score: centre score x mean of the confident keypoints' scores (0..1). */
  readonly score: number;
  /** [x, y, width, height] in the image's own pixels: the model's person box. */
  readonly box: readonly [number, number, number, number];
  /** All 17 COCO keypoints in MOVENET_KEYPOINTS order, each with its own score. */
  readonly keypoints: readonly PoseKeypoint[];
}

export const POSE_MODEL = 'movenet-multipose';

/**
 * Person centres decoded per image. The graph itself stops at 6; more costs little (decoders/movenet.ts: 1.4 ms for
 * 12) and finds more people in crowds. Measured with scripts/pose-heads.ts (defaults otherwise): faces >= 20 px
 * covered 70% by a head region with 6 / 12 / 20 people: WIDER-416 0.769 / 0.782 / 0.796, facemask-voc 0.808 / 0.846
 * / 0.846.
 */
export const DEFAULT_MAX_PEOPLE = 12;

export interface PoseDetectorOptions {
  /** A pose model id (default movenet-multipose). */
  readonly modelId?: string;
  /** `fp32` (default) or `int8` (models/build/<id>.int8.onnx, made by scripts/quantize.ts). */
  readonly variant?: ModelVariant;
  /** ONNX Runtime intra-op threads (default: all cores). */
  readonly threads?: number;
  readonly executionProviders?: readonly string[];
  /**
   * Poses with a lower score are dropped (default: the manifest's defaultThreshold, 0.02: recall first). Measured with
   * scripts/pose-heads.ts, faces >= 20 px covered 70% by a head region at pose score 0.02 / 0.05 / 0.1 / 0.2:
   * WIDER-416 0.782 / 0.755 / 0.687 / 0.565, facemask-voc 0.846 / 0.822 / 0.762 / 0.588; head regions covering no
   * labelled face by half 20 / 18 / 15 / 8% and 15 / 11 / 9 / 5%.
   */
  readonly minScore?: number;
  /** Person centres decoded (default DEFAULT_MAX_PEOPLE). */
  readonly maxPeople?: number;
}

export interface PoseDetector {
  /** `movenet-multipose`, or `movenet-multipose.int8`. */
  readonly modelId: string;
  /** Poses of the people in `image`, highest score first. */
  detect(image: RgbImage): Promise<Pose[]>;
  close(): Promise<void>;
}

export async function loadPoseDetector(options: PoseDetectorOptions = {}): Promise<PoseDetector> {
  const id = options.modelId ?? POSE_MODEL;
  if (!/^[a-z0-9][a-z0-9._-]*$/i.test(id)) throw new RaypackError('model_unavailable', `no model '${id}'`, { modelId: id });
  let manifest: ModelManifest;
  try {
    manifest = readManifest(id);
  } catch {
    throw new RaypackError('model_unavailable', `no model '${id}' (no models/${id}.json)`, { modelId: id });
  }
  if (manifest.task !== 'pose' || manifest.decoder !== 'movenet') throw new RaypackError('bad_parameter', `model '${id}' is a ${manifest.task} model, not a pose model`);
  const variant = options.variant ?? 'fp32';
  const file = variantPath(id, variant);
  if (variant === 'int8' && !existsSync(file)) {
    throw new RaypackError('model_unavailable', `${file} is not built: run ${buildCommand(id, variant)}, or use variant fp32`, { modelId: id });
  }
  const session = await createSession(file, { threads: options.threads, executionProviders: options.executionProviders });
  const minScore = options.minScore ?? manifest.defaultThreshold;
  const maxPeople = options.maxPeople ?? DEFAULT_MAX_PEOPLE;
  return new MovenetDetector(variant === 'fp32' ? id : `${id}.${variant}`, manifest, session, minScore, maxPeople);
}

class MovenetDetector implements PoseDetector {
  private readonly dims: readonly number[];
  private readonly freeInputs: Float32Array[] = [];

  constructor(
    readonly modelId: string,
    private readonly manifest: ModelManifest,
    private readonly session: ModelSession,
    private readonly minScore: number,
    private readonly maxPeople: number,
  ) {
    this.dims = [1, 3, manifest.input.height, manifest.input.width];
  }

  async detect(image: RgbImage): Promise<Pose[]> {
    const { input } = this.manifest;
    const { tensor, transform } = await preprocess(image, input, undefined, this.freeInputs.pop());
    let raw;
    try {
      raw = await this.session.run(tensor, this.dims, this.manifest.outputs);
    } finally {
      if (this.freeInputs.length < 4) this.freeInputs.push(tensor);
    }
    const people = decodeMovenet(raw, this.manifest, { maxPeople: this.maxPeople });
    return people
      .filter((p) => p.score >= this.minScore)
      .map((p) => toImage(p, transform, input.width, input.height, image.width, image.height))
      .sort((a, b) => b.score - a.score);
  }

  async close(): Promise<void> {
    await this.session.close();
  }
}

const clamp = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);

/** A decoded person (normalised to the model input) in the image's pixels. */
export function toImage(p: ReturnType<typeof decodeMovenet>[number], t: Transform, inW: number, inH: number, width: number, height: number): Pose {
  const px = (x: number): number => clamp(x * inW * t.scaleX + t.offsetX, 0, width);
  const py = (y: number): number => clamp(y * inH * t.scaleY + t.offsetY, 0, height);
  const x1 = px(p.box.xmin);
  const y1 = py(p.box.ymin);
  return {
    score: p.score,
    box: [x1, y1, px(p.box.xmax) - x1, py(p.box.ymax) - y1],
    keypoints: p.keypoints.map((k, i) => ({ name: MOVENET_KEYPOINTS[i], x: px(k.x), y: py(k.y), score: k.score })),
  };
}
