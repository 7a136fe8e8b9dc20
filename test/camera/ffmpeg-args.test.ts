import { describe, expect, it } from 'vitest';
import { buildFfmpegArgs, frameBytes, inputKind, parseFfmpegMajor } from '../../src/camera/ffmpeg-args.ts';
import { Backoff } from '../../src/camera/backoff.ts';
import { FrameSplitter } from '../../src/camera/frame-splitter.ts';
import { StderrRing } from '../../src/camera/stderr-ring.ts';
import { displayUrl, urlSecrets } from '../../src/camera/url.ts';

describe('buildFfmpegArgs', () => {
  it('builds an RTSP input over TCP with a socket timeout in microseconds and raw RGB output', () => {
    const args = buildFfmpegArgs({ url: 'rtsp://u:p@cam/stream', fps: 5, width: 640, height: 360, timeoutSeconds: 7, ffmpegMajor: 5 });
    expect(args.join(' ')).toBe(
      '-hide_banner -nostdin -nostats -loglevel info -rtsp_transport tcp -timeout 7000000 -fflags nobuffer ' +
        '-i rtsp://u:p@cam/stream -an -sn -dn -vf fps=5,scale=640:360:flags=bilinear -f rawvideo -pix_fmt rgb24 pipe:1',
    );
  });

  it('uses -stimeout on ffmpeg 4', () => {
    const args = buildFfmpegArgs({ url: 'rtsp://cam/s', fps: 1, width: 64, height: 64, ffmpegMajor: 4 });
    expect(args).toContain('-stimeout');
    expect(args).not.toContain('-timeout');
  });

  it('reads files in real time and loops them when asked', () => {
    const args = buildFfmpegArgs({ url: '/data/demo.mp4', fps: 2.5, width: 320, height: 240, loop: true });
    expect(args.join(' ')).toContain('-re -stream_loop -1 -i /data/demo.mp4');
    expect(args.join(' ')).toContain('fps=2.5,scale=320:240');
    expect(args).not.toContain('-rtsp_transport');
  });

  it('does not pace network inputs and honours extra input args', () => {
    const args = buildFfmpegArgs({ url: 'http://cam/mjpg', fps: 5, width: 64, height: 64, inputArgs: ['-hwaccel', 'auto'] });
    expect(args).not.toContain('-re');
    expect(args.join(' ')).toContain('-rw_timeout 10000000 -hwaccel auto -i http://cam/mjpg');
  });

  it('keeps the aspect ratio with black bars when asked', () => {
    const args = buildFfmpegArgs({ url: 'rtsp://cam/s', fps: 2, width: 640, height: 360, fit: 'pad' });
    expect(args[args.indexOf('-vf') + 1]).toBe(
      'fps=2,scale=640:360:flags=bilinear:force_original_aspect_ratio=decrease,pad=640:360:(ow-iw)/2:(oh-ih)/2',
    );
  });

  it('classifies inputs and sizes frames', () => {
    expect(inputKind('RTSP://x/y')).toBe('rtsp');
    expect(inputKind('rtsps://x/y')).toBe('rtsp');
    expect(inputKind('file:///a.mp4')).toBe('file');
    expect(inputKind('./a.mp4')).toBe('file');
    expect(inputKind('https://x/y')).toBe('http');
    expect(frameBytes(640, 360)).toBe(691200);
  });

  it('parses the ffmpeg major version', () => {
    expect(parseFfmpegMajor('ffmpeg version 5.1.9-0+deb12u1 Copyright')).toBe(5);
    expect(parseFfmpegMajor('ffmpeg version n7.1.1 Copyright')).toBe(7);
    expect(parseFfmpegMajor('ffmpeg version 4.4.2-0ubuntu0.22.04.1')).toBe(4);
    expect(parseFfmpegMajor('garbage')).toBeUndefined();
  });
});

describe('FrameSplitter', () => {
  it('cuts arbitrary chunks into exact frames, without copying whole frames that arrive aligned', () => {
    const frames: Buffer[] = [];
    const splitter = new FrameSplitter(4, (f) => frames.push(f.data));
    const aligned = Buffer.from([1, 1, 1, 1, 2, 2, 2, 2]);
    splitter.push(aligned);
    expect(frames.map((f) => [...f])).toEqual([[1, 1, 1, 1], [2, 2, 2, 2]]);
    expect(frames[0].buffer).toBe(aligned.buffer); // handed on as a view
    splitter.push(Buffer.from([3, 3]));
    splitter.push(Buffer.from([3]));
    splitter.push(Buffer.from([3, 4, 4, 4, 4, 5]));
    expect(frames.map((f) => f[0])).toEqual([1, 2, 3, 4]);
    expect(splitter.pendingBytes).toBe(1);
    splitter.reset();
    splitter.push(Buffer.from([6, 6, 6, 6]));
    expect([...frames[4]]).toEqual([6, 6, 6, 6]);
  });
});

describe('StderrRing', () => {
  it('keeps the last N lines, removes credentials and collapses repeats', () => {
    const ring = new StderrRing(3, ['s3cret']);
    ring.push('Input #0, rtsp, from rtsp://admin:s3cret@10.0.0.2/live:\n');
    ring.push('[swscaler @ 0x1] deprecated\n[swscaler @ 0x2] deprecated\n[swscaler @ 0x3] deprecated\n');
    ring.push('password s3cret leaked\npart');
    const lines = ring.snapshot();
    expect(lines.join('\n')).not.toContain('s3cret');
    expect(lines.join('\n')).not.toContain('admin');
    expect(lines).toEqual([
      'Input #0, rtsp, from rtsp://***:***@10.0.0.2/live:',
      '[swscaler @ 0x1] deprecated (repeated 2 times)',
      'password *** leaked',
      'part',
    ]);
    for (let i = 0; i < 10; i += 1) ring.push(`line ${i}\n`);
    // The pending 'part' joined the next chunk's first line; capacity 3 keeps the newest three.
    expect(ring.snapshot()).toEqual(['line 7', 'line 8', 'line 9']);
  });
});

describe('Backoff', () => {
  it('doubles from 1 s to a 60 s cap and resets after a run at least as long as the cap', () => {
    const b = new Backoff({ initialMs: 1000, maxMs: 60_000 });
    expect([0, 0, 0, 0, 0, 0, 0, 0].map(() => b.next(500))).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
    expect(b.next(60_000)).toBe(1000);
    expect(b.next(10)).toBe(2000);
  });
});

describe('camera URL secrets', () => {
  it('finds the password and secret query values, and hides them for logs', () => {
    expect(urlSecrets('rtsp://admin:s3cr%40t@10.0.0.2/live')).toEqual(['s3cr%40t', 's3cr@t']);
    expect(urlSecrets('http://cam/snap.cgi?user=admin&pwd=hunter22&chn=1')).toEqual(['hunter22']);
    expect(displayUrl('http://cam/snap.cgi?user=admin&pwd=hunter22&chn=1')).toBe('http://cam/snap.cgi?user=admin&pwd=***&chn=1');
    expect(displayUrl('rtsp://admin:pw9@cam/live')).toBe('rtsp://***:***@cam/live');
    expect(urlSecrets('/data/video.mp4')).toEqual([]);
  });
});
