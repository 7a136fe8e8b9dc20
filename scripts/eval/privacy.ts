/**
 * `raypack-edge eval --privacy`: how much of each labelled face the anonymized picture hides. Every image goes
 * through the analysis stage the API and the cameras use, and the hidden area is the renderer's own
 * (anonymize.ts hiddenAreas), so the figures are those of the pictures served. Per labelled face whose sides are
 * both at least 10 px: the share of its box hidden; coverage50/70/90 = the share of faces hidden at least that
 * much, overall and by face size (the box's longer side: 10-20, 20-40, 40-80, > 80 px). False fill: hidden pixels
 * outside every labelled face grown by our margin, as a share of the image (the labels of facemask-voc are not
 * exhaustive, so some of it is real faces). The pure parts are tested in test/eval/privacy.test.ts.
 */
import { readFile } from 'node:fs/promises';
import type { Rect } from '../../src/core/geometry.ts';
import type { AnalysisStage } from '../../src/analysis/stage.ts';
import type { PrivacyMode } from '../../src/analysis/types.ts';
import { DEFAULT_PRIVACY, type PrivacySettings } from '../../src/analysis/privacy.ts';
import { expandWithMargin } from '../../src/core/geometry.ts';
import { hiddenAreas } from '../../src/image/anonymize.ts';
import type { Dataset } from './datasets.ts';

/** What hiding looked like before the privacy stage: one whole-image face pass, hidden from score 0.5. */
export const BASELINE_PRIVACY: PrivacySettings = { ...DEFAULT_PRIVACY, threshold: 0.5, tiles: 0, models: [], personHeads: false, poseHeads: false, flip: false, border: 0 };

export const SIZE_BUCKETS = [
  { name: '10-20', min: 10, max: 20 },
  { name: '20-40', min: 20, max: 40 },
  { name: '40-80', min: 40, max: 80 },
  { name: '>80', min: 80, max: Infinity },
] as const;

export const MIN_FACE_SIDE = 10;

/** A mask of the hidden pixels (1 = hidden) from integer rectangles. */
export function rasterize(rects: readonly Rect[], width: number, height: number): Uint8Array {
  const mask = new Uint8Array(width * height);
  for (const r of rects) {
    const x0 = Math.max(0, Math.floor(r.x));
    const y0 = Math.max(0, Math.floor(r.y));
    const x1 = Math.min(width, Math.ceil(r.x + r.width));
    const y1 = Math.min(height, Math.ceil(r.y + r.height));
    for (let y = y0; y < y1; y++) mask.fill(1, y * width + x0, y * width + x1);
  }
  return mask;
}

/** The share of `box`'s pixels that are hidden (pixel centres inside the box count). */
export function coverageOf(mask: Uint8Array, width: number, height: number, box: Rect): number {
  const x0 = Math.max(0, Math.round(box.x));
  const y0 = Math.max(0, Math.round(box.y));
  const x1 = Math.min(width, Math.round(box.x + box.width));
  const y1 = Math.min(height, Math.round(box.y + box.height));
  let hidden = 0;
  let total = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      total += 1;
      hidden += mask[y * width + x];
    }
  }
  return total > 0 ? hidden / total : 0;
}

/** Hidden pixels outside every face grown by the render margin, as a share of all pixels. */
export function falseFill(mask: Uint8Array, width: number, height: number, faces: readonly Rect[]): number {
  const allowed = rasterize(
    faces.map((f) => expandWithMargin(f, width, height)),
    width,
    height,
  );
  let outside = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] && !allowed[i]) outside += 1;
  return mask.length > 0 ? outside / mask.length : 0;
}

export interface FaceCoverage {
  /** The labelled box's longer side in pixels. */
  readonly size: number;
  readonly coverage: number;
}

export interface CoverageSummary {
  readonly faces: number;
  readonly coverage50: number;
  readonly coverage70: number;
  readonly coverage90: number;
}

export function summarize(faces: readonly FaceCoverage[]): CoverageSummary {
  const share = (t: number): number => (faces.length > 0 ? faces.filter((f) => f.coverage >= t).length / faces.length : Number.NaN);
  return { faces: faces.length, coverage50: share(0.5), coverage70: share(0.7), coverage90: share(0.9) };
}

