/**
 * `raypack-edge anonymize` as a user runs it: the real bin script, real ffmpeg, real models, a real clip cut from
 * the shared videos (with an audio track added, in a temp folder). The output keeps frame count, rate, duration
 * and audio, and the faces the reference detectors find in the input frames are not found in the output frames,
 * analysed ones and the ones between (--fps 10 of a 30 fps clip analyses every third frame).
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDuration, formatProgress } from '../../src/commands/anonymize.ts';
import { decodeImage } from '../../src/image/decode.ts';

import { childProcesses } from '../helpers/processes.ts';
import { clipWithAudio, faceJudges, facesLeft, framesAt, HAVE_VIDEO, probe, VIDEO, type FaceJudges } from './helpers.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'bin/raypack-edge.js');
const SAMPLES = join(ROOT, 'node_modules/@vladmandic/face-api/demo');
if (!HAVE_VIDEO) console.warn(`[anonymize] ${VIDEO} or the reference face models are absent: the anonymize tests on real video are skipped`);

interface Run {
  code: number | null;
  stderr: string;
}

function run(args: string[]): Promise<Run> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [BIN, 'anonymize', ...args], { cwd: ROOT, env: { ...process.env, RAYPACK_LOG_LEVEL: 'error' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code, stderr }));
  });
}

let dir: string;
let judges: FaceJudges | undefined;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'raypack-anonymize-'));
});

afterAll(async () => {
  await judges?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!HAVE_VIDEO)('anonymize a video file', () => {
  let input: string;
  let output: string;
  let result: Run;

  beforeAll(async () => {
    input = clipWithAudio(dir);
    output = join(dir, 'out', 'clip.anon.mp4');
    mkdirSync(dirname(output));
    result = await run([input, '-o', output, '--fps', '10']);
  }, 180_000);

  it('exits 0 with a summary and a progress line with an ETA (stderr is not a terminal: whole lines)', () => {
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/anonymize: \d+\/63 frames \(\d+%\), [\d.]+ frames\/s, ETA \d+s\n/);
    expect(result.stderr).toMatch(/63 frames \(22 analysed\), 2\.1 s of video in [\d.]+ s \([\d.]+x real time\), audio copied/);
    expect(result.stderr).not.toContain('\r');
  });

  it('keeps the frame count, frame rate, duration and size; the video is H.264 and the audio is the input\'s, copied', () => {
    const before = probe(input);
    const after = probe(output);
    expect(after.videoCodec).toBe('h264');
    expect(after.frames).toBe(before.frames);
    expect(after.frames).toBe(63);
    expect(after.fps).toBe(before.fps);
    expect([after.width, after.height]).toEqual([before.width, before.height]);
    expect(Math.abs(after.duration - before.duration)).toBeLessThanOrEqual(1 / 30 + 0.01);
    expect(before.audio?.codec).toBe('aac');
    expect(after.audio).toEqual(before.audio);
  });

  it('leaves nothing beside the output but the output', () => {
    expect(readdirSync(dirname(output))).toEqual(['clip.anon.mp4']);
  });

  it('hides every face the reference detectors and our face model find in the input, analysed frames and frames between', async () => {
    judges ??= await faceJudges();
    // 0, 3, 6... 60 and the last (62): analysed (22); 1, 2, 4, 5...: carried by the tracker and the next analysed frame.
    const indices = [0, 1, 2, 10, 19, 29, 31, 44, 50, 58, 62];
    const facesIn = framesAt(input, indices, 640, 480);
    const facesOut = framesAt(output, indices, 640, 480);
    const check = await facesLeft(judges, facesIn, facesOut, indices);
    expect(check.inputFaces).toBeGreaterThanOrEqual(indices.length * 2);
    expect(check.stillFound).toEqual([]);
  });
});

describe.skipIf(!HAVE_VIDEO)('anonymize a rotated (portrait phone) video', () => {
  it('writes it upright at the shown size, every frame, matching what players show', { timeout: 120_000 }, async () => {
    const plain = join(dir, 'plain.mp4');
    const rotated = join(dir, 'rotated.mp4');
    execFileSync('ffmpeg', ['-v', 'error', '-i', join(VIDEO, 'asl_gestures/bird.mkv'), '-t', '1', '-vf', 'scale=320:240', '-c:v', 'libx264', '-preset', 'ultrafast', '-y', plain]);
    // Rotation metadata only (the stored frames stay 320x240), as phones write it.
    execFileSync('ffmpeg', ['-v', 'error', '-i', plain, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', '-y', rotated]);
    const out = join(dir, 'rotated.anon.mp4');
    const r = await run([rotated, '-o', out, '--fps', '10', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const after = probe(out);
    expect([after.width, after.height, after.frames]).toEqual([240, 320, 30]);
    // Frame 20 as ffmpeg shows the input (rotated) and as we wrote it: the same picture but for the hidden regions.
    const [shown] = framesAt(rotated, [20], 240, 320);
    const [written] = framesAt(out, [20], 240, 320);
    let same = 0;
    for (let i = 0; i < shown.data.length; i += 3) if (Math.abs(shown.data[i] - written.data[i]) < 24) same += 1;
    expect(same / (shown.data.length / 3)).toBeGreaterThan(0.8);
  });
});

describe.skipIf(!HAVE_VIDEO)('anonymize interrupted', () => {
  it('SIGINT mid-video: exit 130, no output, no partial file, no ffmpeg left', { timeout: 120_000 }, async () => {
    const out = join(dir, 'interrupted');
    mkdirSync(out);
    const child = spawn(process.execPath, [BIN, 'anonymize', join(VIDEO, 'asl_gestures/bird.mkv'), '-o', join(out, 'x.mp4')], { cwd: ROOT, env: { ...process.env, RAYPACK_LOG_LEVEL: 'error' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const closed = new Promise<number | null>((resolveClose) => child.on('close', (code) => resolveClose(code)));
    await new Promise<void>((resolveStarted) =>
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (/anonymize: [1-9]\d*\/\d+ frames/.test(stderr)) resolveStarted();
      }),
    );
    const ffmpegs = childProcesses(child.pid!, 'ffmpeg').live;
    expect(ffmpegs.length).toBe(2);
    child.kill('SIGINT');
    expect(await closed).toBe(130);
    expect(stderr).toMatch(/interrupted \(SIGINT\): no output written/);
    expect(readdirSync(out)).toEqual([]);
    for (const pid of ffmpegs) expect(existsSync(`/proc/${pid}`)).toBe(false);
  });
});

describe('progress line', () => {
  it('counts frames, rate and ETA', () => {
    expect(formatProgress({ frames: 312, total: 1394, analysed: 100, elapsedMs: 31_200 })).toBe('anonymize: 312/1394 frames (22%), 10.0 frames/s, ETA 1m48s');
    expect(formatProgress({ frames: 10, analysed: 10, elapsedMs: 1000 })).toBe('anonymize: 10 frames, 10.0 frames/s');
    expect(formatDuration(3725)).toBe('1h02m');
  });
});

describe.skipIf(!HAVE_VIDEO)('anonymize: bad input', () => {
  it('a file that is not a video: a clear error, exit 1, no output and nothing left beside it', async () => {
    const bogus = join(dir, 'notes.mp4');
    writeFileSync(bogus, 'these are my notes, not a video\n'.repeat(50));
    const out = join(dir, 'bad');
    mkdirSync(out);
    const r = await run([bogus, '-o', join(out, 'x.mp4')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/notes\.mp4: not a readable video: /);
    expect(readdirSync(out)).toEqual([]);
  });

  it('a cut file (half of an mp4 whose index is at the end): exit 1 and no output', async () => {
    const whole = readFileSync(join(VIDEO, 'bottle-detection.mp4'));
    const cut = join(dir, 'cut.mp4');
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    const out = join(dir, 'cut-out');
    mkdirSync(out);
    const r = await run([cut, '-o', join(out, 'x.mp4')]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/cut\.mp4: (not a readable video|the video could not be decoded)/);
    expect(readdirSync(out)).toEqual([]);
  });

  it('a missing input, a missing -o, a bad option: exit 1 or 2 with the reason', async () => {
    const missing = await run([join(dir, 'nope.mp4'), '-o', join(dir, 'x.mp4')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope\.mp4: no such file or folder/);
    const noOutput = await run([join(dir, 'nope.mp4')]);
    expect(noOutput.code).toBe(2);
    expect(noOutput.stderr).toMatch(/no output given/);
    const badMode = await run([join(dir, 'nope.mp4'), '-o', join(dir, 'x.mp4'), '--facemode', 'outline']);
    expect(badMode.code).toBe(2);
    expect(badMode.stderr).toMatch(/--facemode must be one of pixel, fill, body/);
    const badFps = await run([join(dir, 'nope.mp4'), '-o', join(dir, 'x.mp4'), '--fps', '0']);
    expect(badFps.code).toBe(2);
    expect(badFps.stderr).toMatch(/--fps must be a number from 1 to 240/);
  });
});

describe.skipIf(!HAVE_VIDEO)('anonymize a folder of photos', () => {
  it('writes each photo as JPEG under the same name, its faces hidden', { timeout: 120_000 }, async () => {
    const photos = join(dir, 'photos');
    mkdirSync(join(photos, 'sub'), { recursive: true });
    copyFileSync(join(SAMPLES, 'sample1.jpg'), join(photos, 'a.jpg'));
    copyFileSync(join(SAMPLES, 'sample3.jpg'), join(photos, 'sub', 'b.jpg'));
    const out = join(dir, 'photos-out');
    const r = await run([photos, '-o', out, '--facemode', 'fill']);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(out, 'a.jpg')) && existsSync(join(out, 'sub', 'b.jpg'))).toBe(true);
    judges ??= await faceJudges();
    for (const [from, to] of [['a.jpg', 'a.jpg'], ['sub/b.jpg', 'sub/b.jpg']]) {
      const a = await decodeImage(new Uint8Array(readFileSync(join(photos, from))));
      const b = await decodeImage(new Uint8Array(readFileSync(join(out, to))));
      const check = await facesLeft(judges, [a], [b], [0]);
      expect(check.inputFaces).toBeGreaterThanOrEqual(3);
      expect(check.stillFound).toEqual([]);
    }
  });
});
