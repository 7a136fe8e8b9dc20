/**
 * What a video file holds, from ffprobe (argument list, no shell, local files only: ffmpeg-args.ts). A file
 * ffprobe cannot read, or one without a video stream, is `undecodable_image` (422) with ffprobe's reason.
 */
import { execFile } from 'node:child_process';
import { RaypackError } from '../errors.ts';
import { buildProbeArgs, parseRational, rationalValue, type Rational } from './ffmpeg-args.ts';

export interface VideoInfo {
  /** The size frames are shown at (rotation applied: a portrait phone video is taller than wide). */
  readonly width: number;
  readonly height: number;
  readonly fps: Rational;
  /** Seconds (the container's, else the video stream's); undefined when neither says. */
  readonly duration?: number;
  /** Frames of the video stream when the container says, else duration x fps rounded. */
  readonly frames?: number;
  readonly videoCodec: string;
  /** The first audio stream's codec, if there is one. */
  readonly audioCodec?: string;
  readonly formatName: string;
}

interface ProbeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  nb_frames?: string;
  duration?: string;
  side_data_list?: Array<{ rotation?: number }>;
  tags?: { rotate?: string };
}

export async function probeVideo(path: string, options: { ffprobePath?: string; timeoutMs?: number } = {}): Promise<VideoInfo> {
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(options.ffprobePath ?? 'ffprobe', buildProbeArgs(path), { timeout: options.timeoutMs ?? 20_000, maxBuffer: 1 << 20 }, (error, out, err) => {
      if (error) {
        const reason = String(err).trim().split('\n').pop()?.replace(/^file:\S*?:\s*/, '') || error.message;
        reject(new RaypackError('undecodable_image', `not a readable video: ${reason.slice(0, 200)}`, undefined, { cause: error }));
      } else resolve(out);
    });
  });
  return parseProbe(stdout);
}

/** ffprobe's JSON to VideoInfo (pure: tested on real ffprobe output). */
export function parseProbe(json: string): VideoInfo {
  let data: { streams?: ProbeStream[]; format?: { format_name?: string; duration?: string } };
  try {
    data = JSON.parse(json) as typeof data;
  } catch {
    throw new RaypackError('undecodable_image', 'not a readable video: ffprobe gave no description of it');
  }
  const streams = data.streams ?? [];
  const video = streams.find((s) => s.codec_type === 'video' && (s.width ?? 0) > 0 && (s.height ?? 0) > 0);
  if (!video) throw new RaypackError('undecodable_image', 'not a readable video: it has no video stream');
  // A single still picture probes as a one-frame "video" (image2, png_pipe...): not a video for our purposes.
  const formatName = data.format?.format_name ?? '';
  if (/(^|,)(image2|\w+_pipe)(,|$)/.test(formatName)) throw new RaypackError('undecodable_image', `not a video: ffprobe reads it as ${formatName}`);
  const fps = usableRate(parseRational(video.r_frame_rate)) ?? usableRate(parseRational(video.avg_frame_rate));
  if (!fps) throw new RaypackError('undecodable_image', 'not a readable video: it has no frame rate');
  const rotation = Math.abs(Number(video.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? video.tags?.rotate ?? 0)) % 180;
  const [width, height] = rotation === 90 ? [video.height!, video.width!] : [video.width!, video.height!];
  const duration = positive(data.format?.duration) ?? positive(video.duration);
  const counted = positive(video.nb_frames);
  const frames = counted !== undefined ? Math.round(counted) : duration !== undefined ? Math.round(duration * rationalValue(fps)) : undefined;
  const audio = streams.find((s) => s.codec_type === 'audio');
  return {
    width,
    height,
    fps,
    ...(duration !== undefined ? { duration } : {}),
    ...(frames !== undefined ? { frames } : {}),
    videoCodec: video.codec_name ?? 'unknown',
    ...(audio?.codec_name ? { audioCodec: audio.codec_name } : {}),
    formatName,
  };
}

/** ffprobe reports 90000/1 or 1000/1 for some streams with unknown rates: not a frame rate to encode at. */
function usableRate(r: Rational | undefined): Rational | undefined {
  return r && rationalValue(r) > 0 && rationalValue(r) <= 240 ? r : undefined;
}

function positive(text: string | undefined): number | undefined {
  const n = Number(text);
  return text !== undefined && Number.isFinite(n) && n > 0 ? n : undefined;
}
