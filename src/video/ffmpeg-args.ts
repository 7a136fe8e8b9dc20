/**
 * ffmpeg and ffprobe argument lists for video files, built by pure functions and tested as strings. Every input
 * is read as `file:<path>` under `-protocol_whitelist file`: a path can never be taken for a URL, and a container
 * that points elsewhere (an HLS playlist, a concat list, a DASH manifest naming http:// or tcp:// segments) cannot
 * make ffmpeg open anything but local files. Output goes to a pipe or to one file we chose.
 */
import { resolve } from 'node:path';

/** A frame rate as ffmpeg writes it (`30/1`, `30000/1001`). */
export interface Rational {
  readonly num: number;
  readonly den: number;
}

export function rationalValue(r: Rational): number {
  return r.num / r.den;
}

export function formatRational(r: Rational): string {
  return `${r.num}/${r.den}`;
}

/** `30000/1001` or `25` to a rational; undefined for `0/0` and anything malformed. */
export function parseRational(text: string | undefined): Rational | undefined {
  const m = /^\s*(\d+)(?:\/(\d+))?\s*$/.exec(text ?? '');
  if (!m) return undefined;
  const num = Number(m[1]);
  const den = m[2] === undefined ? 1 : Number(m[2]);
  return num > 0 && den > 0 ? { num, den } : undefined;
}

/** The local file as ffmpeg must name it: absolute, behind the file: protocol (a path `rtsp:x` stays a file). */
export function fileUrl(path: string): string {
  return `file:${resolve(path)}`;
}

const INPUT_GUARD = ['-protocol_whitelist', 'file'];

export function buildProbeArgs(path: string): string[] {
  return [
    '-v', 'error',
    ...INPUT_GUARD,
    '-show_entries',
    'format=format_name,duration:stream=index,codec_type,codec_name,width,height,r_frame_rate,avg_frame_rate,nb_frames,duration:stream_side_data=rotation:stream_tags=rotate',
    '-of', 'json',
    fileUrl(path),
  ];
}

export interface DecodeArgsInput {
  readonly path: string;
  /** The size frames come out at: the probed display size (after rotation), so every frame has width*height*3 bytes. */
  readonly width: number;
  readonly height: number;
  /** Sample at this rate (`fps` filter); absent: every frame, as stored (no frame dropped or duplicated). */
  readonly sampleFps?: number;
  /** Stop after this many seconds of input (a limit, so a lying header cannot make us decode for ever). */
  readonly maxSeconds?: number;
}

/** Raw RGB frames of the first video stream on stdout. */
export function buildDecodeArgs(input: DecodeArgsInput): string[] {
  const filters = [...(input.sampleFps !== undefined ? [`fps=${roundRate(input.sampleFps)}`] : []), `scale=${input.width}:${input.height}:flags=bilinear`];
  return [
    '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error',
    ...INPUT_GUARD,
    ...(input.maxSeconds !== undefined ? ['-t', String(input.maxSeconds)] : []),
    '-i', fileUrl(input.path),
    '-map', '0:v:0', '-an', '-sn', '-dn',
    ...(input.sampleFps === undefined ? ['-fps_mode', 'passthrough'] : []),
    '-vf', filters.join(','),
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1',
  ];
}

/** Audio codecs an mp4 holds as they are; others are re-encoded to AAC. */
const MP4_AUDIO = new Set(['aac', 'mp3', 'ac3', 'eac3', 'opus', 'flac', 'alac']);

export type AudioPlan = 'none' | 'copy' | 'aac';

/** What happens to the input's first audio stream in an output of `container`. */
export function audioPlan(codec: string | undefined, container: 'mp4' | 'matroska'): AudioPlan {
  if (codec === undefined) return 'none';
  return container === 'matroska' || MP4_AUDIO.has(codec) ? 'copy' : 'aac';
}

export interface EncodeArgsInput {
  readonly width: number;
  readonly height: number;
  readonly fps: Rational;
  /** The original file, whose first audio stream is muxed in (absent or `none`: no audio). */
  readonly audioFrom?: string;
  readonly audio: AudioPlan;
  readonly output: string;
  readonly container: 'mp4' | 'matroska';
  /** libx264 preset and quality (CRF). */
  readonly preset?: string;
  readonly crf?: number;
}

/**
 * H.264 from raw RGB frames on stdin at the input's frame rate, the audio of the original file copied (or made
 * AAC where mp4 cannot hold it), metadata dropped (a phone video carries where it was shot). yuv420p needs even
 * sides: an odd one gets a black row or column.
 */
export function buildEncodeArgs(input: EncodeArgsInput): string[] {
  const audio = input.audioFrom !== undefined && input.audio !== 'none';
  return [
    '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error',
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${input.width}x${input.height}`, '-framerate', formatRational(input.fps),
    '-i', 'pipe:0',
    ...(audio ? [...INPUT_GUARD, '-i', fileUrl(input.audioFrom!)] : []),
    '-map', '0:v:0',
    ...(audio ? ['-map', '1:a:0', ...(input.audio === 'copy' ? ['-c:a', 'copy'] : ['-c:a', 'aac', '-b:a', '128k'])] : []),
    '-map_metadata', '-1',
    '-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2',
    '-c:v', 'libx264', '-preset', input.preset ?? 'veryfast', '-crf', String(input.crf ?? 20), '-pix_fmt', 'yuv420p',
    ...(input.container === 'mp4' ? ['-movflags', '+faststart', '-f', 'mp4'] : ['-f', 'matroska']),
    '-y', fileUrl(input.output),
  ];
}

function roundRate(fps: number): string {
  return Number.isInteger(fps) ? String(fps) : String(Math.round(fps * 1000) / 1000);
}
