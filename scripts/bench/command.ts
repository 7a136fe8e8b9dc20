/**
 * `raypack-edge bench`: our detectors against the Node libraries users pick today (face-api, Human on tfjs-wasm),
 * measured in the same run on the same photos, plus the camera pipeline under load. See docs/BENCHMARKS.md.
 */
import { writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRaypackError } from '../../src/errors.ts';
import { logger } from '../../src/log.ts';
import { listManifests } from '../../src/detect/manifest.ts';
import { DEFAULT_MODELS, MODEL_DEFAULTS, buildCommand, loadDetector, splitVariant } from '../../src/detect/registry.ts';
import type { Task } from '../../src/detect/types.ts';
import { benchImageSets, faceApiSamples } from './images.ts';
import { measureLatency, ourContender, peerContender, type Contender, type SetResult } from './latency.ts';
import { machineInfo, machineLine } from './machine.ts';
import { BENCH_USAGE, parseBenchArgs, type BenchOptions } from './options.ts';
import { PeerClient } from './peers/client.ts';
import { PEERS, type PeerId } from './peers/protocol.ts';
import { runPipeline, type PipelineResult } from './pipeline.ts';
import { DEFAULT_PRIVACY } from '../../src/analysis/privacy.ts';
import { BASELINE_PRIVACY } from '../eval/privacy.ts';
import { latencyTable, pipelineLines, tuningLines } from './report.ts';
import { measureTuning, type TuningResult } from './ort-tuning.ts';
import { hasVariant, loadVariantDetector, type Variant } from './variant-detector.ts';

const log = logger('bench');
const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Our models for a task. `--models` names exactly what runs: `id` is the float file, `id.int8` the quantized one.
 * Without it: every manifest of the task whose ONNX file is built, plus its int8 copy when built (unless --no-int8);
 * a quick run keeps to the task's default model, as the registry loads it by default.
 */
function ourModels(task: 'face' | 'objects', options: BenchOptions): { id: string; variant: Variant }[] {
  const ofTask = new Set(listManifests().filter((m) => m.task === task).map((m) => m.id));
  if (options.models) {
    return options.models
      .map(splitVariant)
      .map(({ id, variant }) => ({ id, variant: variant ?? ('fp32' as const) }))
      .filter((m) => ofTask.has(m.id) && hasVariant(m.id, m.variant));
  }
  if (options.quick) {
    const id = DEFAULT_MODELS[task];
    const variant = (MODEL_DEFAULTS[id]?.variant ?? 'fp32') as Variant;
    return [{ id, variant: hasVariant(id, variant) ? variant : 'fp32' }];
  }
  return [...ofTask].sort().flatMap((id) =>
    (['fp32', 'int8'] as const).filter((v) => hasVariant(id, v) && (v === 'fp32' || options.int8)).map((variant) => ({ id, variant })),
  );
}

async function benchTask(task: 'face' | 'objects', options: BenchOptions, peers: PeerClient | undefined): Promise<SetResult[]> {
  const contenders: Contender[] = [];
  try {
    for (const { id, variant } of ourModels(task, options)) {
      const detector = await loadVariantDetector(task as Task, id, variant, options.threads);
      contenders.push(ourContender(variant === 'fp32' ? id : `${id}.${variant}`, `${id}${variant === 'fp32' ? '' : ` ${variant}`} (onnxruntime)`, detector));
    }
    if (contenders.length === 0) {
      log.warn('no built model for this task: run `npm run models`', { task });
      return [];
    }
    if (peers) {
      for (const [peer, meta] of Object.entries(PEERS) as [PeerId, (typeof PEERS)[PeerId]][]) {
        if (meta.task !== task) continue;
        await peers.load(peer);
        contenders.push(peerContender(peers, peer, meta.label));
      }
    }
    const sets = benchImageSets(task, { samples: options.samples, shared: options.shared, projectRoot: PROJECT_ROOT });
    return await measureLatency(task, sets, contenders, { iterations: options.iterations, warmup: options.warmup });
  } finally {
    for (const c of contenders) await c.close();
  }
}

