/**
 * Videos posted to the RAYPACK API (/recog, /raypackfacev3): the upload is written to a private temp folder, read
 * by ffprobe/ffmpeg from that file only (src/video/ffmpeg-args.ts: file: inputs under -protocol_whitelist file),
 * checked against the limits before a frame is decoded, analysed frame by frame through the shared inference
 * queue (cameras keep their turn), and the folder is removed whatever happens. A job that runs past
 * maxProcessingMs is stopped (413): its ffmpeg processes are killed and nothing of it is kept.
 * - /recog: frames sampled at sampleFps, tags aggregated (best score per label), optionally per second;
 * - /raypackfacev3 mode=json: the faces of each sampled frame, with track ids (the tracker follows reported faces);
 * - /raypackfacev3 mode=image: the anonymized video, by src/video/anonymize.ts (the `anonymize` command's code).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lang } from '../detect/labels.ts';
import { RaypackError } from '../errors.ts';
import { faceBoxes, recogTags, type FaceBox, type RecogTag } from '../raypack/wire.ts';
import { Tracker } from '../tracking/tracker.ts';
import { anonymizeVideo, probeWithin, type VideoLimits } from '../video/anonymize.ts';
import { buildDecodeArgs, rationalValue } from '../video/ffmpeg-args.ts';
import { FrameDecoder } from '../video/ffmpeg-process.ts';
import type { VideoInfo } from '../video/probe.ts';
import type { Detection, Task } from '../detect/types.ts';
import type { RouteContext } from './context.ts';

export interface VideoOptions {
  readonly enabled: boolean;
  readonly maxSeconds: number;
  readonly maxFrames: number;
  readonly maxPixels: number;
  readonly maxProcessingMs: number;
  /** Frames per second analysed for JSON answers. */
  readonly sampleFps: number;
  /** Frames per second analysed for anonymized videos (every frame is written). */
  readonly analysisFps: number;
  readonly ffmpegPath?: string;
  readonly ffprobePath?: string;
}

export const DEFAULT_VIDEO_OPTIONS: VideoOptions = {
  enabled: true,
  maxSeconds: 60,
  maxFrames: 3600,
  maxPixels: 1920 * 1088,
  maxProcessingMs: 120_000,
  sampleFps: 2,
  analysisFps: 10,
};

/** What a video answer says about the video. */
export interface VideoSummary {
  readonly width: number;
  readonly height: number;
  /** Frames per second of the video. */
  readonly fps: number;
  readonly duration: number;
  /** Frames analysed. */
  readonly sampled: number;
}

function limitsOf(options: VideoOptions): VideoLimits {
  return { maxSeconds: options.maxSeconds, maxFrames: options.maxFrames, maxPixels: options.maxPixels };
}

/** Run `job` on the upload written to a private temp folder, within the processing time; the folder always goes. */
async function withVideoFile<T>(ctx: RouteContext, bytes: Uint8Array, job: (path: string, dir: string, signal: AbortSignal) => Promise<T>): Promise<T> {
  if (!ctx.video.enabled) throw new RaypackError('unsupported_media_type', 'video uploads are turned off on this device (api.video.enabled)');
  const dir = await mkdtemp(join(tmpdir(), 'raypack-video-'));
  const controller = new AbortController();
  const seconds = Math.round(ctx.video.maxProcessingMs / 100) / 10;
  const timer = setTimeout(
    () => controller.abort(new RaypackError('payload_too_large', `the video took longer than the limit of ${seconds} s to process: send a shorter one`, { maxProcessingSeconds: seconds })),
    ctx.video.maxProcessingMs,
  );
  try {
    const path = join(dir, 'upload');
    await writeFile(path, bytes, { mode: 0o600 });
    return await job(path, dir, controller.signal);
  } finally {
    clearTimeout(timer);
    await rm(dir, { recursive: true, force: true });
  }
}

