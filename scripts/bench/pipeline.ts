/**
 * The camera pipeline under load: N cameras, each an ffmpeg process reading a video in real time (-re), emitting
 * raw RGB frames at the given fps and size, scheduled as the daemon does it (src/pipeline/scheduler.ts: latest
 * frame wins per camera, one shared bounded inference queue, stale frames dropped), each frame through the
 * camera analysis the daemon runs (src/analysis/camera.ts: the analysis stage with the given privacy settings,
 * privacy tiles spread over frames, the tracker). Reports analysed fps, drops by cause, analysis time and frame
 * age, CPU share (this process and the ffmpeg children) and RSS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { logger, redactUrl } from '../../src/log.ts';
import type { Detector } from '../../src/detect/types.ts';
import { CameraAnalyser } from '../../src/analysis/camera.ts';
import type { PrivacySettings } from '../../src/analysis/privacy.ts';
import { AnalysisStage } from '../../src/analysis/stage.ts';
import type { RgbImage } from '../../src/core/image.ts';
import { summarize, type LatencySummary } from './stats.ts';
import { InferenceQueue } from '../../src/pipeline/inference-queue.ts';
import { FrameScheduler, type SchedulerStats } from '../../src/pipeline/scheduler.ts';
import type { FrameBuffer } from '../../src/camera/frame-pool.ts';
import { FrameSplitter } from '../../src/camera/frame-splitter.ts';
import { faceApiSamples } from './images.ts';

const log = logger('bench:pipeline');

export interface PipelineOptions {
  readonly cameras: number;
  readonly fps: number;
  readonly width: number;
  readonly height: number;
  readonly seconds: number;
  readonly projectRoot: string;
  /** What the cameras hide with (the product's defaults, or the settings before the privacy stage). */
  readonly privacy: PrivacySettings;
  /** Its name in the report. */
  readonly privacyName: string;
}

export interface PipelineResult {
  readonly cameras: number;
  readonly fps: number;
  readonly size: string;
  readonly source: string;
  readonly seconds: number;
  readonly framesReceived: number;
  readonly framesAnalysed: number;
  readonly framesDropped: number;
  /** Frames whose analysis threw (neither analysed nor dropped; should be 0). */
  readonly framesFailed: number;
  /** Why frames were dropped: replaced by a newer one, the shared queue full, or too old when their turn came. */
  readonly dropped: { readonly replaced: number; readonly queueFull: number; readonly stale: number };
  readonly analysedFps: number;
  /** Offered frame rate: cameras x fps. */
  readonly offeredFps: number;
  readonly detect: LatencySummary;
  /** Frame arrival to detections available. */
  readonly frameAge: LatencySummary;
  /** CPU time / (wall time x cores), in percent of the whole machine. */
  readonly cpuSharePercent: { readonly node: number; readonly ffmpeg: number; readonly total: number };
  /** afterWarmup: the process with the model loaded and warm, before any camera frame. heap/external: V8 at the end. */
  readonly rssMiB: { readonly max: number; readonly end: number; readonly afterWarmup: number; readonly heap: number; readonly external: number };
  readonly detectorModel: string;
  readonly privacy: string;
  /** The untimed warm-up inference on a blank frame of the camera size, done before any camera starts (as the daemon does). */
  readonly warmupMs: number;
  /**
   * Frames received and drops counted after the first STEADY_AFTER_S seconds of the measured window (they are
   * also in the totals): tells drops at start-up (cold model, the cameras' first frames together) from steady ones.
   */
  readonly steady: { readonly afterSeconds: number; readonly received: number; readonly dropped: number };
}

/** Video inputs: the ASL clips from ../shared/data (people facing the camera), else loops of the sample photos. */
export function cameraSources(projectRoot: string, count: number): { kind: 'video' | 'photo'; file: string }[] {
  const folder = resolve(projectRoot, '../shared/data/video/asl_gestures');
  const clips = existsSync(folder) ? readdirSync(folder).filter((f) => f.endsWith('.mkv')).sort().map((f) => join(folder, f)) : [];
  const photos = faceApiSamples();
  return Array.from({ length: count }, (_, i) =>
    clips.length > 0 ? { kind: 'video' as const, file: clips[i % clips.length] } : { kind: 'photo' as const, file: photos[i % photos.length] },
  );
}