/** `--models` entries that would silently not run: unknown ids, and files not built (with the command that builds them). */
export function missingModels(entries: readonly string[]): string[] {
  const known = new Set(listManifests().map((m) => m.id));
  const problems: string[] = [];
  for (const entry of entries) {
    const { id, variant = 'fp32' } = splitVariant(entry);
    if (!known.has(id)) problems.push(`--models: no model '${id}'`);
    else if (!hasVariant(id, variant)) problems.push(`--models: ${entry} is not built: run ${buildCommand(id, variant)}`);
  }
  if (problems.some((p) => p.includes('no model'))) problems.push(`known models: ${[...known].sort().join(', ')}`);
  return problems;
}

export async function benchCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(BENCH_USAGE);
    return 0;
  }
  let options: BenchOptions;
  try {
    options = parseBenchArgs(argv);
  } catch (error) {
    process.stderr.write(`raypack-edge bench: ${error instanceof Error ? error.message : String(error)}\n${BENCH_USAGE}`);
    return 2;
  }
  const missing = missingModels(options.models ?? []);
  if (missing.length > 0) {
    process.stderr.write(`raypack-edge bench: ${missing.join('; ')}\n`);
    return 2;
  }
  const wantsLatency = options.parts.includes('face') || options.parts.includes('objects');
  const peers = wantsLatency && options.peers ? PeerClient.start() : undefined;
  const latency: SetResult[] = [];
  const pipelines: PipelineResult[] = [];
  const tuning: TuningResult[] = [];
  try {
    const peerInfo = peers ? await peers.info() : undefined;
    const machine = machineInfo();
    const header = machineLine(machine, peerInfo);
    process.stdout.write(`raypack-edge bench ${argv.join(' ')}\n${header}\n`);
    for (const task of ['face', 'objects'] as const) {
      if (!options.parts.includes(task)) continue;
      const results = await benchTask(task, options, peers);
      latency.push(...results);
      process.stdout.write(latencyTable(results).join('\n') + '\n');
    }
    if (options.parts.includes('pipeline')) {
      const [detector, objects] = await Promise.all([loadDetector('face', { threads: options.threads }), loadDetector('objects', { threads: options.threads })]);
      const runs = options.privacy === 'both' ? (['before', 'product'] as const) : [options.privacy];
      try {
        for (const run of runs) {
          const privacy = run === 'before' ? BASELINE_PRIVACY : DEFAULT_PRIVACY;
          const result = await runPipeline(detector, { ...options, projectRoot: PROJECT_ROOT, privacy, privacyName: run }, objects);
          pipelines.push(result);
          process.stdout.write(pipelineLines(result).join('\n') + '\n');
        }
      } finally {
        await Promise.all([detector.close(), objects.close()]);
      }
    }
    if (options.parts.includes('tuning')) {
      const ids = (options.models ?? [DEFAULT_MODELS.face, DEFAULT_MODELS.objects]).map((m) => splitVariant(m).id);
      for (const id of [...new Set(ids)]) {
        for (const variant of ['fp32', 'int8'] as const) {
          if (!hasVariant(id, variant) || (variant === 'int8' && !options.int8)) continue;
          tuning.push(...(await measureTuning(id, variant, faceApiSamples(1)[0], { iterations: Math.max(options.iterations, 3) * 2, warmup: options.warmup })));
        }
      }
      process.stdout.write(tuningLines(tuning).join('\n') + '\n');
    }
    if (options.json) {
      const report = { command: `raypack-edge bench ${argv.join(' ')}`, date: new Date().toISOString(), machine, machineLine: header, peers: peerInfo, options, latency, pipeline: pipelines.at(-1), pipelines, tuning };
      writeFileSync(options.json, JSON.stringify(report, null, 2) + '\n');
      process.stdout.write(`\nJSON written to ${options.json}\n`);
    }
    return 0;
  } catch (error) {
    process.stderr.write(`raypack-edge bench: ${error instanceof Error ? error.message : String(error)}\n`);
    if (!isRaypackError(error)) log.error('bench failed', { stack: error instanceof Error ? error.stack : undefined });
    return 1;
  } finally {
    await peers?.close();
  }
}
