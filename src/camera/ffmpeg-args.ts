/**
 * ffmpeg argument lists, built by pure functions and tested as strings. One ffmpeg per camera decodes the input and
 * hands us raw RGB frames at the analysis size and rate on stdout, so Node never touches compressed video.
 */
export interface FfmpegInput {
  readonly url: string;
  readonly fps: number;
  readonly width: number;
  readonly height: number;
  /** `stretch` to width x height, or `pad`: keep the aspect ratio and fill with black bars. */
  readonly fit?: 'stretch' | 'pad';
  /** Loop a file forever (-stream_loop -1). */
  readonly loop?: boolean;
  /** -re: read at native rate. Default: true for files, false for network inputs. */
  readonly realtime?: boolean;
  readonly rtspTransport?: 'tcp' | 'udp';
  /** Socket I/O timeout for network inputs, so a camera that stops answering makes ffmpeg exit. */
  readonly timeoutSeconds?: number;
  readonly inputArgs?: readonly string[];
  /** Major version of the ffmpeg binary: RTSP's socket timeout is `-timeout` from 5 on, `-stimeout` before. */
  readonly ffmpegMajor?: number;
}

export type InputKind = 'rtsp' | 'http' | 'network' | 'file';

export function inputKind(url: string): InputKind {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined || scheme === 'file') return 'file';
  if (scheme === 'rtsp' || scheme === 'rtsps' || scheme === 'rtmp') return scheme === 'rtmp' ? 'network' : 'rtsp';
  if (scheme === 'http' || scheme === 'https') return 'http';
  return 'network';
}

/** Bytes of one rgb24 frame. */
export function frameBytes(width: number, height: number): number {
  return width * height * 3;
}

export function buildFfmpegArgs(input: FfmpegInput): string[] {
  const kind = inputKind(input.url);
  const timeoutMicros = String(Math.round((input.timeoutSeconds ?? 10) * 1_000_000));
  const args = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info'];
  if (kind === 'rtsp') {
    args.push('-rtsp_transport', input.rtspTransport ?? 'tcp');
    args.push((input.ffmpegMajor ?? 5) >= 5 ? '-timeout' : '-stimeout', timeoutMicros);
    // Live camera: do not buffer ahead, we want the newest picture.
    args.push('-fflags', 'nobuffer');
  } else if (kind === 'http') {
    args.push('-rw_timeout', timeoutMicros);
  } else if (kind === 'network') {
    args.push('-rw_timeout', timeoutMicros);
  }
  if (kind === 'file') {
    if (input.realtime ?? true) args.push('-re');
    if (input.loop) args.push('-stream_loop', '-1');
  } else if (input.realtime) {
    args.push('-re');
  }
  args.push(...(input.inputArgs ?? []));
  args.push('-i', input.url, '-an', '-sn', '-dn');
  const { width: w, height: h } = input;
  const scale =
    input.fit === 'pad'
      ? `scale=${w}:${h}:flags=bilinear:force_original_aspect_ratio=decrease,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2`
      : `scale=${w}:${h}:flags=bilinear`;
  args.push('-vf', `fps=${formatFps(input.fps)},${scale}`);
  args.push('-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1');
  return args;
}

/** ffmpeg takes rationals; avoid `fps=0.3333333333`-style noise. */
function formatFps(fps: number): string {
  return Number.isInteger(fps) ? String(fps) : String(Math.round(fps * 1000) / 1000);
}

/** `ffmpeg version 5.1.9-0+deb12u1 ...` → 5; `ffmpeg version n7.0` → 7; unknown → undefined. */
export function parseFfmpegMajor(versionOutput: string): number | undefined {
  const match = /ffmpeg version [^\d]*(\d+)\./.exec(versionOutput);
  return match ? Number(match[1]) : undefined;
}
