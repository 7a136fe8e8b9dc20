/**
 * Static int8 quantization (QDQ) of the ONNX models in models/build, calibrated on real photos:
 *
 *   npx tsx scripts/quantize.ts                      every model with a manifest and a built .onnx
 *   npx tsx scripts/quantize.ts blazeface-front      only these model ids
 *   options: --images N (COCO train photos added to the face-api samples, default 24), --percentile P (activation
 *   ranges: 100 = min/max, the default; a list or `auto` builds each and keeps the one closest to the float
 *   outputs on held-out photos), --per-tensor (int8 weights per tensor instead of per output channel),
 *   --float-head (keep the detection heads float: the convs writing the graph outputs, through their
 *   Sigmoid/Split/Reshape/Concat), --no-bias-correction, --keep-float NODE,... (more float nodes, by name)
 *   npx tsx scripts/quantize.ts --onnx in.onnx --out out.onnx --spec '{"name":"input","width":320,...}' [--table t.json]
 *
 * Writes models/build/<id>.int8.onnx next to <id>.onnx, and the calibration table it was made from to
 * models/calibration/<id>.json (scripts/quantize/table.ts: committed, so that scripts/build-models.ts can rebuild
 * the same int8 bytes at install without the photos), and prints, per model, how far the int8 outputs are from
 * the float ones on photos that were not used for calibration.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { calibrationTablePath, int8OnnxPath, listManifests, onnxPath } from '../src/detect/manifest.ts';
import { calibrateMethods, type Ranges } from './quantize/calibrate.ts';
import { sampleImages, sharedImages, toInputTensor, calibrationFeeds, type InputSpec } from './quantize/calibration-images.ts';
import { loadModel, saveModel } from './quantize/onnx-model.ts';
import { convInputMeans, quantizedConvs } from './quantize/bias-correction.ts';
import { applyQdq, planQuantization } from './quantize/qdq.ts';
import { simplify } from './quantize/simplify.ts';
import { TABLE_FORMAT, sha256, toFloat32Means, writeTable, type CalibrationTable } from './quantize/table.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface QuantizeResult {
  readonly input: string;
  readonly output: string;
  readonly calibrationImages: number;
  readonly heldOutImages: number;
  readonly activations: number;
  readonly weights: number;
  /** Convs whose bias was corrected for the mean shift of their rounded weights. */
  readonly correctedBiases: number;
  readonly perChannel: boolean;
  readonly opset: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  /** Calibration method kept: the percentile at each end (100 = min/max). */
  readonly percentile: number;
  /** RMS error of the outputs relative to the float model's, on held-out photos, for every method tried. */
  readonly outputError: Record<string, number>;
  /** Where the calibration table went (none for --onnx jobs without --table), and its size. */
  readonly table?: string;
  readonly tableBytes?: number;
}

export interface QuantizeOptions {
  /** COCO train2017 photos added to the face-api samples for calibration (default 24). */
  readonly images?: number;
  /**
   * Calibration: the percentile kept at each end of every activation (100 = min/max, the default). With several,
   * each is built and the one whose outputs stay closest to the float model's on held-out photos is kept.
   */
  readonly percentiles?: readonly number[];
  readonly perChannel?: boolean;
  readonly floatHead?: boolean;
  /** Nodes (name or first output) to keep float besides the head. */
  readonly keepFloat?: readonly string[];
  /** Correct each Conv's bias for the mean shift of its rounded weights (default true; bias-correction.ts). */
  readonly biasCorrection?: boolean;
  /** Write the calibration table (table.ts) here; `tableModel` names the model in it (default: the file name). */
  readonly table?: string;
  readonly tableModel?: string;
}

/** A photo's name without this machine's paths: `@vladmandic/face-api/demo/sample1.jpg`, `coco/train2017/images/x.jpg`. */
export function sourceName(file: string): string {
  const parts = resolve(file).split(sep);
  const modules = parts.lastIndexOf('node_modules');
  if (modules >= 0) return parts.slice(modules + 1).join('/');
  const data = parts.findIndex((p, i) => p === 'data' && parts[i - 1] === 'shared');
  if (data >= 0) return parts.slice(data + 1).join('/');
  return relative(ROOT, file).split(sep).join('/');
}