/** ffmpeg arguments for one simulated camera: real-time read, endless loop, scaled RGB frames on stdout. */
export function cameraArgs(source: { kind: 'video' | 'photo'; file: string }, fps: number, width: number, height: number): string[] {
  const input = source.kind === 'video' ? ['-re', '-stream_loop', '-1', '-i', source.file] : ['-re', '-loop', '1', '-framerate', String(fps), '-i', source.file];
  return ['-hide_banner', '-loglevel', 'error', '-nostdin', ...input, '-an', '-vf', `fps=${fps},scale=${width}:${height}`, '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1'];
}

/** CPU seconds (user + system) of a process from /proc/<pid>/stat; 0 when it is gone. */
export function processCpuSeconds(pid: number | undefined, ticksPerSecond = 100): number {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return 0;
  }
}

interface Camera {
  readonly name: string;
  readonly process: ChildProcess;
  delivered: number;
  lastCpu: number;
}

interface Frame {
  readonly time: number;
  readonly image: RgbImage;
  /** The pooled buffer behind image.data: the scheduler releases it when the frame is dropped or analysed. */
  readonly ref: FrameBuffer;
}

/** A frame older than this when its turn comes is dropped as stale (as the daemon does). */
const MAX_FRAME_AGE_MS = 2000;
/** Where the steady-state counts start, in seconds into the measured window. */
const STEADY_AFTER_S = 2;

