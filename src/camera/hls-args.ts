/**
 * The ffmpeg argument list of a camera's anonymised HLS encoder, a pure function tested as strings. ffmpeg reads
 * raw RGB frames of the camera's analysis size on stdin at a constant rate (the writer paces them) and writes
 * H.264 in fMP4 segments with a rolling playlist; it never sees the camera's own stream.
 */
import { join } from 'node:path';

export interface HlsEncoding {
  readonly width: number;
  readonly height: number;
  /** Frames per second on stdin (and so of the output: the writer repeats frames to keep it constant). */
  readonly fps: number;
  readonly segmentSeconds: number;
  /** Segments listed in the playlist. */
  readonly segments: number;
  /** libx264 CRF. */
  readonly crf: number;
  readonly maxKbps?: number;
  /** Folder of the playlist and its segments. */
  readonly dir: string;
}

export const HLS_PLAYLIST = 'index.m3u8';
export const HLS_INIT = 'init.mp4';
/** The names ffmpeg gives segments; the HTTP route serves no other name (no path can be asked for). */
export const HLS_SEGMENT_PATTERN = /^seg[0-9]{1,20}\.m4s$/;

export function buildHlsArgs(e: HlsEncoding): string[] {
  const fps = formatNumber(e.fps);
  // A keyframe opens every segment, so each one can be played on its own (HLS independent segments).
  const gop = String(Math.max(1, Math.round(e.fps * e.segmentSeconds)));
  const args = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'warning'];
  args.push('-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${e.width}x${e.height}`, '-framerate', fps, '-i', 'pipe:0');
  // yuv420p needs even sides: pad an odd one by a pixel rather than fail.
  if (e.width % 2 !== 0 || e.height % 2 !== 0) args.push('-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2');
  args.push('-an', '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-crf', String(e.crf));
  if (e.maxKbps !== undefined) args.push('-maxrate', `${e.maxKbps}k`, '-bufsize', `${e.maxKbps * 2}k`);
  args.push('-g', gop, '-keyint_min', gop, '-sc_threshold', '0', '-force_key_frames', `expr:gte(t,n_forced*${formatNumber(e.segmentSeconds)})`);
  args.push('-f', 'hls', '-hls_time', formatNumber(e.segmentSeconds), '-hls_list_size', String(e.segments));
  // delete_segments keeps the folder bounded; temp_file writes each file under another name and renames it, so
  // a reader never gets half a playlist; numbers from the epoch keep rising across encoder restarts.
  args.push('-hls_flags', 'delete_segments+independent_segments+temp_file+program_date_time+omit_endlist');
  args.push('-hls_start_number_source', 'epoch', '-hls_segment_type', 'fmp4', '-hls_fmp4_init_filename', HLS_INIT);
  args.push('-hls_segment_filename', join(e.dir, 'seg%d.m4s'), join(e.dir, HLS_PLAYLIST));
  return args;
}

function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Math.round(n * 1000) / 1000);
}
