/**
 * How well heads from poses cover labelled faces (issue 14, "heads from people and poses"): MoveNet MultiPose
 * (src/detect/pose.ts) on the shared face sets, one headRegion per pose (src/detect/head-region.ts), and for every
 * labelled face whose shorter side is at least 20 px the share of its box that the best single head region covers.
 * A face counts as covered at 70% or more. Reported by face size (the box's shorter side: 20-40, 40-80, over 80 px),
 * with how large the regions are against the faces they cover (area ratio), the false area (region pixels outside
 * every labelled face, as a share of image pixels) and the regions that cover no labelled face by half.
 *
 * With --face the default face detector runs too (loadDetector('face'), threshold 0.5 as the cameras use, raw boxes):
 * the table then says how many faces it leaves under 70% covered and how many of those the head regions cover,
 * which is what poses would add; and the same under the fallback rule (a head region is hidden only where it holds no
 * detected face's centre), with the false area of face boxes alone and with those regions. Comma lists sweep
 * settings from one model run per image.
 *
 *   npx tsx scripts/pose-heads.ts [--data DIR] [--sets wider,facemask] [--limit N] [--face] [--max-people 12]
 *       [--min-score 0.02] [--kp-score 0.1] [--width-scale 1] [--height-scale 1.2] [--drop 0.1]
 *       [--variant fp32|int8] [--threads N] [--json FILE]
 *
 * (defaults: those of loadPoseDetector and headRegion).
 *
 * With --bench it times instead: loadPoseDetector().detect() on a 1280x720 frame (face-api's sample5, six people,
 * cropped to 16:9), median of --runs (default 30) after 3 warm-up runs, and the ONNX run and the decoder alone.
 *
 *   npx tsx scripts/pose-heads.ts --bench [--runs 30] [--variant fp32|int8] [--threads N] [--max-people 12]
 *
 * Development tool (not a test): needs ../shared/data (or --data / RAYPACK_DATA) and `npm run models`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { decodeMovenet } from '../src/detect/decoders/movenet.ts';
import { CENTRE_DROP, HEAD_HEIGHT_SCALE, HEAD_WIDTH_SCALE, MIN_KEYPOINT_SCORE, headRegion } from '../src/detect/head-region.ts';
import { readManifest } from '../src/detect/manifest.ts';
import { createSession } from '../src/detect/onnx-session.ts';
import { DEFAULT_MAX_PEOPLE, POSE_MODEL, loadPoseDetector, toImage, type Pose } from '../src/detect/pose.ts';
import { preprocess } from '../src/detect/preprocess.ts';
import { loadDetector, variantPath, type ModelVariant } from '../src/detect/registry.ts';
import { decodeImage } from '../src/image/decode.ts';
import { describeMissingData, resolveDataDir } from './eval/data-dir.ts';
import { loadDataset, type Box, type Dataset, type DatasetName } from './eval/datasets.ts';

const SETS: Record<string, DatasetName> = { wider: 'faces/wider-val-416', facemask: 'faces/facemask-voc' };
const BUCKETS = [
  { label: '20-40', min: 20, max: 40 },
  { label: '40-80', min: 40, max: 80 },
  { label: '>80', min: 80, max: Infinity },
  { label: '>=20', min: 20, max: Infinity },
] as const;
const COVERED = 0.7;

export interface Config {
  readonly maxPeople: number;
  readonly minScore: number;
  readonly kpScore: number;
  /** headRegion's widthScale and heightScale. */
  readonly widthScale: number;
  readonly heightScale: number;
  /** headRegion's centreDrop. */
  readonly drop: number;
}

interface BucketStats {
  faces: number;
  heads: number;
  faceDetector: number;
  missed: number;
  /** Of the faces the face detector leaves under 70%, those a head region covers. */
  missedHeads: number;
  /** Covered by a face box or by a head region that holds no detected face (the fallback rule). */
  fallback: number;
}

