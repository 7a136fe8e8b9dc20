/** Text tables for `raypack-edge bench`: pure functions from results to lines. */
import type { SetResult } from './latency.ts';
import type { PipelineResult } from './pipeline.ts';
import type { TuningResult } from './ort-tuning.ts';

const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : '-');
const ratio = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(2)}x` : '-');

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

export function latencyTable(results: readonly SetResult[]): string[] {
  const lines: string[] = [];
  for (const r of results) {
    lines.push('', `${r.task}: ${r.imageSet}, ${r.images} image(s), ${r.contenders[0]?.detect.n ?? 0} timed run(s) per contender`);
    lines.push(
      ...table(
        ['contender', 'RGB->det median', 'p95', 'JPEG->det median', 'p95', 'decode median', 'detections'],
        r.contenders.map((c) => [
          `${c.kind === 'ours' ? 'ours ' : 'peer '}${c.label}`,
          ms(c.detect.median),
          ms(c.detect.p95),
          ms(c.total.median),
          ms(c.total.p95),
          ms(c.decode.median),
          c.meanDetections.toFixed(1),
        ]),
      ),
    );
    if (r.ratios.length > 0) {
      lines.push('  speed-up (peer median / our median; > 1: ours faster):');
      for (const x of r.ratios) lines.push(`    ${x.ours} vs ${x.peer}: ${ratio(x.detect)} from RGB, ${ratio(x.total)} with JPEG decode`);
    }
  }
  return lines;
}

export function pipelineLines(p: PipelineResult): string[] {
  return [
    '',
    `pipeline: ${p.cameras} camera(s) x ${p.fps} fps at ${p.size} (${p.source}), model ${p.detectorModel}, hiding with ${p.privacy} settings, ${p.seconds} s`,
    `  offered ${p.offeredFps.toFixed(1)} fps, analysed ${p.analysedFps.toFixed(2)} fps (${p.framesAnalysed} of ${p.framesReceived} frames; dropped ${p.framesDropped}: ${p.dropped.replaced} replaced by a newer frame, ${p.dropped.queueFull} queue full, ${p.dropped.stale} stale${p.framesFailed > 0 ? `; ${p.framesFailed} failed` : ''})`,
    `  detect median ${ms(p.detect.median)} ms, p95 ${ms(p.detect.p95)} ms; frame age at result median ${ms(p.frameAge.median)} ms, p95 ${ms(p.frameAge.p95)} ms`,
    `  CPU share of the machine: ${p.cpuSharePercent.total.toFixed(0)}% (node ${p.cpuSharePercent.node.toFixed(0)}%, ffmpeg ${p.cpuSharePercent.ffmpeg.toFixed(0)}%); RSS max ${p.rssMiB.max.toFixed(0)} MiB, end ${p.rssMiB.end.toFixed(0)} MiB`,
    `  memory: RSS ${p.rssMiB.afterWarmup.toFixed(0)} MiB with the model warm before the cameras (warm-up inference ${ms(p.warmupMs)} ms); at the end V8 heap ${p.rssMiB.heap.toFixed(0)} MiB, external buffers ${p.rssMiB.external.toFixed(0)} MiB`,
    `  after the first ${p.steady.afterSeconds} s (included in the totals above): ${p.steady.received} frames received, ${p.steady.dropped} dropped`,
  ];
}

export function tuningLines(results: readonly TuningResult[]): string[] {
  const lines: string[] = ['', 'ONNX Runtime settings (session.run only, one preprocessed 1920 px photo):'];
  lines.push(
    ...table(
      ['model', 'setting', 'run median', 'p95', 'session create'],
      results.map((r) => [r.model, r.setting, ms(r.run.median), ms(r.run.p95), ms(r.createMs)]),
    ),
  );
  return lines;
}
