/**
 * A video file anonymized: decode (ffmpeg) -> privacy regions (analysis/video.ts: the analysis stage and the
 * tracker, as for cameras) -> render (image/anonymize.ts) -> encode (ffmpeg, H.264, the original audio copied).
 * Frames flow one way and every frame of the input is written, at the input's frame rate, so the output has the
 * same frame count and duration. Fail closed: when anything fails (decode, a frame's analysis, render, encode) the
 * processes are killed and the partial output is deleted; a file appears at `output` only when it is complete
 * (written under a temporary name beside it, then renamed).
 */
import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { VideoPrivacy, type PrivateFrame } from '../analysis/video.ts';
import type { AnalysisStage } from '../analysis/stage.ts';
import type { PrivacyMode } from '../analysis/types.ts';
import { RaypackError } from '../errors.ts';
import { renderFacesRaw, type Rgb } from '../image/anonymize.ts';
import type { TrackerOptionsInput } from '../tracking/tracker.ts';
import { audioPlan, buildDecodeArgs, buildEncodeArgs, rationalValue } from './ffmpeg-args.ts';
import { FrameDecoder, FrameEncoder } from './ffmpeg-process.ts';
import { probeVideo, type VideoInfo } from './probe.ts';

export interface VideoLimits {
  readonly maxSeconds?: number;
  readonly maxFrames?: number;
  readonly maxPixels?: number;
}

export interface Progress {
  readonly frames: number;
  /** Frames expected (from the container), undefined when it does not say. */
  readonly total?: number;
  readonly analysed: number;
  readonly elapsedMs: number;
}

export interface AnonymizeVideoOptions {
  readonly stage: AnalysisStage;
  readonly input: string;
  readonly output: string;
  /** `faces` (faces and heads) or `body` (every person too). */
  readonly privacy: PrivacyMode;
  /** How hidden regions look: pixelated or filled with `colour`. */
  readonly render: 'pixel' | 'fill';
  readonly colour?: Rgb;
  /** Analysed frames per second of video (the tracker carries regions between them); absent: every frame. */
  readonly analysisFps?: number;
  readonly tilesPerFrame?: number;
  readonly tracker?: TrackerOptionsInput;
  readonly limits?: VideoLimits;
  readonly ffmpegPath?: string;
  readonly ffprobePath?: string;
  /** Aborting kills ffmpeg and fails the job (an HTTP request out of time). */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: Progress) => void;
  /** Each frame as it is written (tests, and the API's JSON of faces). */
  readonly onFrame?: (frame: PrivateFrame) => void;
  /** Runs each frame's analysis (the daemon's inference queue); default: at once. */
  readonly schedule?: <T>(work: () => Promise<T>) => Promise<T>;
  /** libx264 preset (default veryfast). */
  readonly preset?: string;
}

export interface AnonymizeVideoResult {
  readonly info: VideoInfo;
  readonly frames: number;
  readonly analysed: number;
  readonly audio: 'none' | 'copy' | 'aac';
  readonly elapsedMs: number;
}

/** The probe, with the limits checked before a frame is decoded. */
export async function probeWithin(input: string, limits: VideoLimits = {}, ffprobePath?: string): Promise<VideoInfo> {
  const info = await probeVideo(input, { ffprobePath });
  if (limits.maxPixels !== undefined && info.width * info.height > limits.maxPixels) {
    throw new RaypackError('payload_too_large', `the video is ${info.width}x${info.height}: more than ${limits.maxPixels} pixels per frame`, { maxPixels: limits.maxPixels });
  }
  if (limits.maxSeconds !== undefined && info.duration !== undefined && info.duration > limits.maxSeconds) {
    throw new RaypackError('payload_too_large', `the video is ${info.duration.toFixed(1)} s long: the limit is ${limits.maxSeconds} s`, { maxSeconds: limits.maxSeconds });
  }
  if (limits.maxFrames !== undefined && info.frames !== undefined && info.frames > limits.maxFrames) {
    throw new RaypackError('payload_too_large', `the video has ${info.frames} frames: the limit is ${limits.maxFrames}`, { maxFrames: limits.maxFrames });
  }
  return info;
}