interface SetStats {
  readonly buckets: BucketStats[];
  images: number;
  poses: number;
  regions: number;
  fromShoulders: number;
  /** Regions that cover no labelled face (of any size) by half or more. */
  unmatched: number;
  ratios: number[];
  falsePixels: number;
  /** Same, for the face boxes alone and for face boxes + fallback regions. */
  falseFacePixels: number;
  falseFallbackPixels: number;
  /** Regions that hold no detected face's centre. */
  fallbackRegions: number;
  pixels: number;
}

const newSet = (): SetStats => ({
  buckets: BUCKETS.map(() => ({ faces: 0, heads: 0, faceDetector: 0, missed: 0, missedHeads: 0, fallback: 0 })),
  images: 0,
  poses: 0,
  regions: 0,
  fromShoulders: 0,
  unmatched: 0,
  ratios: [],
  falsePixels: 0,
  falseFacePixels: 0,
  falseFallbackPixels: 0,
  fallbackRegions: 0,
  pixels: 0,
});

type Rect = readonly [number, number, number, number];

/** Share of `face` inside `r` (both [x, y, w, h]). */
export function coverage(face: Rect, r: Rect): number {
  const w = Math.min(face[0] + face[2], r[0] + r[2]) - Math.max(face[0], r[0]);
  const h = Math.min(face[1] + face[3], r[1] + r[3]) - Math.max(face[1], r[1]);
  const area = face[2] * face[3];
  return w > 0 && h > 0 && area > 0 ? (w * h) / area : 0;
}

/** Pixels of the union of `regions` outside the union of `faces`, on a width x height raster. */
export function falsePixels(regions: readonly Rect[], faces: readonly Rect[], width: number, height: number): number {
  if (regions.length === 0) return 0;
  const mask = new Uint8Array(width * height);
  const paint = (r: Rect, v: number): void => {
    const x0 = Math.max(0, Math.floor(r[0]));
    const y0 = Math.max(0, Math.floor(r[1]));
    const x1 = Math.min(width, Math.ceil(r[0] + r[2]));
    const y1 = Math.min(height, Math.ceil(r[1] + r[3]));
    for (let y = y0; y < y1; y++) mask.fill(v, y * width + x0, y * width + x1);
  };
  for (const r of regions) paint(r, 1);
  for (const f of faces) paint(f, 0);
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i];
  return n;
}

