/**
 * `raypack-edge eval --privacy --videos`: every video in <data>/video anonymized by the anonymize command's own
 * pipeline (its analysis stage, src/video/anonymize.ts: default privacy settings, pixel, H.264), then the sampled
 * frames of the original and of the written file decoded side by side and given to the reference detectors
 * (YuNet-n, UltraFace RFB-640 at their usual thresholds). Fill is rendered from the same frames' regions by the
 * same renderer (the regions do not depend on the render mode). Leaks and faces inside hidden regions: leaks.ts.
 */
import { readdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { PrivacyRegion } from '../../../src/analysis/types.ts';
import { DEFAULT_PRIVACY } from '../../../src/analysis/privacy.ts';
import { PrivacyStage } from '../../../src/commands/anonymize.ts';
import type { Detector } from '../../../src/detect/types.ts';
import { hiddenAreas, renderFacesRaw } from '../../../src/image/anonymize.ts';
import { anonymizeVideo } from '../../../src/video/anonymize.ts';
import { buildDecodeArgs, rationalValue } from '../../../src/video/ffmpeg-args.ts';
import { FrameDecoder } from '../../../src/video/ffmpeg-process.ts';
import { probeVideo } from '../../../src/video/probe.ts';
import type { RgbImage } from '../../../src/core/image.ts';
import { printReport } from '../print.ts';
import type { EvalArgs } from '../args.ts';
import { referenceModelsDir } from '../data-dir.ts';
import { findReferenceModel } from '../reference/index.ts';
import { insideHidden, isSampled, leaks, summarizeLeaks, type Box, type FrameCheck, type LeakSummary } from './leaks.ts';

export const REFERENCES = ['ref:yunet-n', 'ref:ultraface-rfb-640'] as const;
export const MODES = ['pixel', 'fill'] as const;
type Mode = (typeof MODES)[number];

export interface VideoLeakResult {
  readonly video: string;
  readonly frames: number;
  readonly fps: number;
  readonly width: number;
  readonly height: number;
  readonly analysed: number;
  readonly sampled: number;
  readonly anonymizeSeconds: number;
  /** Per reference and render mode. */
  readonly leaks: Record<string, Record<Mode, LeakSummary & { readonly leakFrames: readonly number[]; readonly insideHiddenFrames: readonly number[] }>>;
}

export interface VideoLeakRun {
  readonly sampleFps: number;
  readonly analysisFps: number | 'every frame';
  readonly videos: readonly VideoLeakResult[];
  readonly total: Record<string, Record<Mode, LeakSummary>>;
}

/** The videos under <data>/video (mp4, mkv, mov, webm), sorted by path. */
export function listVideos(dataDir: string): string[] {
  const root = join(dataDir, 'video');
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(mp4|mkv|mov|webm)$/i.test(e.name)) found.push(p);
    }
  };
  walk(root);
  return found.sort();
}