export async function quantizeFile(
  input: string,
  output: string,
  spec: InputSpec,
  options: QuantizeOptions = {},
): Promise<QuantizeResult> {
  const model = loadModel(input);
  simplify(model);
  const plan = planQuantization(model, { perChannel: options.perChannel, floatHead: options.floatHead, keepFloat: options.keepFloat });
  const samples = sampleImages();
  // sample6 and three shared photos are held out of calibration to choose the method and report the error.
  const pool = sharedImages(ROOT, (options.images ?? 24) + 3);
  const step = Math.max(1, Math.floor(pool.length / 3));
  const heldShared = pool.filter((_, i) => i % step === 1).slice(0, 3);
  const heldOut = [samples[samples.length - 1], ...heldShared];
  const files = [...samples.slice(0, -1), ...pool.filter((f) => !heldShared.includes(f))];
  const methods = options.percentiles && options.percentiles.length > 0 ? options.percentiles : [100];
  const byMethod = await calibrateMethods(model, plan.activations, calibrationFeeds(files, spec), methods);
  let inputMeans: Map<string, Float64Array> | undefined;
  if (options.biasCorrection ?? true) {
    const { convs, weightDims } = quantizedConvs(model, plan.floatNodes);
    // Rounded to float32 as the calibration table stores them, so that the table rebuilds these very bytes.
    inputMeans = toFloat32Means(await convInputMeans(model, convs, weightDims, calibrationFeeds(files, spec)));
  }
  const outputError: Record<string, number> = {};
  let best: { percentile: number; error: number; path: string; summary: ReturnType<typeof applyQdq> } | undefined;
  for (const [percentile, ranges] of byMethod) {
    const candidate = loadModel(input);
    simplify(candidate);
    const summary = applyQdq(candidate, plan, ranges, inputMeans);
    const path = `${output}.p${percentile}.tmp`;
    saveModel(candidate, path);
    const error = await relativeOutputError(input, path, heldOut, spec);
    outputError[percentile >= 100 ? 'minmax' : `p${percentile}`] = error;
    if (!best || error < best.error) {
      if (best) rmSync(best.path, { force: true });
      best = { percentile, error, path, summary };
    } else {
      rmSync(path, { force: true });
    }
  }
  if (!best) throw new Error('no calibration method ran');
  renameSync(best.path, output);
  let tableBytes: number | undefined;
  if (options.table) {
    const table: CalibrationTable = {
      format: TABLE_FORMAT,
      model: options.tableModel ?? input.slice(input.lastIndexOf('/') + 1).replace(/\.onnx$/, ''),
      fp32Sha256: sha256(readFileSync(input)),
      options: {
        percentile: best.percentile,
        perChannel: options.perChannel ?? true,
        floatHead: options.floatHead ?? false,
        keepFloat: [...(options.keepFloat ?? [])],
        biasCorrection: options.biasCorrection ?? true,
      },
      calibration: { photos: files.length, heldOut: heldOut.length, sources: files.map(sourceName), heldOutSources: heldOut.map(sourceName) },
      ranges: byMethod.get(best.percentile) as Ranges,
      inputMeans: inputMeans ?? new Map(),
    };
    mkdirSync(dirname(options.table), { recursive: true });
    writeTable(options.table, table);
    tableBytes = statSync(options.table).size;
  }
  return {
    input,
    output,
    calibrationImages: files.length,
    heldOutImages: heldOut.length,
    activations: best.summary.quantizedActivations,
    weights: best.summary.quantizedWeights,
    correctedBiases: best.summary.correctedBiases,
    perChannel: best.summary.perChannel,
    opset: best.summary.opset,
    bytesBefore: statSync(input).size,
    bytesAfter: statSync(output).size,
    percentile: best.percentile,
    outputError,
    table: options.table,
    tableBytes,
  };
}

/**
 * sqrt(sum (int8 - fp32)^2 / sum fp32^2) for each output on each photo, averaged: how far the quantized model's
 * raw outputs are from the float ones, on photos calibration did not see.
 */
