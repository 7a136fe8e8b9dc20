/**
 * The count error of zones and lines on a video with known counts: the video decoded by ffmpeg at `fps`, every
 * frame through the camera analysis (src/analysis/camera.ts: the objects detector, the object tracker, the zone
 * counter, as a daemon camera runs them), the counts at the end compared with the truth annotated by hand
 * (test/fixtures/counting/*.json), and the zone occupancy at the annotated times. A tool, not part of the daemon.
 */
import { readFileSync } from 'node:fs';
import { CameraAnalyser, type AnalysisResult } from '../../src/analysis/camera.ts';
import { DEFAULT_PRIVACY } from '../../src/analysis/privacy.ts';
import { AnalysisStage } from '../../src/analysis/stage.ts';
import { DEFAULT_COUNTING, type CountsSnapshot, type LineSpec, type ZoneSpec } from '../../src/counting/counter.ts';
import { loadDetector } from '../../src/detect/registry.ts';
import type { Detector, Task } from '../../src/detect/types.ts';
import { FrameDecoder } from '../../src/video/ffmpeg-process.ts';
import { buildDecodeArgs } from '../../src/video/ffmpeg-args.ts';
import { probeVideo } from '../../src/video/probe.ts';

export interface CountTruth {
  readonly line: LineSpec;
  readonly crossings: ReadonlyArray<{ readonly time: number; readonly direction: 'left_to_right' | 'right_to_left' }>;
  readonly zone: ZoneSpec;
  readonly visits: ReadonlyArray<{ readonly from: number; readonly to: number }>;
  readonly occupied: readonly number[];
  readonly empty: readonly number[];
}

export interface MeasureOptions {
  readonly video: string;
  readonly truth: CountTruth;
  readonly fps: number;
  /** The objects model (default nanodet, the daemon's default) and its report threshold. */
  readonly model?: string;
  readonly threshold?: number;
  /** Only the first seconds of the video; the truth is cut to them. */
  readonly seconds?: number;
  readonly hysteresis?: number;
  readonly rejoinSeconds?: number;
  readonly minTrackSeconds?: number;
  readonly maxMissedSeconds?: number;
  readonly threads?: number;
}

export interface DirectionCount {
  readonly truth: number;
  readonly counted: number;
}

export interface Measurement {
  readonly frames: number;
  readonly seconds: number;
  readonly elapsedMs: number;
  readonly model: string;
  readonly threshold: number;
  readonly line: { readonly in: DirectionCount; readonly out: DirectionCount; readonly error: number };
  readonly zone: { readonly entered: DirectionCount; readonly exited: DirectionCount; readonly occupancyRight: number; readonly occupancyChecked: number };
  /** Object track ids started (more than the people: tracks broke). */
  readonly tracks: number;
  /** Tracks that continued a broken-off one (the rejoin rule). */
  readonly rejoined: number;
  readonly counts: CountsSnapshot;
}

export function readTruth(path: string): CountTruth {
  return JSON.parse(readFileSync(path, 'utf8')) as CountTruth;
}

export async function measureCounts(options: MeasureOptions): Promise<Measurement> {
  const model = options.model ?? 'nanodet';
  const info = await probeVideo(options.video);
  const width = info.width;
  const height = info.height;
  const objects = await loadDetector('objects', { modelId: model, threads: options.threads });
  const face = await loadDetector('face', { threads: options.threads });
  const threshold = options.threshold ?? objects.defaultThreshold;
  const detectors = async (task: Task): Promise<Detector> => (task === 'face' ? face : objects);
  // The cheapest privacy the camera pipeline allows (the whole-image face pass only): counting is measured here.
  const stage = new AnalysisStage({ detectors, privacy: { ...DEFAULT_PRIVACY, tiles: 0, models: [], personHeads: false, poseHeads: false } });
  let latest: AnalysisResult | undefined;
  const truth = options.truth;
  const analyser = new CameraAnalyser({
    stage,
    settings: {
      camera: 'video',
      tasks: ['objects'],
      thresholds: { objects: threshold },
      lang: 'en',
      privacy: 'faces',
      tilesPerFrame: 0,
      timeoutMs: 60_000,
      objectTracking: {
        labels: ['person'],
        maxMissedMs: (options.maxMissedSeconds ?? 2) * 1000,
        eventUpdateMs: 5000,
        resetAt: '00:00',
        counting: {
          zones: [truth.zone],
          lines: [truth.line],
          hysteresis: options.hysteresis ?? DEFAULT_COUNTING.hysteresis,
          rejoinMs: (options.rejoinSeconds ?? DEFAULT_COUNTING.rejoinMs / 1000) * 1000,
          rejoinDistance: DEFAULT_COUNTING.rejoinDistance,
          minTrackMs: (options.minTrackSeconds ?? DEFAULT_COUNTING.minTrackMs / 1000) * 1000,
        },
      },
    },
    deliver: (result) => (latest = result),
  });
  // Frame times on a wall clock that passes no midnight, as a camera's would.
  const base = Date.UTC(2026, 0, 15, 12, 0, 0);
  const decoder = new FrameDecoder('ffmpeg', buildDecodeArgs({ path: options.video, width, height, sampleFps: options.fps, maxSeconds: options.seconds }), width, height);
  const occupancyAt = new Map<number, number>();
  const checks = [...truth.occupied.map((t) => ({ t, want: 1 })), ...truth.empty.map((t) => ({ t, want: 0 }))].filter((c) => options.seconds === undefined || c.t < options.seconds);
  const ids = new Set<number>();
  let rejoined = 0;
  let index = 0;
  const started = performance.now();
  for await (const data of decoder.frames()) {
    const t = index / options.fps;
    await analyser.analyse({ data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width, height, seq: index, time: base + t * 1000 });
    const result = latest!;
    for (const e of result.events) {
      if (e.kind !== 'object') continue;
      ids.add(e.id);
      if (e.type === 'new' && e.continues !== undefined) rejoined += 1;
    }
    const zone = result.counts!.zones[0];
    for (const c of checks) if (!occupancyAt.has(c.t) && t >= c.t) occupancyAt.set(c.t, zone.occupancy);
    index += 1;
  }
  const elapsedMs = performance.now() - started;
  await Promise.all([face.close(), objects.close()]);
  const counts = latest!.counts!;
  const seconds = index / options.fps;
  const within = <T extends { time?: number; to?: number }>(list: readonly T[], key: (x: T) => number) => list.filter((x) => options.seconds === undefined || key(x) < options.seconds);
  const crossings = within(truth.crossings, (c) => c.time);
  const inTruth = crossings.filter((c) => c.direction === truth.line.in).length;
  const line = counts.lines[0];
  const zone = counts.zones[0];
  const visits = within(truth.visits, (v) => v.from);
  const exitedTruth = within(truth.visits, (v) => v.to).length;
  const lineIn = { truth: inTruth, counted: line.in };
  const lineOut = { truth: crossings.length - inTruth, counted: line.out };
  return {
    frames: index,
    seconds,
    elapsedMs,
    model,
    threshold,
    line: { in: lineIn, out: lineOut, error: Math.abs(lineIn.counted - lineIn.truth) + Math.abs(lineOut.counted - lineOut.truth) },
    zone: {
      entered: { truth: visits.length, counted: zone.entered },
      exited: { truth: exitedTruth, counted: zone.exited },
      occupancyRight: checks.filter((c) => occupancyAt.get(c.t) === c.want).length,
      occupancyChecked: checks.length,
    },
    tracks: ids.size,
    rejoined,
    counts,
  };
}
