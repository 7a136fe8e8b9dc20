/**
 * int8 against fp32 for each quantized model, on the labelled sets of ../shared/data, scored by `raypack-edge
 * eval`'s own runner (scripts/eval): AP50 (faces) or mAP50 (objects), recall at the default threshold, and the
 * detector time per image. Same detect loop for both files (scripts/bench/variant-detector.ts).
 *
 *   npx tsx scripts/quantize/compare.ts ssd-mobilenetv1-face nanodet [--limit N] [--json FILE]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { readManifest } from '../../src/detect/manifest.ts';
import { hasVariant, loadVariantDetector, type Variant } from '../bench/variant-detector.ts';
import { resolveDataDir } from '../eval/data-dir.ts';
import { FACE_SETS, OBJECT_SETS, limitDataset, loadDataset, missingDatasetPaths } from '../eval/datasets.ts';
import { evaluateDetector, type EvalResult } from '../eval/runner.ts';

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { limit: { type: 'string' }, json: { type: 'string' } } });
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  const dataDir = resolveDataDir();
  const rows: (EvalResult & { file: Variant })[] = [];
  for (const id of positionals) {
    if (!hasVariant(id, 'int8')) {
      process.stderr.write(`compare: ${id} has no int8 copy: run npx tsx scripts/quantize.ts ${id}\n`);
      continue;
    }
    const task = readManifest(id).task === 'face' ? 'face' : 'objects';
    for (const name of task === 'face' ? FACE_SETS : OBJECT_SETS) {
      if (missingDatasetPaths(dataDir, name).length > 0) continue;
      const dataset = limitDataset(await loadDataset(dataDir, name), limit);
      for (const variant of ['fp32', 'int8'] as const) {
        const detector = await loadVariantDetector(task, id, variant);
        try {
          const result = await evaluateDetector(detector, dataset, { variant });
          rows.push({ ...result, file: variant });
          process.stdout.write(
            `${id} ${variant} ${name} (${result.images} images, ${result.truths} truths): AP50 ${(100 * result.ap50).toFixed(1)}, ` +
              `recall ${(100 * result.recall).toFixed(1)} at ${result.threshold}, ${result.msPerImage.toFixed(1)} ms/image\n`,
          );
        } finally {
          await detector.close();
        }
      }
    }
  }
  if (values.json) writeFileSync(values.json, JSON.stringify(rows, null, 2) + '\n');
  return rows.length > 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    process.stderr.write(`compare: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  },
);