async function relativeOutputError(floatPath: string, int8Path: string, images: readonly string[], spec: InputSpec): Promise<number> {
  const [a, b] = await Promise.all([ort.InferenceSession.create(floatPath), ort.InferenceSession.create(int8Path)]);
  try {
    let total = 0;
    let count = 0;
    for (const image of images) {
      const feed = { [spec.name]: await toInputTensor(image, spec) };
      const [outA, outB] = [await a.run(feed), await b.run(feed)];
      for (const name of a.outputNames) {
        const x = outA[name].data as Float32Array;
        const y = outB[name].data as Float32Array;
        let diff = 0;
        let norm = 0;
        for (let i = 0; i < x.length; i++) {
          diff += (x[i] - y[i]) ** 2;
          norm += x[i] ** 2;
        }
        total += Math.sqrt(diff / (norm || 1));
        count += 1;
      }
    }
    return count > 0 ? total / count : Number.NaN;
  } finally {
    await Promise.all([a.release(), b.release()]);
  }
}

/** The fixed input size of the model's first input, when the graph states it. */
function staticInputSize(path: string): { name: string; width?: number; height?: number } {
  const input = loadModel(path).graph?.input?.[0];
  const dims = input?.type?.tensorType?.shape?.dim ?? [];
  const value = (i: number): number | undefined => {
    const d = dims[i]?.dimValue;
    const n = typeof d === 'number' ? d : d ? Number(d.toString()) : 0;
    return n > 0 ? n : undefined;
  };
  return { name: input?.name ?? 'input', height: value(2), width: value(3) };
}

/** `--percentile 99.99`, `--percentile 100,99.99` (keep the closest outputs), `--percentile auto` (100, 99.99, 99.9). */
export function parsePercentiles(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  const list = text === 'auto' ? [100, 99.99, 99.9] : text.split(',').map(Number);
  if (list.length === 0 || list.some((p) => !(p > 50 && p <= 100))) throw new Error(`--percentile: expected numbers in (50, 100] or auto, got '${text}'`);
  return list;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      images: { type: 'string' },
      percentile: { type: 'string' },
      'per-tensor': { type: 'boolean' },
      'float-head': { type: 'boolean' },
      'no-bias-correction': { type: 'boolean' },
      'keep-float': { type: 'string' },
      onnx: { type: 'string' },
      out: { type: 'string' },
      spec: { type: 'string' },
      table: { type: 'string' },
    },
  });
  const options: QuantizeOptions = {
    images: values.images === undefined ? undefined : Number(values.images),
    // Default min/max: on the SSD and NanoDet it scored AP as well as or better than clipping (docs/notes/int8.md).
    percentiles: parsePercentiles(values.percentile),
    perChannel: !values['per-tensor'],
    // Default int8 head: with bias correction it lost no more than the float head and is 10-15% faster.
    floatHead: values['float-head'] === true,
    biasCorrection: !values['no-bias-correction'],
    keepFloat: values['keep-float'] ? values['keep-float'].split(',').filter(Boolean) : undefined,
  };
  const jobs: { input: string; output: string; spec: InputSpec; table?: string; id?: string }[] = [];
  if (values.onnx) {
    if (!values.out || !values.spec) throw new Error('--onnx needs --out and --spec');
    jobs.push({ input: values.onnx, output: values.out, spec: JSON.parse(values.spec) as InputSpec, table: values.table });
  } else {
    for (const manifest of listManifests()) {
      if (positionals.length > 0 && !positionals.includes(manifest.id)) continue;
      const input = onnxPath(manifest.id);
      if (!existsSync(input)) {
        process.stderr.write(`quantize: ${manifest.id}: ${input} not built yet (npm run models), skipped\n`);
        continue;
      }
      const fixed = staticInputSize(input);
      const spec: InputSpec = {
        name: manifest.input.name ?? fixed.name,
        width: fixed.width ?? manifest.input.width,
        height: fixed.height ?? manifest.input.height,
        mean: manifest.input.mean,
        std: manifest.input.std,
        resize: manifest.input.resize,
      };
      jobs.push({ input, output: int8OnnxPath(manifest.id), spec, table: calibrationTablePath(manifest.id), id: manifest.id });
    }
  }
  if (jobs.length === 0) {
    process.stderr.write('quantize: nothing to do\n');
    return 1;
  }
  for (const job of jobs) {
    const result = await quantizeFile(job.input, job.output, job.spec, { ...options, table: job.table, tableModel: job.id });
    process.stdout.write(JSON.stringify(result) + '\n');
  }
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      process.stderr.write(`quantize: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