export interface PrivacyResult {
  readonly set: string;
  readonly settings: string;
  readonly images: number;
  readonly overall: CoverageSummary;
  readonly atLeast40: CoverageSummary;
  readonly bySize: Readonly<Record<string, CoverageSummary>>;
  /** Mean over images of the falsely filled share. */
  readonly falseFill: number;
  readonly msPerImage: number;
  /** The faces of 40 px or more hidden less than 70 %: the worst misses, for looking at. */
  readonly misses: readonly { readonly image: string; readonly box: readonly number[]; readonly coverage: number }[];
}

export function summarizeSet(set: string, settings: string, images: number, faces: readonly FaceCoverage[], fill: readonly number[], ms: number, misses: PrivacyResult['misses']): PrivacyResult {
  const bySize: Record<string, CoverageSummary> = {};
  for (const b of SIZE_BUCKETS) bySize[b.name] = summarize(faces.filter((f) => f.size >= b.min && f.size < b.max));
  return {
    set,
    settings,
    images,
    overall: summarize(faces),
    atLeast40: summarize(faces.filter((f) => f.size >= 40)),
    bySize,
    falseFill: fill.length > 0 ? fill.reduce((a, b) => a + b, 0) / fill.length : 0,
    msPerImage: images > 0 ? ms / images : 0,
    misses,
  };
}

/** Run the stage on every image of a face set and measure what its anonymized picture hides. */
export async function evaluatePrivacy(
  stage: AnalysisStage,
  dataset: Dataset,
  options: { settings: string; mode?: PrivacyMode; onImage?: (done: number, total: number) => void },
): Promise<PrivacyResult> {
  const faces: FaceCoverage[] = [];
  const fill: number[] = [];
  const misses: { image: string; box: number[]; coverage: number }[] = [];
  let ms = 0;
  for (const [index, item] of dataset.images.entries()) {
    const bytes = new Uint8Array(await readFile(item.path));
    const t0 = performance.now();
    const analysis = await stage.analyse({ bytes }, { privacy: options.mode ?? 'faces' });
    ms += performance.now() - t0;
    const { width, height } = analysis;
    const mask = rasterize(hiddenAreas(analysis.privacy ?? [], width, height), width, height);
    const truths = item.truths.map((t) => ({ x: t.box[0], y: t.box[1], width: t.box[2], height: t.box[3] }));
    for (const box of truths) {
      if (Math.min(box.width, box.height) < MIN_FACE_SIDE) continue;
      const coverage = coverageOf(mask, width, height, box);
      const size = Math.max(box.width, box.height);
      faces.push({ size, coverage });
      if (size >= 40 && coverage < 0.7) misses.push({ image: item.id, box: [box.x, box.y, box.width, box.height].map(Math.round), coverage: Math.round(coverage * 100) / 100 });
    }
    fill.push(falseFill(mask, width, height, truths));
    options.onImage?.(index + 1, dataset.images.length);
  }
  return summarizeSet(dataset.name, options.settings, dataset.images.length, faces, fill, ms, misses);
}

function pct(v: number): string {
  return Number.isNaN(v) ? '   -' : `${(v * 100).toFixed(1).padStart(5)}`;
}

/** The table: one row per (set, settings), coverage70 by size, false fill and time. */
export function formatPrivacyTable(results: readonly PrivacyResult[]): string {
  const head = `${'set'.padEnd(20)} ${'settings'.padEnd(28)} faces  cov50  cov70  cov90  c70>=40  ${SIZE_BUCKETS.map((b) => `c70 ${b.name}`.padStart(10)).join(' ')}  falsefill  ms/img\n`;
  const rows = results.map(
    (r) =>
      `${r.set.padEnd(20)} ${r.settings.slice(0, 28).padEnd(28)} ${String(r.overall.faces).padStart(5)}  ${pct(r.overall.coverage50)}  ${pct(r.overall.coverage70)}  ${pct(r.overall.coverage90)}  ${pct(r.atLeast40.coverage70).padStart(7)}  ` +
      `${SIZE_BUCKETS.map((b) => `${pct(r.bySize[b.name].coverage70)} (${r.bySize[b.name].faces})`.padStart(10)).join(' ')}  ${pct(r.falseFill).padStart(9)}  ${r.msPerImage.toFixed(0).padStart(6)}\n`,
  );
  return head + '-'.repeat(head.length - 1) + '\n' + rows.join('') + 'coverage in %: the share of labelled faces (both sides >= 10 px) with at least 50/70/90 % of their box hidden; by size: the box\'s longer side; false fill: hidden pixels outside every labelled face grown by the render margin, % of the image.\n';
}