const shorter = (b: Box): number => Math.min(b[2], b[3]);
const median = (v: number[]): number => {
  if (v.length === 0) return NaN;
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function regionsOf(poses: readonly Pose[], c: Config, width: number, height: number): { box: Rect; shoulders: boolean }[] {
  const out: { box: Rect; shoulders: boolean }[] = [];
  for (const p of poses) {
    if (p.score < c.minScore) continue;
    const r = headRegion(p, { minKeypointScore: c.kpScore, widthScale: c.widthScale, heightScale: c.heightScale, centreDrop: c.drop, bounds: { width, height } });
    if (r) out.push({ box: r.box, shoulders: r.from === 'shoulders' });
  }
  return out;
}

function accumulate(s: SetStats, poses: readonly Pose[], faceBoxes: readonly Rect[] | undefined, truths: readonly Box[], c: Config, width: number, height: number): void {
  const kept = poses.filter((p) => p.score >= c.minScore);
  const regions = regionsOf(kept, c, width, height);
  s.images++;
  s.poses += kept.length;
  s.regions += regions.length;
  s.fromShoulders += regions.filter((r) => r.shoulders).length;
  s.unmatched += regions.filter((r) => !truths.some((t) => coverage(t, r.box) >= 0.5)).length;
  s.falsePixels += falsePixels(regions.map((r) => r.box), truths, width, height);
  s.pixels += width * height;
  // The fallback rule: a head region is hidden only where it holds no detected face (its centre inside the region).
  const holdsFace = (r: Rect): boolean =>
    (faceBoxes ?? []).some((f) => f[0] + f[2] / 2 >= r[0] && f[0] + f[2] / 2 <= r[0] + r[2] && f[1] + f[3] / 2 >= r[1] && f[1] + f[3] / 2 <= r[1] + r[3]);
  const fallback = faceBoxes ? regions.filter((r) => !holdsFace(r.box)) : [];
  if (faceBoxes) {
    s.fallbackRegions += fallback.length;
    s.falseFacePixels += falsePixels(faceBoxes, truths, width, height);
    s.falseFallbackPixels += falsePixels([...faceBoxes, ...fallback.map((r) => r.box)], truths, width, height);
  }
  for (const t of truths) {
    const size = shorter(t);
    if (size < 20) continue;
    let best = 0;
    let bestArea = Infinity;
    for (const r of regions) {
      const cov = coverage(t, r.box);
      const area = r.box[2] * r.box[3];
      if (cov > best + 1e-9 || (Math.abs(cov - best) <= 1e-9 && area < bestArea)) {
        best = cov;
        bestArea = area;
      }
    }
    const byHeads = best >= COVERED;
    if (byHeads) s.ratios.push(bestArea / (t[2] * t[3]));
    const byFaces = faceBoxes ? faceBoxes.some((f) => coverage(t, f) >= COVERED) : false;
    const byFallback = byFaces || fallback.some((r) => coverage(t, r.box) >= COVERED);
    BUCKETS.forEach((b, i) => {
      if (size < b.min || size >= b.max) return;
      const st = s.buckets[i];
      st.faces++;
      if (byHeads) st.heads++;
      if (byFaces) st.faceDetector++;
      if (faceBoxes && !byFaces) {
        st.missed++;
        if (byHeads) st.missedHeads++;
      }
      if (byFallback) st.fallback++;
    });
  }
}

const pct = (n: number, d: number): string => (d > 0 ? (n / d).toFixed(3) : '-');
const share = (n: number, d: number): string => `${((100 * n) / Math.max(1, d)).toFixed(2)}%`;

function table(name: string, s: SetStats, withFace: boolean): string[] {
  const lines: string[] = [];
  const head = withFace
    ? '| set | face size | faces | heads cover70 | face detector cover70 | missed by it | of those, heads cover70 | face or head cover70 | face or fallback head cover70 |'
    : '| set | face size | faces | heads cover70 |';
  lines.push(head, head.replace(/[^|]+/g, '---'));
  s.buckets.forEach((b, i) => {
    const cells = [name, BUCKETS[i].label, String(b.faces), `${pct(b.heads, b.faces)} (${b.heads})`];
    if (withFace) cells.push(pct(b.faceDetector, b.faces), String(b.missed), `${pct(b.missedHeads, b.missed)} (${b.missedHeads})`, pct(b.faceDetector + b.missedHeads, b.faces), pct(b.fallback, b.faces));
    lines.push(`| ${cells.join(' | ')} |`);
  });
  lines.push(
    `  ${s.images} images, ${s.poses} poses, ${s.regions} head regions (${s.fromShoulders} from shoulders only); region area / covered face area: median ${median(s.ratios).toFixed(2)}; ` +
      `false area ${share(s.falsePixels, s.pixels)} of image pixels; regions covering no labelled face by half: ${s.unmatched} (${pct(s.unmatched, s.regions)})`,
  );
  if (withFace) {
    lines.push(
      `  fallback rule (head regions holding no detected face's centre): ${s.fallbackRegions} regions; false area of face boxes alone ${share(s.falseFacePixels, s.pixels)}, ` +
        `of face boxes + fallback regions ${share(s.falseFallbackPixels, s.pixels)}`,
    );
  }
  return lines;
}

const list = (v: string | undefined, fallback: number[]): number[] => (v ? v.split(',').map(Number) : fallback);

export async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      data: { type: 'string' },
      sets: { type: 'string' },
      limit: { type: 'string' },
      face: { type: 'boolean' },
      'max-people': { type: 'string' },
      'min-score': { type: 'string' },
      'kp-score': { type: 'string' },
      'width-scale': { type: 'string' },
      'height-scale': { type: 'string' },
      drop: { type: 'string' },
      variant: { type: 'string' },
      threads: { type: 'string' },
      json: { type: 'string' },
      bench: { type: 'boolean' },
      runs: { type: 'string' },
    },
  });
  if (values.bench) {
    return bench({
      runs: values.runs ? Number(values.runs) : 30,
      variant: (values.variant ?? 'fp32') as ModelVariant,
      threads: values.threads ? Number(values.threads) : undefined,
      maxPeople: values['max-people'] ? Number(values['max-people']) : DEFAULT_MAX_PEOPLE,
    });
  }
  const dataDir = resolveDataDir(values.data);
  const sets = (values.sets ?? 'wider,facemask').split(',').map((s) => {
    const name = SETS[s];
    if (!name) throw new Error(`unknown set ${s} (known: ${Object.keys(SETS).join(', ')})`);
    return name;
  });
  const missing = describeMissingData(dataDir, sets);
  if (missing) {
    process.stderr.write(`pose-heads: ${missing}`);
    return 3;
  }
  const configs: Config[] = [];
  for (const maxPeople of list(values['max-people'], [DEFAULT_MAX_PEOPLE]))
    for (const minScore of list(values['min-score'], [readManifest(POSE_MODEL).defaultThreshold]))
      for (const kpScore of list(values['kp-score'], [MIN_KEYPOINT_SCORE]))
        for (const widthScale of list(values['width-scale'], [HEAD_WIDTH_SCALE]))
          for (const heightScale of list(values['height-scale'], [HEAD_HEIGHT_SCALE]))
            for (const drop of list(values.drop, [CENTRE_DROP])) configs.push({ maxPeople, minScore, kpScore, widthScale, heightScale, drop });
  const variant = (values.variant ?? 'fp32') as ModelVariant;
  const threads = values.threads ? Number(values.threads) : undefined;
  const manifest = readManifest(POSE_MODEL);
  const session = await createSession(variantPath(POSE_MODEL, variant), { threads });
  const faces = values.face ? await loadDetector('face', { threads }) : undefined;
  const maxK = Math.max(...configs.map((c) => c.maxPeople));
  const dims = [1, 3, manifest.input.height, manifest.input.width];
  const stats = new Map<string, SetStats>();
  const key = (c: Config, set: string): string => `${set} ${JSON.stringify(c)}`;
  const times: number[] = [];
  for (const name of sets) {
    let dataset: Dataset = await loadDataset(dataDir, name);
    if (values.limit) dataset = { ...dataset, images: dataset.images.slice(0, Number(values.limit)) };
    for (const [i, item] of dataset.images.entries()) {
      const image = await decodeImage(await readFile(item.path));
      const started = performance.now();
      const { tensor, transform } = await preprocess(image, manifest.input);
      const raw = await session.run(tensor, dims, manifest.outputs);
      const decoded = new Map<number, Pose[]>();
      for (const k of new Set(configs.map((c) => c.maxPeople))) {
        decoded.set(k, decodeMovenet(raw, manifest, { maxPeople: k }).map((p) => toImage(p, transform, manifest.input.width, manifest.input.height, image.width, image.height)));
      }
      if (decoded.has(maxK)) times.push(performance.now() - started);
      const faceBoxes = faces ? (await faces.detect(image, { threshold: 0.5 })).map((d) => d.box) : undefined;
      const truths = item.truths.map((t) => t.box);
      for (const c of configs) {
        const k = key(c, name);
        if (!stats.has(k)) stats.set(k, newSet());
        accumulate(stats.get(k)!, decoded.get(c.maxPeople)!, faceBoxes, truths, c, image.width, image.height);
      }
      if ((i + 1) % 50 === 0 || i + 1 === dataset.images.length) process.stderr.write(`pose-heads: ${name} ${i + 1}/${dataset.images.length}\n`);
    }
  }
  await session.close();
  await faces?.close();
  const out: string[] = [];
  out.push(`pose model ${POSE_MODEL} (${variant}), ${faces ? `face detector ${faces.modelId} at 0.5, ` : ''}pose preprocess + run + decode (maxPeople ${maxK}) median ${median(times).toFixed(1)} ms/image`);
  for (const c of configs) {
    out.push('', `maxPeople ${c.maxPeople}, pose minScore ${c.minScore}, keypoint minScore ${c.kpScore}, region ${c.widthScale} x ${c.heightScale} head widths, centre drop ${c.drop}:`);
    for (const name of sets) out.push(...table(name.replace('faces/', ''), stats.get(key(c, name))!, Boolean(faces)));
  }
  process.stdout.write(`${out.join('\n')}\n`);
  if (values.json) {
    const doc = configs.map((c) => ({ config: c, sets: Object.fromEntries(sets.map((n) => [n, summarise(stats.get(key(c, n))!)])) }));
    writeFileSync(values.json, `${JSON.stringify(doc, null, 2)}\n`);
  }
  return 0;
}

