/**
 * Times full decode vs decodeForDetection on face-api's six 1920 px sample photos, and JPEG -> face detections
 * end to end both ways (and, for picture answers that need the full image anyway, full decode + reduced decode +
 * detection), and compares the boxes (IoU of each full-decode face with its best reduced-decode match).
 *   npx tsx scripts/bench-detection-decode.ts [runs=7] [--task face|objects] [maxSide|exact ...]
 * `exact` = decode straight to the detector's input size (detectionDecodeOptions, what uploads get). Default: the
 * task's default detector's detectionDecodeSide, and exact.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { decodeForDetection, decodeImage, scaleDetections } from '../src/image/decode.ts';
import { detectionDecodeOptions, detectionDecodeSide, loadDetector } from '../src/detect/registry.ts';
import type { DetectionDecodeOptions } from '../src/image/decode.ts';
import type { Detection } from '../src/detect/types.ts';

const require = createRequire(import.meta.url);
const SAMPLES = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

function iou(a: Detection['box'], b: Detection['box']): number {
  const x1 = Math.max(a[0], b[0]);
  const y1 = Math.max(a[1], b[1]);
  const x2 = Math.min(a[0] + a[2], b[0] + b[2]);
  const y2 = Math.min(a[1] + a[3], b[1] + b[3]);
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
  return inter / (a[2] * a[3] + b[2] * b[3] - inter);
}

async function time<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const started = performance.now();
  const value = await fn();
  return [performance.now() - started, value];
}

const argv = process.argv.slice(2);
const taskAt = argv.indexOf('--task');
const task = taskAt >= 0 ? argv.splice(taskAt, 2)[1] : 'face';
if (task !== 'face' && task !== 'objects') throw new Error(`--task must be face or objects, not ${task}`);
const runs = Number(argv[0] ?? 7);
const detector = await loadDetector(task);
const sides: (number | 'exact')[] = argv.length > 1 ? argv.slice(1).map((a) => (a === 'exact' ? 'exact' : Number(a))) : [detectionDecodeSide(detector) ?? 0, 'exact'];
const optionsFor = (side: number | 'exact'): DetectionDecodeOptions => (side === 'exact' ? detectionDecodeOptions(detector) : { maxSide: side });
const photos = [1, 2, 3, 4, 5, 6].map((i) => ({ name: `sample${i}.jpg`, bytes: readFileSync(join(SAMPLES, `sample${i}.jpg`)) }));
console.log(`model ${detector.modelId}, ${runs} runs per figure, maxSides ${sides.join(', ')}`);
const totals: Record<string, number[]> = {};
for (const photo of photos) {
  const t: Record<string, number[]> = {};
  const add = (k: string, v: number): void => void (t[k] ??= []).push(v);
  let full: Detection[] = [];
  const reduced: Record<string, Detection[]> = {};
  for (let r = 0; r < runs; r++) {
    add('decodeImage', (await time(() => decodeImage(photo.bytes)))[0]);
    for (const side of sides) add(`decodeForDetection(${side})`, (await time(() => decodeForDetection(photo.bytes, optionsFor(side))))[0]);
    const [e2eFull, dFull] = await time(async () => detector.detect(await decodeImage(photo.bytes)));
    add('e2e full', e2eFull);
    full = dFull;
    for (const side of sides) {
      const [ms, d] = await time(async () => {
        const decoded = await decodeForDetection(photo.bytes, optionsFor(side));
        return scaleDetections(await detector.detect(decoded.image), decoded);
      });
      add(`e2e ${side}`, ms);
      reduced[side] = d;
      // Picture answers need the full image anyway: full decode + a second, reduced decode for detection.
      add(`full+e2e ${side}`, (await time(async () => {
        await decodeImage(photo.bytes);
        const decoded = await decodeForDetection(photo.bytes, optionsFor(side));
        return scaleDetections(await detector.detect(decoded.image), decoded);
      }))[0]);
    }
  }
  const parts = Object.entries(t).map(([k, v]) => {
    (totals[k] ??= []).push(median(v));
    return `${k} ${median(v).toFixed(1)}`;
  });
  const matches = sides.map((side) => {
    const worst = Math.min(...full.map((f) => Math.max(0, ...reduced[side].map((d) => iou(f.box, d.box)))));
    return `${side}: ${reduced[side].length}/${full.length} detections, min IoU ${full.length ? worst.toFixed(3) : '-'}`;
  });
  console.log(`${photo.name}: ${parts.join(' | ')}\n  ${matches.join('; ')}`);
}
console.log(`mean of medians: ${Object.entries(totals).map(([k, v]) => `${k} ${(v.reduce((a, b) => a + b, 0) / v.length).toFixed(1)}`).join(' | ')}`);
await detector.close();
