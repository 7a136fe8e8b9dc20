/**
 * Static int8 quantization (QDQ) of the ONNX models in models/build, calibrated on real photos:
 *
 *   npx tsx scripts/quantize.ts                      every model with a manifest and a built .onnx
 *   npx tsx scripts/quantize.ts blazeface-front      only these model ids
 *   options: --images N (shared photos added to the 6 face-api samples, default 24), --percentile P (default
 *   99.9; 100 = min/max), --per-tensor (int8 weights per tensor instead of per output channel), --int8-head
 *   (quantize the detection heads too; by default the nodes writing the graph outputs stay float)
 *   npx tsx scripts/quantize.ts --onnx in.onnx --out out.onnx --spec '{"name":"input","width":320,...}'
 *
 * Writes models/build/<id>.int8.onnx next to <id>.onnx and prints, per model, how far the int8 outputs are from
 * the float ones on a photo that was not used for calibration.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { BUILD_DIR, listManifests } from '../src/detect/manifest.ts';
import { calibrate } from './quantize/calibrate.ts';
import { sampleImages, sharedImages, toInputTensor, calibrationFeeds, type InputSpec } from './quantize/calibration-images.ts';
import { loadModel, saveModel } from './quantize/onnx-model.ts';
import { applyQdq, planQuantization } from './quantize/qdq.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface QuantizeResult {
  readonly input: string;
  readonly output: string;
  readonly calibrationImages: number;
  readonly activations: number;
  readonly weights: number;
  readonly perChannel: boolean;
  readonly opset: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  /** Largest relative difference between float and int8 outputs on a held-out photo, per output. */
  readonly outputDrift: Record<string, number>;
}

export async function quantizeFile(
  input: string,
  output: string,
  spec: InputSpec,
  options: { images?: number; percentile?: number; perChannel?: boolean; floatHead?: boolean } = {},
): Promise<QuantizeResult> {
  const model = loadModel(input);
  const plan = planQuantization(model, { perChannel: options.perChannel, floatHead: options.floatHead });
  const samples = sampleImages();
  // sample6 is held out of calibration and used to measure the drift of the outputs.
  const heldOut = samples[samples.length - 1];
  const files = [...samples.slice(0, -1), ...sharedImages(ROOT, options.images ?? 24)];
  const ranges = await calibrate(model, plan.activations, calibrationFeeds(files, spec), { percentile: options.percentile });
  const summary = applyQdq(model, plan, ranges);
  saveModel(model, output);
  const outputDrift = await compareOutputs(input, output, heldOut, spec);
  return {
    input,
    output,
    calibrationImages: files.length,
    activations: summary.quantizedActivations,
    weights: summary.quantizedWeights,
    perChannel: summary.perChannel,
    opset: summary.opset,
    bytesBefore: statSync(input).size,
    bytesAfter: statSync(output).size,
    outputDrift,
  };
}

/** max|int8 - fp32| / max|fp32| for each output on one photo: a quick guard against a broken rewrite. */
async function compareOutputs(floatPath: string, int8Path: string, image: string, spec: InputSpec): Promise<Record<string, number>> {
  const feed = { [spec.name]: await toInputTensor(image, spec) };
  const [a, b] = await Promise.all([ort.InferenceSession.create(floatPath), ort.InferenceSession.create(int8Path)]);
  try {
    const [outA, outB] = [await a.run(feed), await b.run(feed)];
    const drift: Record<string, number> = {};
    for (const name of a.outputNames) {
      const x = outA[name].data as Float32Array;
      const y = outB[name].data as Float32Array;
      let maxAbs = 0;
      let maxDiff = 0;
      for (let i = 0; i < x.length; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(x[i]));
        maxDiff = Math.max(maxDiff, Math.abs(x[i] - y[i]));
      }
      drift[name] = maxAbs > 0 ? maxDiff / maxAbs : maxDiff;
    }
    return drift;
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

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      images: { type: 'string' },
      percentile: { type: 'string' },
      'per-tensor': { type: 'boolean' },
      'int8-head': { type: 'boolean' },
      onnx: { type: 'string' },
      out: { type: 'string' },
      spec: { type: 'string' },
    },
  });
  const options = {
    images: values.images === undefined ? undefined : Number(values.images),
    // 99.9 lost the least AP50 on WIDER FACE of min/max, 99.99, 99.9 and 99.999 for ssd-mobilenetv1-face
    // (docs/BENCHMARKS.md); `--percentile 100` is plain min/max.
    percentile: Number(values.percentile ?? 99.9),
    perChannel: !values['per-tensor'],
    floatHead: !values['int8-head'],
  };
  const jobs: { input: string; output: string; spec: InputSpec }[] = [];
  if (values.onnx) {
    if (!values.out || !values.spec) throw new Error('--onnx needs --out and --spec');
    jobs.push({ input: values.onnx, output: values.out, spec: JSON.parse(values.spec) as InputSpec });
  } else {
    for (const manifest of listManifests()) {
      if (positionals.length > 0 && !positionals.includes(manifest.id)) continue;
      const input = join(BUILD_DIR, `${manifest.id}.onnx`);
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
      jobs.push({ input, output: join(BUILD_DIR, `${manifest.id}.int8.onnx`), spec });
    }
  }
  if (jobs.length === 0) {
    process.stderr.write('quantize: nothing to do\n');
    return 1;
  }
  for (const job of jobs) {
    const result = await quantizeFile(job.input, job.output, job.spec, options);
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