export async function runVideoLeaks(options: { dataDir: string; videos: readonly string[]; sampleFps: number; analysisFps?: number; threads?: number; log?: (line: string) => void }): Promise<VideoLeakRun> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[eval --videos] ${line}\n`));
  const privacy = new PrivacyStage({ privacy: DEFAULT_PRIVACY, threads: options.threads });
  const refs = new Map<string, Detector>();
  const dir = mkdtempSync(join(tmpdir(), 'raypack-video-leaks-'));
  const all = new Map<string, FrameCheck[]>();
  const results: VideoLeakResult[] = [];
  try {
    for (const id of REFERENCES) refs.set(id, await findReferenceModel(id)!.load(referenceModelsDir(options.dataDir), options.threads));
    for (const [n, path] of options.videos.entries()) {
      const name = relative(join(options.dataDir, 'video'), path);
      const output = join(dir, `anonymized-${n}.mp4`);
      const regions = new Map<number, readonly PrivacyRegion[]>();
      const videoFps = rationalValue((await probeVideo(path)).fps);
      let lastLog = performance.now();
      const done = await anonymizeVideo({
        stage: privacy.stage,
        input: path,
        output,
        privacy: 'faces',
        render: 'pixel',
        analysisFps: options.analysisFps,
        onFrame: (item) => {
          if (isSampled(item.frame.index, videoFps, options.sampleFps)) regions.set(item.frame.index, item.privacy);
        },
        onProgress: (p) => {
          if (performance.now() - lastLog > 5000) {
            lastLog = performance.now();
            log(`${name}: anonymizing, ${p.frames}/${p.total ?? '?'} frames (${p.analysed} analysed)`);
          }
        },
      }).catch((error: unknown) => {
        throw new Error(`${name}: ${(error as Error).message}`);
      });
      const { width, height } = done.info;
      const checks = new Map<string, FrameCheck[]>();
      const framesOf = new Map<string, { leak: number[]; inside: number[] }>();
      const decoders = [path, output].map((p) => new FrameDecoder('ffmpeg', buildDecodeArgs({ path: p, width, height }), width, height));
      const [original, anonymized] = decoders.map((d) => d.frames());
      let sampled = 0;
      try {
        for (let index = 0; ; index++) {
          const [a, b] = await Promise.all([original.next(), anonymized.next()]);
          if (a.done || b.done) break;
          const here = regions.get(index);
          if (!isSampled(index, videoFps, options.sampleFps) || !here) continue;
          sampled += 1;
          const frame: RgbImage = { data: new Uint8Array(a.value), width, height };
          const rendered: Record<Mode, RgbImage> = {
            pixel: { data: new Uint8Array(b.value), width, height },
            fill: { data: new Uint8Array(await renderFacesRaw(frame, here, 'fill', { colour: [0, 0, 0] })), width, height },
          };
          const hidden = hiddenAreas(here, width, height);
          for (const [id, ref] of refs) {
            const boxes = (image: RgbImage): Promise<Box[]> => ref.detect(image).then((d) => d.map((x) => x.box as Box));
            const inOriginal = await boxes(frame);
            for (const mode of MODES) {
              const inAnonymized = await boxes(rendered[mode]);
              const check: FrameCheck = { originalFaces: inOriginal.length, leaks: leaks(inOriginal, inAnonymized).length, insideHidden: insideHidden(inAnonymized, hidden).length };
              const key = `${id}|${mode}`;
              checks.set(key, [...(checks.get(key) ?? []), check]);
              all.set(key, [...(all.get(key) ?? []), check]);
              const f = framesOf.get(key) ?? { leak: [], inside: [] };
              if (check.leaks > 0) f.leak.push(index);
              if (check.insideHidden > 0) f.inside.push(index);
              framesOf.set(key, f);
            }
          }
        }
      } finally {
        // One stream may end before the other: neither ffmpeg is left blocked on a pipe nobody reads.
        for (const d of decoders) d.abort();
        await Promise.all(decoders.map((d) => d.exited()));
      }
      rmSync(output, { force: true });
      const perRef: VideoLeakResult['leaks'] = {};
      for (const id of REFERENCES) {
        perRef[id] = Object.fromEntries(
          MODES.map((mode) => {
            const key = `${id}|${mode}`;
            return [mode, { ...summarizeLeaks(checks.get(key) ?? []), leakFrames: framesOf.get(key)?.leak ?? [], insideHiddenFrames: framesOf.get(key)?.inside ?? [] }];
          }),
        ) as unknown as VideoLeakResult['leaks'][string];
      }
      const result: VideoLeakResult = { video: name, frames: done.frames, fps: videoFps, width, height, analysed: done.analysed, sampled, anonymizeSeconds: done.elapsedMs / 1000, leaks: perRef };
      results.push(result);
      const y = perRef['ref:yunet-n'].pixel;
      const u = perRef['ref:ultraface-rfb-640'].pixel;
      log(`${n + 1}/${options.videos.length} ${name}: ${done.frames} frames in ${result.anonymizeSeconds.toFixed(1)} s, ${sampled} checked; pixel leak rate YuNet ${rate(y)}, UltraFace ${rate(u)}`);
    }
  } finally {
    await Promise.all([...refs.values()].map((r) => r.close()));
    await privacy.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const total: VideoLeakRun['total'] = {};
  for (const id of REFERENCES) total[id] = Object.fromEntries(MODES.map((mode) => [mode, summarizeLeaks(all.get(`${id}|${mode}`) ?? [])])) as Record<Mode, LeakSummary>;
  return { sampleFps: options.sampleFps, analysisFps: options.analysisFps ?? 'every frame', videos: results, total };
}

function rate(s: LeakSummary): string {
  return Number.isNaN(s.leakRate) ? '-' : `${(s.leakRate * 100).toFixed(1)} % (${s.framesWithLeak}/${s.framesWithFaces})`;
}

export function formatVideoLeakTable(run: VideoLeakRun): string {
  const refName = (id: string): string => (id.includes('yunet') ? 'YuNet' : 'UltraFace');
  const head = `${'video'.padEnd(34)} ${'checked'.padStart(7)}  ${REFERENCES.flatMap((id) => MODES.map((m) => `${refName(id)} ${m}`.padStart(22))).join('')}  ${'inside hidden (pixel)'.padStart(22)}`;
  const cells = (leaksOf: Record<string, Record<Mode, LeakSummary>>): string =>
    REFERENCES.flatMap((id) => MODES.map((m) => rate(leaksOf[id][m]).padStart(22))).join('') +
    `  ${REFERENCES.map((id) => `${leaksOf[id].pixel.facesInsideHidden}`).join(' / ').padStart(22)}`;
  const lines = [head, '-'.repeat(head.length)];
  for (const v of run.videos) lines.push(`${v.video.slice(0, 34).padEnd(34)} ${String(v.sampled).padStart(7)}  ${cells(v.leaks)}`);
  lines.push('-'.repeat(head.length));
  lines.push(`${'total'.padEnd(34)} ${String(run.videos.reduce((a, v) => a + v.sampled, 0)).padStart(7)}  ${cells(run.total)}`);
  lines.push('');
  lines.push(
    `leak rate: frames where the reference finds, in the anonymized frame, a face (its usual threshold) overlapping (IoU >= 0.3) a face it found in the original, ` +
      `over frames where it found a face in the original; frames checked at ${run.sampleFps} fps, analysed ${run.analysisFps === 'every frame' ? 'every frame' : `at ${run.analysisFps} fps`}. ` +
      `Inside hidden: faces the reference finds with half their box or more inside a hidden region of the pixelated frame (YuNet / UltraFace).`,
  );
  return lines.join('\n') + '\n';
}

export async function videoLeakCommand(args: EvalArgs, dataDir: string): Promise<number> {
  const videos = listVideos(dataDir);
  const selected = args.limit !== undefined ? videos.slice(0, args.limit) : videos;
  if (selected.length === 0) {
    process.stderr.write(`raypack-edge eval: no video under ${join(dataDir, 'video')}\n`);
    return 3;
  }
  const run = await runVideoLeaks({ dataDir, videos: selected, sampleFps: args.sampleFps, analysisFps: args.analysisFps });
  printReport(formatVideoLeakTable(run), { ...run }, args.jsonFile);
  return 0;
}