export async function anonymizeVideo(options: AnonymizeVideoOptions): Promise<AnonymizeVideoResult> {
  const started = performance.now();
  const limits = options.limits ?? {};
  const info = await probeWithin(options.input, limits, options.ffprobePath);
  const ffmpeg = options.ffmpegPath ?? 'ffmpeg';
  const container = /^\.mkv$/i.test(extname(options.output)) ? 'matroska' : 'mp4';
  const audio = audioPlan(info.audioCodec, container);
  const partial = join(dirname(options.output), `.${basename(options.output)}.${randomBytes(6).toString('hex')}.partial`);
  const { width, height } = info;
  const fps = rationalValue(info.fps);

  const decoder = new FrameDecoder(ffmpeg, buildDecodeArgs({ path: options.input, width, height, ...(limits.maxSeconds !== undefined ? { maxSeconds: limits.maxSeconds + 1 } : {}) }), width, height);
  const encoder = new FrameEncoder(ffmpeg, buildEncodeArgs({ width, height, fps: info.fps, audioFrom: options.input, audio, output: partial, container, preset: options.preset }));
  const privacy = new VideoPrivacy({ stage: options.stage, privacy: options.privacy, videoFps: fps, analysisFps: options.analysisFps, tilesPerFrame: options.tilesPerFrame ?? 1, tracker: options.tracker, schedule: options.schedule });
  const colour = options.colour ?? [0, 0, 0];
  const abort = (): void => {
    decoder.abort();
    encoder.abort();
  };
  options.signal?.addEventListener('abort', abort, { once: true });
  let written = 0;
  const write = async (ready: PrivateFrame[]): Promise<void> => {
    for (const item of ready) {
      // Drawn from this frame's own regions; the pixels written are the rendered ones, never the decoded ones.
      const rendered = await renderFacesRaw(item.frame, item.privacy, options.render, { colour });
      options.onFrame?.(item);
      await encoder.write(rendered);
      written += 1;
    }
  };
  try {
    let index = 0;
    for await (const data of decoder.frames()) {
      if (options.signal?.aborted) break;
      if (limits.maxFrames !== undefined && index >= limits.maxFrames) {
        throw new RaypackError('payload_too_large', `the video has more than ${limits.maxFrames} frames`, { maxFrames: limits.maxFrames });
      }
      await write(await privacy.push({ data, width, height, index, time: (index * 1000) / fps }));
      index += 1;
      options.onProgress?.({ frames: written, total: info.frames, analysed: privacy.analysed, elapsedMs: performance.now() - started });
    }
    if (options.signal?.aborted) throw abortError(options.signal);
    await write(await privacy.finish());
    if (written === 0) throw new RaypackError('undecodable_image', 'the video has no frame that could be decoded');
    await encoder.finish();
    if (options.signal?.aborted) throw abortError(options.signal);
    await rename(partial, options.output);
    options.onProgress?.({ frames: written, total: written, analysed: privacy.analysed, elapsedMs: performance.now() - started });
    return { info, frames: written, analysed: privacy.analysed, audio, elapsedMs: performance.now() - started };
  } catch (error) {
    // Stopped from outside: ffmpeg was killed, so whatever broke next is not the reason.
    if (options.signal?.aborted) throw abortError(options.signal);
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', abort);
    abort();
    await Promise.all([decoder.exited(), encoder.exited()]);
    await rm(partial, { force: true });
  }
}

function abortError(signal: AbortSignal): RaypackError {
  const reason: unknown = signal.reason;
  return reason instanceof RaypackError ? reason : new RaypackError('internal', 'the video job was stopped: nothing of it is kept');
}
