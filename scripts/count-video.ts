/**
 * `npx tsx scripts/count-video.ts [--fps 5] [--model nanodet|centernet] [--threshold T] [--seconds S] [--rejoin S] [--min-track S]`:
 * the count error of a line and a zone on ../shared/data/video/one-by-one-person-detection.mp4 against our own
 * annotation (test/fixtures/counting/one-by-one-person-detection.json), through the camera analysis
 * (scripts/counting/measure.ts). Prints one JSON line per run with the CPU it ran on (docs/COUNTING.md).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpuModel } from './bench/machine.ts';
import { measureCounts, readTruth } from './counting/measure.ts';

const root = join(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    fps: { type: 'string', default: '5' },
    model: { type: 'string', default: 'nanodet' },
    threshold: { type: 'string' },
    seconds: { type: 'string' },
    rejoin: { type: 'string' },
    'min-track': { type: 'string' },
    hysteresis: { type: 'string' },
    video: { type: 'string', default: join(root, '../shared/data/video/one-by-one-person-detection.mp4') },
    truth: { type: 'string', default: join(root, 'test/fixtures/counting/one-by-one-person-detection.json') },
  },
});
const number = (text: string | undefined): number | undefined => (text === undefined ? undefined : Number(text));
const m = await measureCounts({
  video: values.video!,
  truth: readTruth(values.truth!),
  fps: Number(values.fps),
  model: values.model,
  threshold: number(values.threshold),
  seconds: number(values.seconds),
  rejoinSeconds: number(values.rejoin),
  minTrackSeconds: number(values['min-track']),
  hysteresis: number(values.hysteresis),
});
const { counts: _counts, ...summary } = m;
process.stdout.write(`${JSON.stringify({ ...summary, elapsedMs: Math.round(m.elapsedMs), fps: Number(values.fps), rejoinSeconds: number(values.rejoin) ?? 3, minTrackSeconds: number(values['min-track']) ?? 1, cpu: cpuModel() })}\n`);
