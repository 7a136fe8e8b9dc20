/**
 * `raypack-edge detect`: run a detector over image files and directories and print one result per image.
 *
 * jsonl (default), one line per image, in argument order (directories recursed in sorted order):
 *   {"file":"a.jpg","width":W,"height":H,"detections":[{"label":"face","score":0.9312,"box":[x,y,w,h]}]}
 * The box is in the image's own pixels (after EXIF rotation), corners rounded to whole pixels; the score has
 * 4 decimals. An image that cannot be read gets `{"file":"...","error":{"code":"...","message":"..."}}`, the
 * others are still done, and the exit code is 1. Usage errors exit 2.
 */
import { readFile, readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RaypackError, isRaypackError } from '../errors.ts';
import { AnalysisStage } from '../analysis/stage.ts';
import { reportedFor } from '../analysis/types.ts';
import { loadDetector } from '../detect/registry.ts';
import type { Detection, Detector, Task } from '../detect/types.ts';

const USAGE = `usage: raypack-edge detect [options] <image files or directories>

options:
  --task face|objects|food   what to detect (default face)
  --threshold T              minimum score, 0..1 (default: the model's)
  --model ID                 model id from models/<id>.json (default: the task's default model)
  --format jsonl|table       output format (default jsonl: one JSON object per image)
  --threads N                ONNX Runtime threads (default: all cores)
  --tiles N                  tiles along the longer side on top of the whole image, 0 = whole image only
                             (default: the model's; 2 finds more small faces at ~5x the time)
  --variant fp32|int8        which file of the model (default: the model's)
`;

const IMAGE_EXTENSIONS = /\.(jpe?g|png|webp)$/i;
const TASKS: readonly Task[] = ['face', 'objects', 'food'];

export interface ImageResult {
  readonly file: string;
  readonly width: number;
  readonly height: number;
  readonly detections: readonly Detection[];
}

export interface ImageError {
  readonly file: string;
  readonly error: { readonly code: string; readonly message: string };
}

/** The JSON line for one image: corners rounded to whole pixels (w, h from the rounded corners), score to 4 decimals. */
export function formatJsonl(result: ImageResult | ImageError): string {
  if ('error' in result) return JSON.stringify({ file: result.file, error: { code: result.error.code, message: result.error.message } });
  return JSON.stringify({
    file: result.file,
    width: result.width,
    height: result.height,
    detections: result.detections.map((d) => ({ label: d.label, score: roundScore(d.score), box: roundBox(d.box) })),
  });
}

export function roundScore(score: number): number {
  return Math.round(score * 10_000) / 10_000;
}

export function roundBox(box: readonly [number, number, number, number]): [number, number, number, number] {
  const x1 = Math.round(box[0]);
  const y1 = Math.round(box[1]);
  return [x1, y1, Math.round(box[0] + box[2]) - x1, Math.round(box[1] + box[3]) - y1];
}

export function formatTable(result: ImageResult | ImageError): string {
  if ('error' in result) return `${result.file}: ERROR ${result.error.code}: ${result.error.message}\n`;
  const head = `${result.file} (${result.width}x${result.height}): ${result.detections.length} detection${result.detections.length === 1 ? '' : 's'}\n`;
  const rows = result.detections.map((d) => {
    const [x, y, w, h] = roundBox(d.box);
    return `  ${d.label.padEnd(14)} ${roundScore(d.score).toFixed(4)}  x=${x} y=${y} w=${w} h=${h}\n`;
  });
  return head + rows.join('');
}

/** Files named directly are kept (even without an image extension: the bytes decide); directories are recursed. */
async function expand(paths: readonly string[]): Promise<(string | ImageError)[]> {
  const files: (string | ImageError)[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (info?.isDirectory()) files.push(...(await walk(path, new Set())));
    else files.push(path);
  }
  return files;
}

/**
 * Image files under `dir`, sorted; a directory that cannot be listed becomes an error entry of its own. Symbolic
 * links are followed (photo libraries are often links into other disks); a directory reached twice through links
 * (a loop) is listed once. A broken link is reported like a missing file.
 */