/** The sampled frames of a video, each analysed by `analyse` in the inference queue, in order. */
async function forEachSample(
  ctx: RouteContext,
  path: string,
  info: VideoInfo,
  fps: number,
  signal: AbortSignal,
  analyse: (frame: { data: Uint8Array; width: number; height: number }, index: number, timeMs: number) => Promise<void>,
): Promise<number> {
  const rate = Math.min(fps, rationalValue(info.fps));
  const decoder = new FrameDecoder(ctx.video.ffmpegPath ?? 'ffmpeg', buildDecodeArgs({ path, width: info.width, height: info.height, sampleFps: rate, maxSeconds: ctx.video.maxSeconds + 1 }), info.width, info.height);
  const stop = (): void => decoder.abort();
  signal.addEventListener('abort', stop, { once: true });
  let index = 0;
  try {
    for await (const data of decoder.frames()) {
      if (signal.aborted) break;
      await analyse({ data, width: info.width, height: info.height }, index, (index * 1000) / rate);
      index += 1;
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  } finally {
    signal.removeEventListener('abort', stop);
    decoder.abort();
    await decoder.exited();
  }
  if (signal.aborted) throw signal.reason as Error;
  if (index === 0) throw new RaypackError('undecodable_image', 'the video has no frame that could be decoded');
  return index;
}

/** Frames analysed per second for a JSON answer: what the request asks for, at most api.video.sample_fps. */
function sampleRate(ctx: RouteContext, requested: number | undefined): number {
  return Math.min(requested ?? ctx.video.sampleFps, ctx.video.sampleFps);
}

function summary(info: VideoInfo, sampled: number): VideoSummary {
  return { width: info.width, height: info.height, fps: rationalValue(info.fps), duration: info.duration ?? info.frames! / rationalValue(info.fps), sampled };
}

export interface RecogVideoAnswer {
  readonly tags: RecogTag[];
  readonly video: VideoSummary;
  readonly timeline?: Array<{ readonly second: number; readonly tags: RecogTag[] }>;
}

/** /recog on a video: the best score per label over the sampled frames, and per second when asked. */
export async function recogVideo(
  ctx: RouteContext,
  bytes: Uint8Array,
  request: { task: Extract<Task, 'objects' | 'food'>; threshold: number; lang: Lang; fps?: number; timeline: boolean },
): Promise<RecogVideoAnswer> {
  return withVideoFile(ctx, bytes, async (path, _dir, signal) => {
    const info = await probeWithin(path, limitsOf(ctx.video), ctx.video.ffprobePath);
    const all: Detection[] = [];
    const bySecond = new Map<number, Detection[]>();
    const sampled = await forEachSample(ctx, path, info, sampleRate(ctx, request.fps), signal, async (image, _index, timeMs) => {
      const analysis = await ctx.queue.run(() => ctx.stage.analyse({ image }, { report: { [request.task]: { threshold: request.threshold } } }));
      const found = analysis[request.task] ?? [];
      all.push(...found);
      if (request.timeline) {
        const second = Math.floor(timeMs / 1000);
        const list = bySecond.get(second);
        if (list) list.push(...found);
        else bySecond.set(second, [...found]);
      }
    });
    return {
      tags: recogTags(all, request.threshold, request.lang),
      video: summary(info, sampled),
      ...(request.timeline ? { timeline: [...bySecond.entries()].sort((a, b) => a[0] - b[0]).map(([second, list]) => ({ second, tags: recogTags(list, request.threshold, request.lang) })) } : {}),
    };
  });
}

export interface TrackedFace extends FaceBox {
  readonly track: number;
}

export interface FaceVideoAnswer {
  /** Distinct tracks of faces over the video. */
  readonly totalfaces: number;
  readonly video: VideoSummary;
  readonly frames: Array<{ readonly frame: number; readonly time: number; readonly faces: TrackedFace[] }>;
}

/** /raypackfacev3 mode=json on a video: the reported faces of each sampled frame, each with its track id. */
export async function facesOfVideo(ctx: RouteContext, bytes: Uint8Array, request: { threshold: number; fps?: number }): Promise<FaceVideoAnswer> {
  return withVideoFile(ctx, bytes, async (path, _dir, signal) => {
    const info = await probeWithin(path, limitsOf(ctx.video), ctx.video.ffprobePath);
    // Ids for the reported faces: every reported face starts or continues a track (they are at the caller's threshold).
    const tracker = new Tracker({ highScore: request.threshold, lowScore: Math.min(0.1, request.threshold) });
    const ids = new Set<number>();
    const frames: FaceVideoAnswer['frames'] = [];
    const videoFps = rationalValue(info.fps);
    const sampled = await forEachSample(ctx, path, info, sampleRate(ctx, request.fps), signal, async (image, _index, timeMs) => {
      const analysis = await ctx.queue.run(() => ctx.stage.analyse({ image }, { report: { face: { threshold: request.threshold } } }));
      const faces = faceBoxes(analysis.faces ?? [], info.width, info.height);
      const { boxes } = tracker.update(faces.map((f) => ({ box: { x: f.xpos, y: f.ypos, width: f.width, height: f.height }, score: f.score })), timeMs);
      const seen = boxes.filter((t) => t.state === 'seen');
      const tracked = faces.map((f) => {
        const match = seen.find((t) => t.box.x === f.xpos && t.box.y === f.ypos && t.box.width === f.width && t.box.height === f.height);
        if (match) ids.add(match.id);
        return { ...f, track: match?.id ?? 0 };
      });
      frames.push({ frame: Math.round((timeMs / 1000) * videoFps), time: Math.round(timeMs) / 1000, faces: tracked });
    });
    return { totalfaces: ids.size, video: summary(info, sampled), frames };
  });
}

/** /raypackfacev3 mode=image on a video: the anonymized H.264 mp4 (audio copied), as the `anonymize` command makes it. */
export async function anonymizedVideo(ctx: RouteContext, bytes: Uint8Array, request: { privacy: 'faces' | 'body'; render: 'pixel' | 'fill'; colour: readonly [number, number, number] }): Promise<Buffer> {
  return withVideoFile(ctx, bytes, async (path, dir, signal) => {
    const output = join(dir, 'anonymized.mp4');
    await anonymizeVideo({
      stage: ctx.stage,
      input: path,
      output,
      privacy: request.privacy,
      render: request.render,
      colour: request.colour,
      analysisFps: ctx.video.analysisFps,
      limits: limitsOf(ctx.video),
      ffmpegPath: ctx.video.ffmpegPath,
      ffprobePath: ctx.video.ffprobePath,
      signal,
      schedule: (work) => ctx.queue.run(work),
    });
    return readFile(output);
  });
}
