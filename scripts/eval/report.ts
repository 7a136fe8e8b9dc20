/** The human table and the JSON document of an eval run (pure). */
import type { EvalResult } from './runner.ts';
import { EVAL_SCORE_THRESHOLD } from './runner.ts';
import { FACE_MIN_SIZE, IOU_MATCH } from './metrics.ts';

const HEADERS = ['model', 'set', 'AP50', 'AP50s', 'recall', 'precision', 'thr', 'ms/image', 'images'] as const;

function fixed(n: number | null, digits: number): string {
  return n === null || !Number.isFinite(n) ? '-' : n.toFixed(digits);
}

export function resultRow(r: EvalResult): string[] {
  return [
    r.variant ? `${r.model} [${r.variant}]` : r.model,
    r.set,
    fixed(r.ap50, 3),
    fixed(r.ap50Strict ?? null, 3),
    fixed(r.recall, 3),
    fixed(r.precision, 3),
    fixed(r.threshold, 2),
    fixed(r.msPerImage, 1),
    String(r.images),
  ];
}

/** The same rows as a Markdown table (for docs/EVAL.md). */
export function formatMarkdownTable(results: readonly EvalResult[]): string {
  const lines = [`| ${HEADERS.join(' | ')} |`, `|${HEADERS.map((_, c) => (c < 2 ? '---' : '---:')).join('|')}|`];
  for (const r of results) lines.push(`| ${resultRow(r).join(' | ')} |`);
  return lines.join('\n') + '\n';
}

export function formatTable(results: readonly EvalResult[]): string {
  const rows = [[...HEADERS], ...results.map(resultRow)];
  const widths = HEADERS.map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const line = (row: string[]): string => row.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  const out = [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
  const faces = results.filter((r) => r.ignored);
  if (faces.length > 0) {
    out.push('');
    out.push(
      `faces: AP50 at IoU >= ${IOU_MATCH}, detections collected at score >= ${EVAL_SCORE_THRESHOLD}; recall/precision at the ` +
        `model's threshold (thr). Faces smaller than ${FACE_MIN_SIZE} px (width or height), and detections matched to them ` +
        `or smaller than ${FACE_MIN_SIZE} px, are IGNORED (neither true nor false positives). AP50s: the strict protocol ` +
        `(detections scoring < 0.3 dropped, small unmatched detections count as false positives):`,
    );
    for (const r of faces) {
      out.push(`  ${r.model}${r.variant ? ` [${r.variant}]` : ''} on ${r.set}: ${r.ignored?.truths} of ${r.truths} faces ignored, ${r.ignored?.detections} detections ignored`);
    }
  }
  if (results.some((r) => r.task === 'objects')) {
    out.push('');
    out.push('objects: AP50 is COCO-style mAP50, the mean of per-class AP50 over the classes present in the ground truth; nothing is ignored.');
  }
  return out.join('\n') + '\n';
}

export interface EvalDocument {
  readonly dataDir: string;
  readonly scoreThreshold: number;
  readonly iouThreshold: number;
  readonly faceMinSize: number;
  readonly limit: number | null;
  readonly results: readonly EvalResult[];
}

export function evalDocument(dataDir: string, limit: number | undefined, results: readonly EvalResult[]): EvalDocument {
  return { dataDir, scoreThreshold: EVAL_SCORE_THRESHOLD, iouThreshold: IOU_MATCH, faceMinSize: FACE_MIN_SIZE, limit: limit ?? null, results };
}

/** The 1-point rule for an int8 default, in AP50 (mAP50) units. */
export const INT8_MAX_LOSS = 0.01;

/**
 * int8 against fp32, for every model and set scored both ways in one run (rows whose modelId is `<id>` and
 * `<id>.int8` with otherwise the same settings): AP50 change in points, and whether it keeps within the rule.
 */
export function formatVariantComparison(results: readonly EvalResult[]): string {
  const settings = (r: EvalResult): string => r.variant.split(' ').filter((p) => p !== '' && !p.startsWith('variant=')).join(' ');
  const lines: string[] = [];
  for (const q of results) {
    if (!q.model.endsWith('.int8')) continue;
    const base = q.model.slice(0, -'.int8'.length);
    const f = results.find((r) => r.model === base && r.set === q.set && settings(r) === settings(q));
    if (!f) continue;
    const points = (q.ap50 - f.ap50) * 100;
    const speed = q.msPerImage > 0 ? f.msPerImage / q.msPerImage : Number.NaN;
    const within = q.ap50 >= f.ap50 - INT8_MAX_LOSS - 1e-9;
    lines.push(
      `  ${base}${settings(q) ? ` [${settings(q)}]` : ''} on ${q.set}: int8 ${q.ap50.toFixed(3)} vs fp32 ${f.ap50.toFixed(3)} ` +
        `(${points >= 0 ? '+' : ''}${points.toFixed(1)} points, ${within ? 'within' : 'OUTSIDE'} the 1-point rule); ` +
        `detector ${Number.isFinite(speed) ? speed.toFixed(2) : '-'}x the fp32 speed in this run`,
    );
  }
  return lines.length > 0 ? `\nint8 against fp32 (AP50; mAP50 for objects):\n${lines.join('\n')}\n` : '';
}