async function walk(dir: string, seen: Set<string>): Promise<(string | ImageError)[]> {
  const real = await realpath(dir).catch(() => dir);
  if (seen.has(real)) return [];
  seen.add(real);
  let entries;
  try {
    entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown';
    return [{ file: dir, error: { code: 'bad_parameter', message: `cannot list the directory (${code})` } }];
  }
  const out: (string | ImageError)[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    const link = entry.isSymbolicLink() ? await stat(path).catch(() => 'broken' as const) : undefined;
    if (entry.isDirectory() || (link !== undefined && link !== 'broken' && link.isDirectory())) out.push(...(await walk(path, seen)));
    else if ((entry.isFile() || link !== undefined) && IMAGE_EXTENSIONS.test(entry.name)) out.push(path);
  }
  return out;
}

async function detectFile(stage: AnalysisStage, task: Task, file: string, threshold: number | undefined): Promise<ImageResult | ImageError> {
  try {
    const bytes = await readFile(file).catch((error: NodeJS.ErrnoException) => {
      const code = error.code === 'ENOENT' ? 'not_found' : 'bad_parameter';
      throw new RaypackError(code, error.code === 'ENOENT' ? 'no such file' : `cannot read the file (${error.code ?? error.message})`);
    });
    // The stage decodes only as large as the detector needs (JPEG shrink-on-load) and maps boxes to the original.
    const analysis = await stage.analyse({ bytes: new Uint8Array(bytes) }, { report: { [task]: { threshold } } });
    return { file, width: analysis.width, height: analysis.height, detections: reportedFor(analysis, task) };
  } catch (error) {
    if (isRaypackError(error)) return { file, error: { code: error.code, message: error.message } };
    return { file, error: { code: 'internal', message: error instanceof Error ? error.message : String(error) } };
  }
}

function usageError(message: string): number {
  process.stderr.write(`raypack-edge detect: ${message}\n${USAGE}`);
  return 2;
}

export async function detectCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        task: { type: 'string', default: 'face' },
        threshold: { type: 'string' },
        model: { type: 'string' },
        format: { type: 'string', default: 'jsonl' },
        threads: { type: 'string' },
        tiles: { type: 'string' },
        variant: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    return usageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const task = values.task as Task;
  if (!TASKS.includes(task)) return usageError(`--task must be one of ${TASKS.join(', ')}`);
  if (values.format !== 'jsonl' && values.format !== 'table') return usageError('--format must be jsonl or table');
  const threshold = values.threshold === undefined ? undefined : Number(values.threshold);
  if (threshold !== undefined && !(threshold >= 0 && threshold <= 1)) return usageError('--threshold must be a number from 0 to 1');
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) return usageError('--threads must be a whole number >= 1');
  const tiles = values.tiles === undefined ? undefined : Number(values.tiles);
  if (tiles !== undefined && !(Number.isInteger(tiles) && tiles >= 0 && tiles <= 8)) return usageError('--tiles must be a whole number from 0 to 8');
  const variant = values.variant as 'fp32' | 'int8' | undefined;
  if (variant !== undefined && variant !== 'fp32' && variant !== 'int8') return usageError('--variant must be fp32 or int8');
  if (positionals.length === 0) return usageError('no image files or directories given');

  let detector: Detector;
  try {
    // food runs the objects model and keeps COCO's food classes, as the stage reports it.
    detector = await loadDetector(task === 'food' ? 'objects' : task, { modelId: values.model, threads, tiles, variant });
  } catch (error) {
    process.stderr.write(`raypack-edge detect: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  const format = values.format === 'table' ? formatTable : (r: ImageResult | ImageError) => formatJsonl(r) + '\n';
  let failed = 0;
  try {
    const stage = new AnalysisStage({ detectors: async () => detector });
    for (const item of await expand(positionals)) {
      const result = typeof item === 'string' ? await detectFile(stage, task, item, threshold) : item;
      if ('error' in result) failed++;
      process.stdout.write(format(result));
    }
  } finally {
    await detector.close();
  }
  return failed > 0 ? 1 : 0;
}