export async function runPipeline(detector: Detector, options: PipelineOptions, objects?: Detector): Promise<PipelineResult> {
  const { width, height, fps } = options;
  const frameBytes = width * height * 3;
  const sources = cameraSources(options.projectRoot, options.cameras);
  const cameras: Camera[] = [];
  const splitters: FrameSplitter[] = [];
  const detectMs: number[] = [];
  const ageMs: number[] = [];
  let measuring = false;
  let stopping = false;
  /** Cameras whose ffmpeg ended before the bench stopped it: their figures (frames, CPU) would be wrong. */
  const exitedEarly: string[] = [];
  // The daemon's own scheduling: one shared bounded inference queue, latest frame wins per camera.
  const queue = new InferenceQueue({ concurrency: 1, capacity: options.cameras });
  const stage = new AnalysisStage({ detectors: async (task) => (task === 'face' ? detector : (objects ?? detector)), privacy: options.privacy });
  const analysers = new Map<string, CameraAnalyser>();
  const analyserOf = (camera: string): CameraAnalyser => {
    let a = analysers.get(camera);
    if (!a) {
      a = new CameraAnalyser({
        stage,
        settings: { camera, tasks: ['face'], thresholds: {}, lang: 'en', privacy: 'faces', tilesPerFrame: 1 },
        deliver: () => undefined,
      });
      analysers.set(camera, a);
    }
    return a;
  };
  const scheduler = new FrameScheduler<Frame>({
    queue,
    log,
    maxAgeMs: () => MAX_FRAME_AGE_MS,
    analyse: async (camera, frame) => {
      const t0 = performance.now();
      await analyserOf(camera).analyse({ ...frame.image, seq: 0, time: frame.time });
      const t1 = performance.now();
      detectMs.push(t1 - t0);
      ageMs.push(Date.now() - frame.time);
    },
  });

  // Warm up first: ONNX Runtime's first run allocates its arena and plans memory; libvips loads its operations.
  // Without this the first frames of every camera wait behind one slow inference and get replaced.
  const warmStart = performance.now();
  await detector.detect({ data: new Uint8Array(frameBytes), width, height });
  const warmupMs = performance.now() - warmStart;
  const rssAfterWarmup = process.memoryUsage().rss;

  for (const [index, source] of sources.entries()) {
    const child = spawn('ffmpeg', cameraArgs(source, fps, width, height), { stdio: ['ignore', 'pipe', 'pipe'] });
    const camera: Camera = { name: `cam${index + 1}`, process: child, delivered: 0, lastCpu: 0 };
    // The daemon's own splitter (each byte copied once, into a buffer of the camera's frame pool, reused once the
    // scheduler released it). The former Buffer.concat per 64 KiB pipe chunk re-copied the growing partial frame
    // on every chunk: ~60 MB of memcpy and garbage per 1280x720 frame.
    const splitter = new FrameSplitter(frameBytes, (ref) => {
      camera.delivered += 1;
      if (measuring) scheduler.submit(camera.name, { time: Date.now(), image: { data: ref.data, width, height }, ref });
      else ref.release();
    });
    child.stdout?.on('data', (chunk: Buffer) => splitter.push(chunk));
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-2000)));
    child.on('exit', (code, signal) => {
      if (stopping) return;
      exitedEarly.push(camera.name);
      log.warn('camera ffmpeg exited early', { camera: camera.name, code, signal, stderr: redactUrl(stderr.trim()) });
    });
    cameras.push(camera);
    splitters.push(splitter);
  }

  let wall: number;
  let nodeCpu: number;
  let ffmpegCpu: number;
  let rssMax = 0;
  let atSteady: SchedulerStats[] = [];
  try {
    // Count only the measured window: frames, CPU and memory from when every camera delivers frames.
    await waitFor(() => cameras.every((c) => c.delivered > 0), 15_000, 'the simulated cameras delivered no frame in time (is ffmpeg installed?)');
    for (const c of cameras) c.lastCpu = processCpuSeconds(c.process.pid);
    const cpuStart = process.cpuUsage();
    const started = performance.now();
    rssMax = process.memoryUsage().rss;
    const rssTimer = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage().rss)), 250);
    measuring = true;
    const steadySeconds = Math.min(STEADY_AFTER_S, options.seconds / 2);
    await new Promise((resolve) => setTimeout(resolve, steadySeconds * 1000));
    atSteady = cameras.map((c) => scheduler.stats(c.name));
    await new Promise((resolve) => setTimeout(resolve, (options.seconds - steadySeconds) * 1000));
    measuring = false;
    // Let the frame being analysed finish; waiting frames are not counted as analysed.
    await waitFor(() => queue.stats().running === 0 && queue.stats().waiting === 0, 30_000, 'the last frames were not analysed within 30 s');
    clearInterval(rssTimer);
    if (exitedEarly.length > 0) {
      throw new Error(`camera ffmpeg exited during the measurement (${exitedEarly.join(', ')}): no figures reported`);
    }
    wall = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    nodeCpu = (cpu.user + cpu.system) / 1e6;
    ffmpegCpu = cameras.reduce((sum, c) => sum + processCpuSeconds(c.process.pid) - c.lastCpu, 0);
  } finally {
    stopping = true;
    await Promise.all(cameras.map((c) => stop(c.process)));
  }
  const pools = splitters.map((s) => s.pool.stats());
  log.info('frame buffers', { allocated: pools.reduce((t, p) => t + p.allocated, 0), reused: pools.reduce((t, p) => t + p.reused, 0) });
  const endMemory = process.memoryUsage();
  const cores = availableParallelism();
  const share = (seconds: number): number => (100 * seconds) / (wall * cores);
  const stats = cameras.map((c) => scheduler.stats(c.name));
  const sum = (pick: (s: (typeof stats)[number]) => number): number => stats.reduce((total, s) => total + pick(s), 0);
  return {
    cameras: cameras.length,
    fps,
    size: `${width}x${height}`,
    source: sources[0]?.kind === 'video' ? 'ASL clips (shared/data/video), looped' : 'face-api sample photos, looped',
    seconds: Math.round(wall * 10) / 10,
    framesReceived: sum((s) => s.received),
    framesAnalysed: sum((s) => s.analysed),
    framesDropped: sum((s) => s.dropped),
    framesFailed: sum((s) => s.failed),
    dropped: { replaced: sum((s) => s.droppedReplaced), queueFull: sum((s) => s.droppedQueueFull), stale: sum((s) => s.droppedStale) },
    analysedFps: sum((s) => s.analysed) / wall,
    offeredFps: cameras.length * fps,
    detect: summarize(detectMs),
    frameAge: summarize(ageMs),
    cpuSharePercent: { node: share(nodeCpu), ffmpeg: share(ffmpegCpu), total: share(nodeCpu + ffmpegCpu) },
    rssMiB: { max: rssMax / 2 ** 20, end: endMemory.rss / 2 ** 20, afterWarmup: rssAfterWarmup / 2 ** 20, heap: endMemory.heapUsed / 2 ** 20, external: endMemory.external / 2 ** 20 },
    detectorModel: detector.modelId,
    privacy: options.privacyName,
    warmupMs,
    steady: {
      afterSeconds: Math.min(STEADY_AFTER_S, options.seconds / 2),
      received: sum((s) => s.received) - atSteady.reduce((t, s) => t + s.received, 0),
      dropped: sum((s) => s.dropped) - atSteady.reduce((t, s) => t + s.dropped, 0),
    },
  };
}

async function waitFor(condition: () => boolean, timeoutMs: number, failure: string): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > until) throw new Error(failure);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}
