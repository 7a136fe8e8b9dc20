/** The live eval's table (pure). */
import { SIZE_BUCKETS } from '../privacy.ts';
import type { LiveRunResult } from './command.ts';
import { MAX_RUN, RUN_SIZE, VISIBLE_BELOW } from './runs.ts';

function pct(v: number): string {
  return Number.isNaN(v) ? '-' : `${(v * 100).toFixed(1)} %`;
}

function cameraFrames(status: unknown): string {
  const f = (status as { frames?: { received: number; analysed: number; dropped: number } } | undefined)?.frames;
  return f ? `frames received ${f.received}, analysed ${f.analysed}, dropped ${f.dropped}` : 'no camera status';
}

export function formatLiveTable(r: LiveRunResult): string {
  const m = r.metrics;
  const lines = [
    `clip: ${r.clip.photos.length} photos, ${r.clip.frames} frames at ${r.clip.fps} fps (${r.clip.seconds.toFixed(0)} s), ${r.clip.width}x${r.clip.height} (picture ${r.clip.width}x${r.clip.pictureHeight})`,
    `camera: ${r.camera.fps} fps, ${r.camera.width}x${r.camera.height}, ${Object.keys(r.privacy).length > 0 ? `privacy ${Object.entries(r.privacy).map(([k, v]) => `${k}=${String(v)}`).join(' ')}` : 'default privacy settings'}, facemode fill; ${cameraFrames(r.camera.status)}`,
    `snapshots: ${r.snapshots.pulled} pulled, ${r.snapshots.unreadable} with unreadable bands (${r.snapshots.inferred} analysed frames of them placed by sequence number), ${r.snapshots.distinctFrames} distinct analysed frames (clip frames ${r.snapshots.firstFrame ?? '-'}..${r.snapshots.lastFrame ?? '-'})`,
    '',
    `${'faces'.padEnd(12)} ${'face-frames'.padStart(11)}  ${'cov50'.padStart(7)}  ${'cov70'.padStart(7)}  ${'cov90'.padStart(7)}`,
    `${'-'.repeat(12)} ${'-'.repeat(11)}  ${'-'.repeat(7)}  ${'-'.repeat(7)}  ${'-'.repeat(7)}`,
  ];
  const row = (name: string, s: { faces: number; coverage50: number; coverage70: number; coverage90: number }): string =>
    `${name.padEnd(12)} ${String(s.faces).padStart(11)}  ${pct(s.coverage50).padStart(7)}  ${pct(s.coverage70).padStart(7)}  ${pct(s.coverage90).padStart(7)}`;
  lines.push(row('all', m.overall));
  for (const b of SIZE_BUCKETS) lines.push(row(`${b.name} px`, m.bySize[b.name]));
  lines.push(row('>= 40 px', m.atLeast40));
  lines.push('');
  lines.push(`frames with faces: ${m.framesWithFaces}; leaving a face visible (hidden < ${VISIBLE_BELOW * 100} %): ${pct(m.framesWithVisibleFace)}; a face of ${RUN_SIZE} px or more: ${pct(m.framesWithVisibleFace40)}`);
  lines.push(
    `faces: ${m.faces} (${m.faces40} of ${RUN_SIZE} px or more); of those, visible for more than ${MAX_RUN} consecutive analysed frames: ${m.faces40OverMaxRun} (more than ${MAX_RUN} snapshots in a row: ${m.faces40OverMaxRunSnapshots})`,
  );
  lines.push(`false fill: ${pct(m.falseFill)} of the picture (mean over the analysed frames measured; filled pixels outside every labelled face grown by the render margin)`);
  if (m.worstRuns.length > 0) {
    lines.push(`longest visible runs of faces of ${RUN_SIZE} px or more (analysed frames in a row, snapshots in a row; clip frames):`);
    for (const w of m.worstRuns) {
      lines.push(`  ${r.clip.photos[w.photo]?.set ?? '?'} ${r.clip.photos[w.photo]?.id ?? w.photo} face ${w.face}: ${w.size} px, ${w.longestRunAnalysed} analysed / ${w.longestRun} snapshots (${w.runFrom}..${w.runTo}), visible in ${w.visible} of ${w.frames} snapshots`);
    }
  }
  lines.push('');
  lines.push('coverage: the share of each labelled face\'s box the served snapshot fills, per face-frame (a face in an analysed frame a snapshot showed); size: the box\'s longer side in the frame.');
  return lines.join('\n') + '\n';
}