/** ms per 1280x720 frame through loadPoseDetector().detect(), and its ONNX run and decoder alone. */
async function bench(o: { runs: number; variant: ModelVariant; threads?: number; maxPeople: number }): Promise<number> {
  const photo = resolve(dirname(fileURLToPath(import.meta.url)), '../node_modules/@vladmandic/face-api/demo/sample5.jpg');
  const { data, info } = await sharp(photo).removeAlpha().resize(1280, 720, { fit: 'cover' }).raw().toBuffer({ resolveWithObject: true });
  const image = { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
  const detector = await loadPoseDetector({ variant: o.variant, threads: o.threads, maxPeople: o.maxPeople });
  const manifest = readManifest(POSE_MODEL);
  const session = await createSession(variantPath(POSE_MODEL, o.variant), { threads: o.threads });
  const { tensor } = await preprocess(image, manifest.input);
  const dims = [1, 3, manifest.input.height, manifest.input.width];
  const total: number[] = [];
  const run: number[] = [];
  const decode: number[] = [];
  let poses = 0;
  for (let i = 0; i < o.runs + 3; i++) {
    let t = performance.now();
    poses = (await detector.detect(image)).length;
    if (i >= 3) total.push(performance.now() - t);
    t = performance.now();
    const raw = await session.run(tensor, dims, manifest.outputs);
    if (i >= 3) run.push(performance.now() - t);
    t = performance.now();
    decodeMovenet(raw, manifest, { maxPeople: o.maxPeople });
    if (i >= 3) decode.push(performance.now() - t);
  }
  await detector.close();
  await session.close();
  const p90 = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(0.9 * (v.length - 1))];
  const cpu = cpuLine();
  process.stdout.write(
    `${cpu}
${detector.modelId}, 1280x720 frame, ${poses} poses >= ${manifest.defaultThreshold}, maxPeople ${o.maxPeople}, threads ${o.threads ?? 'default (all cores)'}, ${o.runs} runs:
` +
      `  detect (resize + ONNX + decode): median ${median(total).toFixed(1)} ms, p90 ${p90(total).toFixed(1)} ms
` +
      `  ONNX run alone: median ${median(run).toFixed(1)} ms; decoder alone: median ${median(decode).toFixed(2)} ms
`,
  );
  return 0;
}

