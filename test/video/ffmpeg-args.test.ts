/** The video argument lists as strings, and ffprobe's JSON read from real ffprobe runs on the shared videos. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { audioPlan, buildDecodeArgs, buildEncodeArgs, buildProbeArgs, fileUrl, parseRational } from '../../src/video/ffmpeg-args.ts';
import { parseProbe } from '../../src/video/probe.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const VIDEO = resolve(ROOT, '../shared/data/video');
const HAVE_VIDEO = existsSync(VIDEO);
if (!HAVE_VIDEO) console.warn(`[video args] ${VIDEO} is absent: the probe tests on real videos are skipped`);

describe('ffmpeg argument lists', () => {
  it('reads inputs only as local files: file: URLs under -protocol_whitelist file, before -i', () => {
    const cases: Array<[string, string[]]> = [
      ['rtsp://x/y', buildProbeArgs('rtsp://x/y')],
      ['http://evil/a.mp4', buildDecodeArgs({ path: 'http://evil/a.mp4', width: 4, height: 2 })],
    ];
    for (const [path, args] of cases) {
      const input = args.indexOf('-i') >= 0 ? args.indexOf('-i') + 1 : args.length - 1;
      expect(args[input]).toBe(`file:${resolve(path)}`);
      const guard = args.indexOf('-protocol_whitelist');
      expect(args[guard + 1]).toBe('file');
      expect(guard).toBeGreaterThanOrEqual(0);
      expect(guard).toBeLessThan(input);
    }
    expect(fileUrl('rtsp://cam/1')).toBe(`file:${resolve('rtsp://cam/1')}`);
    expect(fileUrl('-i')).toBe(`file:${resolve('-i')}`);
  });

  it('decodes every frame as stored, or samples with the fps filter; always to the probed size', () => {
    const all = buildDecodeArgs({ path: '/v/a.mkv', width: 640, height: 480 }).join(' ');
    expect(all).toContain('-fps_mode passthrough');
    expect(all).toContain('-vf scale=640:480:flags=bilinear -f rawvideo -pix_fmt rgb24 pipe:1');
    const sampled = buildDecodeArgs({ path: '/v/a.mkv', width: 640, height: 480, sampleFps: 2, maxSeconds: 31 }).join(' ');
    expect(sampled).not.toContain('passthrough');
    expect(sampled).toContain('-t 31 -i file:/v/a.mkv');
    expect(sampled).toContain('-vf fps=2,scale=640:480');
  });

  it('encodes H.264 at the input rate with the original audio copied, metadata dropped', () => {
    const args = buildEncodeArgs({ width: 641, height: 480, fps: { num: 30000, den: 1001 }, audioFrom: '/v/in.mov', audio: 'copy', output: '/o/.x.partial', container: 'mp4' });
    const line = args.join(' ');
    expect(line).toContain('-f rawvideo -pix_fmt rgb24 -s 641x480 -framerate 30000/1001 -i pipe:0 -protocol_whitelist file -i file:/v/in.mov');
    expect(line).toContain('-map 0:v:0 -map 1:a:0 -c:a copy -map_metadata -1');
    expect(line).toContain('-c:v libx264');
    expect(line).toContain('-pix_fmt yuv420p');
    expect(line).toContain('pad=ceil(iw/2)*2:ceil(ih/2)*2');
    expect(line.endsWith('-f mp4 -y file:/o/.x.partial')).toBe(true);
    const silent = buildEncodeArgs({ width: 64, height: 48, fps: { num: 10, den: 1 }, audioFrom: '/v/in.mov', audio: 'none', output: '/o/x', container: 'mp4' }).join(' ');
    expect(silent).not.toContain('1:a');
    expect(silent).not.toContain('in.mov');
  });

  it('copies audio mp4 can hold, makes AAC of the rest, copies anything into mkv', () => {
    expect(audioPlan(undefined, 'mp4')).toBe('none');
    expect(audioPlan('aac', 'mp4')).toBe('copy');
    expect(audioPlan('opus', 'mp4')).toBe('copy');
    expect(audioPlan('vorbis', 'mp4')).toBe('aac');
    expect(audioPlan('pcm_s16le', 'mp4')).toBe('aac');
    expect(audioPlan('vorbis', 'matroska')).toBe('copy');
  });

  it('parses frame rates', () => {
    expect(parseRational('30000/1001')).toEqual({ num: 30000, den: 1001 });
    expect(parseRational('25')).toEqual({ num: 25, den: 1 });
    expect(parseRational('0/0')).toBeUndefined();
    expect(parseRational('abc')).toBeUndefined();
  });
});

describe.skipIf(!HAVE_VIDEO)('ffprobe on the shared videos', () => {
  const probe = (file: string) => parseProbe(execFileSync('ffprobe', buildProbeArgs(resolve(VIDEO, file)), { encoding: 'utf8' }));

  it('reads size, rate, duration and frames of an mkv and an mp4', () => {
    const mkv = probe('asl_gestures/bird.mkv');
    expect(mkv).toMatchObject({ width: 640, height: 480, fps: { num: 30, den: 1 }, videoCodec: 'h264' });
    expect(mkv.duration).toBeCloseTo(2.133, 2);
    expect(mkv.audioCodec).toBeUndefined();
    const mp4 = probe('one-by-one-person-detection.mp4');
    expect(mp4).toMatchObject({ width: 768, height: 432, fps: { num: 10, den: 1 }, frames: 1394 });
  });

  it('refuses what is not a video: no video stream, a still picture, no JSON', () => {
    expect(() => parseProbe('{"streams":[{"codec_type":"audio","codec_name":"aac"}],"format":{"format_name":"mov,mp4"}}')).toThrow(/no video stream/);
    expect(() => parseProbe('{"streams":[{"codec_type":"video","width":4,"height":4,"r_frame_rate":"25/1"}],"format":{"format_name":"png_pipe"}}')).toThrow(/not a video/);
    expect(() => parseProbe('')).toThrow(/not a readable video/);
  });

  it('swaps width and height of a rotated (portrait phone) video', () => {
    const json = '{"streams":[{"codec_type":"video","width":1920,"height":1080,"r_frame_rate":"30/1","side_data_list":[{"rotation":-90}]}],"format":{"format_name":"mov,mp4,m4a,3gp,3g2,mj2","duration":"2.0"}}';
    expect(parseProbe(json)).toMatchObject({ width: 1080, height: 1920, frames: 60 });
  });
});
