/**
 * `raypack-edge eval`: scores detectors on the labelled sets in ../shared/data and prints a table plus JSON.
 * Exit codes: 0 all ran, 1 a detector failed to load or run, 2 bad arguments, 3 evaluation data absent.
 */
import { writeFileSync } from 'node:fs';
import { isRaypackError } from '../../src/errors.ts';
import { listManifests } from '../../src/detect/manifest.ts';
import { logger } from '../../src/log.ts';
import { EVAL_USAGE, parseEvalArgs, type EvalArgs } from './args.ts';
import { selectCandidates, type EvalTask } from './candidates.ts';
import { describeMissingData, referenceModelsDir, resolveDataDir } from './data-dir.ts';
import { FACE_SETS, OBJECT_SETS, limitDataset, loadDataset, type Dataset, type DatasetName } from './datasets.ts';
import { evalDocument, formatMarkdownTable, formatTable, formatVariantComparison } from './report.ts';
import { evaluateDetector, type EvalResult } from './runner.ts';

const log = logger('eval');

function setsFor(tasks: readonly EvalTask[]): DatasetName[] {
  return tasks.flatMap((t) => (t === 'face' ? FACE_SETS : OBJECT_SETS));
}

function taskOfModel(id: string): EvalTask | undefined {
  try {
    const manifest = listManifests().find((m) => m.id === id);
    return manifest && (manifest.task === 'face' || manifest.task === 'objects') ? manifest.task : undefined;
  } catch {
    return undefined;
  }
}

export async function evalCommand(argv: string[]): Promise<number> {
  let args: EvalArgs;
  try {
    args = parseEvalArgs(argv);
  } catch (error) {
    process.stderr.write(`raypack-edge eval: ${(error as Error).message}\n${EVAL_USAGE}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(EVAL_USAGE);
    return 0;
  }
  const tasks: EvalTask[] = args.privacy ? ['face'] : args.task === 'all' ? ['face', 'objects'] : [args.task];
  const dataDir = resolveDataDir(args.dataDir);
  const missing = describeMissingData(dataDir, setsFor(tasks));
  if (missing) {
    process.stderr.write(`raypack-edge eval: ${missing}`);
    return 3;
  }
  if (args.privacy) return (await import('./privacy-command.ts')).privacyEvalCommand(args, dataDir);
  let candidates;
  try {
    candidates = selectCandidates({
      tasks,
      models: args.models,
      reference: args.reference,
      options: args.options,
      modelsDir: referenceModelsDir(dataDir),
      threads: args.threads,
      taskOfModel,
      variants: args.variants,
    });
  } catch (error) {
    process.stderr.write(`raypack-edge eval: ${(error as Error).message}\n`);
    return 2;
  }
  if (candidates.length === 0) {
    process.stderr.write(`raypack-edge eval: no model to evaluate for --task ${args.task}\n`);
    return 2;
  }

  const datasets = new Map<DatasetName, Dataset>();
  for (const name of setsFor(tasks)) datasets.set(name, limitDataset(await loadDataset(dataDir, name), args.limit));

  const results: EvalResult[] = [];
  const failures: string[] = [];
  for (const candidate of candidates) {
    let detector;
    try {
      detector = await candidate.load();
    } catch (error) {
      failures.push(`${candidate.label}: cannot load: ${isRaypackError(error) ? error.message : String(error)}`);
      continue;
    }
    try {
      for (const name of setsFor([candidate.task])) {
        const dataset = datasets.get(name) as Dataset;
        log.info('evaluating', { model: detector.modelId, variant: candidate.variant, set: name, images: dataset.images.length });
        const variant = [candidate.variant, args.decode === 'full' ? '' : `decode=${args.decode}`].filter(Boolean).join(' ');
        const result = await evaluateDetector(detector, dataset, { variant, decode: args.decode });
        log.info('done', { model: result.model, set: name, ap50: Number(result.ap50.toFixed(4)), msPerImage: Number(result.msPerImage.toFixed(1)) });
        results.push(result);
      }
    } catch (error) {
      failures.push(`${detector.modelId}: failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      await detector.close();
    }
  }

  process.stdout.write(args.markdown ? formatMarkdownTable(results) : formatTable(results));
  process.stdout.write(formatVariantComparison(results));
  const json = JSON.stringify(evalDocument(dataDir, args.limit, results), null, 2) + '\n';
  if (args.jsonFile) {
    writeFileSync(args.jsonFile, json);
    process.stdout.write(`\nJSON written to ${args.jsonFile}\n`);
  } else {
    process.stdout.write('\n' + json);
  }
  for (const f of failures) process.stderr.write(`raypack-edge eval: ${f}\n`);
  return failures.length > 0 ? 1 : 0;
}