/** CPU model name and the int8-relevant flags, from /proc/cpuinfo (Linux). */
function cpuLine(): string {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const name = /^model name\s*:\s*(.+)$/m.exec(info)?.[1] ?? 'unknown CPU';
    const flags = new Set((/^flags\s*:\s*(.+)$/m.exec(info)?.[1] ?? '').split(/\s+/));
    const has = ['avx2', 'avx512f', 'avx512_vnni', 'avx_vnni'].filter((f) => flags.has(f));
    return `CPU: ${name}, ${availableParallelism()} cores available; flags: ${has.join(' ') || 'none of avx2/avx512'}`;
  } catch {
    return 'CPU: unknown (no /proc/cpuinfo)';
  }
}

function summarise(s: SetStats): object {
  return {
    buckets: Object.fromEntries(s.buckets.map((b, i) => [BUCKETS[i].label, b])),
    images: s.images,
    poses: s.poses,
    regions: s.regions,
    fromShoulders: s.fromShoulders,
    unmatchedRegions: s.unmatched,
    medianAreaRatio: median(s.ratios),
    falseAreaShare: s.falsePixels / Math.max(1, s.pixels),
    fallbackRegions: s.fallbackRegions,
    falseAreaFaceBoxes: s.falseFacePixels / Math.max(1, s.pixels),
    falseAreaFaceBoxesAndFallback: s.falseFallbackPixels / Math.max(1, s.pixels),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`pose-heads: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
