/**
 * ONNX Runtime session settings compared on one model: intra-op threads, graph optimisation level, CPU memory
 * arena. Only `session.run` is timed, on a real photo preprocessed as the detector does it, and the settings are
 * interleaved (each round runs every setting once) so background load is shared out evenly.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { readManifest } from '../../src/detect/manifest.ts';
import { preprocess } from '../../src/detect/preprocess.ts';
import { decodeImage } from '../../src/image/decode.ts';
import { summarize, type LatencySummary } from './stats.ts';
import { variantPath } from '../../src/detect/registry.ts';
import type { Variant } from './variant-detector.ts';

export interface TuningSetting {
  readonly name: string;
  readonly options: ort.InferenceSession.SessionOptions;
}

export interface TuningResult {
  readonly model: string;
  readonly setting: string;
  readonly run: LatencySummary;
  /** Session creation time (graph optimisation happens here). */
  readonly createMs: number;
}

/** The settings compared: what onnx-session.ts uses, and one change at a time from it. */
export function tuningSettings(cores = availableParallelism()): TuningSetting[] {
  const spinning = (on: boolean): ort.InferenceSession.SessionOptions['extra'] => ({
    session: { intra_op: { allow_spinning: on ? '1' : '0' }, inter_op: { allow_spinning: on ? '1' : '0' } },
  });
  // As src/detect/onnx-session.ts creates sessions: all optimisations, all cores, threads that do not spin.
  const base: ort.InferenceSession.SessionOptions = {
    extra: spinning(false),
    graphOptimizationLevel: 'all',
    intraOpNumThreads: cores,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    enableCpuMemArena: true,
    enableMemPattern: true,
  };
  return [
    { name: `product (all, ${cores} threads, no spin)`, options: base },
    { name: 'threads spin (ORT default)', options: { ...base, extra: spinning(true) } },
    { name: '1 thread', options: { ...base, intraOpNumThreads: 1 } },
    // 'all' adds the layout transforms (int8 convs to NHWC, float convs to NCHWc blocks) on top of 'extended'.
    { name: 'optimisation: extended (no layout transforms)', options: { ...base, graphOptimizationLevel: 'extended' } },
    { name: 'optimisation: basic', options: { ...base, graphOptimizationLevel: 'basic' } },
    { name: 'optimisation: disabled', options: { ...base, graphOptimizationLevel: 'disabled' } },
    { name: 'no memory arena / pattern', options: { ...base, enableCpuMemArena: false, enableMemPattern: false } },
  ];
}

export async function measureTuning(
  modelId: string,
  variant: Variant,
  photo: string,
  options: { iterations: number; warmup: number; settings?: readonly TuningSetting[] },
): Promise<TuningResult[]> {
  const manifest = readManifest(modelId);
  const image = await decodeImage(new Uint8Array(await readFile(photo)));
  const { tensor } = await preprocess(image, manifest.input);
  const dims = [1, 3, manifest.input.height, manifest.input.width];
  const settings = options.settings ?? tuningSettings();
  const sessions: { setting: TuningSetting; session: ort.InferenceSession; createMs: number; times: number[] }[] = [];
  try {
    for (const setting of settings) {
      const t0 = performance.now();
      const session = await ort.InferenceSession.create(variantPath(modelId, variant), setting.options);
      sessions.push({ setting, session, createMs: performance.now() - t0, times: [] });
    }
    const feedFor = (s: ort.InferenceSession): Record<string, ort.Tensor> => ({ [s.inputNames[0]]: new ort.Tensor('float32', tensor, dims) });
    for (const s of sessions) for (let i = 0; i < options.warmup; i++) await s.session.run(feedFor(s.session));
    for (let round = 0; round < options.iterations; round++) {
      for (let k = 0; k < sessions.length; k++) {
        const s = sessions[(k + round) % sessions.length];
        const feed = feedFor(s.session);
        const t0 = performance.now();
        await s.session.run(feed);
        s.times.push(performance.now() - t0);
      }
    }
    return sessions.map((s) => ({ model: variant === 'fp32' ? modelId : `${modelId}.${variant}`, setting: s.setting.name, run: summarize(s.times), createMs: s.createMs }));
  } finally {
    for (const s of sessions) await s.session.release();
  }
}
