/**
 * Pooled frames with a real ffmpeg. (1) A frame held by someone keeps its bytes while ffmpeg delivers many more
 * frames into reused buffers, also across an ffmpeg restart; the pool stays at a few buffers. (2) The daemon's
 * path (CameraSource → FrameScheduler → CameraAnalyser and the analysis stage with the real face detector →
 * Camera's latest result → snapshot renders) on a video with people: every analysed frame has exactly the bytes ffmpeg delivered for it
 * from the start to the end of its analysis, the latest result's frame is intact whenever one looks, snapshots
 * rendered while frames keep arriving equal renders of a private copy, and detection results equal detection on
 * a copy of the frame.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CameraAnalyser, type AnalysedFrame, type AnalysisResult } from '../../src/analysis/camera.ts';
import { AnalysisStage } from '../../src/analysis/stage.ts';
import { Camera } from '../../src/camera/camera.ts';
import { buildFfmpegArgs } from '../../src/camera/ffmpeg-args.ts';
import type { FrameBuffer } from '../../src/camera/frame-pool.ts';
import { renderSnapshot } from '../../src/camera/snapshot.ts';
import { CameraSource } from '../../src/camera/supervisor.ts';
import type { CameraConfig } from '../../src/config/types.ts';
import { loadConfig } from '../../src/config/load.ts';
import { loadDetector } from '../../src/detect/registry.ts';
import type { Detector } from '../../src/detect/types.ts';
import { logger } from '../../src/log.ts';
import { Topics } from '../../src/mqtt/topics.ts';
import { InferenceQueue } from '../../src/pipeline/inference-queue.ts';
import { FrameScheduler } from '../../src/pipeline/scheduler.ts';
import { faceBoxes } from '../../src/raypack/wire.ts';
import { childProcesses, sleep, waitFor } from '../helpers/processes.ts';

const sha1 = (bytes: Uint8Array): string => createHash('sha1').update(bytes).digest('hex');

function source(id: string, url: string, width: number, height: number, fps: number, inputArgs: string[] = [], loop = false): CameraSource {
  return new CameraSource({
    id,
    ffmpegPath: 'ffmpeg',
    args: buildFfmpegArgs({ url, fps, width, height, loop, inputArgs }),
    width,
    height,
    stallTimeoutMs: 10_000,
    backoff: { initialMs: 100, maxMs: 500 },
    log: logger(`test:frames:${id}`),
  });
}

describe('frame buffers with a real ffmpeg', () => {
  it('keeps a held frame intact while ffmpeg fills reused buffers, across a restart, with a few buffers in all', async () => {
    // testsrc2 changes every frame (moving pattern, frame counter): a buffer refilled under us cannot go unnoticed.
    const cam = source('testsrc', 'testsrc2=size=320x240:rate=20', 320, 240, 20, ['-f', 'lavfi']);
    let held: { ref: FrameBuffer; copy: Buffer; seq: number } | undefined;
    const hashes = new Set<string>();
    let frames = 0;
    cam.onFrame((f) => {
      frames += 1;
      hashes.add(sha1(f.data));
      if (f.seq === 5) held = { ref: f.ref.retain(), copy: Buffer.from(f.data), seq: f.seq };
    });
    cam.start();
    try {
      await waitFor(() => frames >= 45, 20_000, '45 frames');
      expect(held!.ref.data.equals(held!.copy)).toBe(true);
      expect(hashes.size).toBeGreaterThan(40); // the frames really differ
      expect(cam.framePoolStats()).toMatchObject({ frameBytes: 320 * 240 * 3 });
      expect(cam.framePoolStats().allocated).toBeLessThanOrEqual(3);

      // ffmpeg dies (as a camera process would): the supervisor restarts it; the held frame is still untouched.
      process.kill(cam.pid!, 'SIGKILL');
      await waitFor(() => cam.status().starts >= 2 || undefined, 10_000, 'the restart');
      const before = frames;
      await waitFor(() => frames >= before + 20, 20_000, 'frames after the restart');
      expect(held!.ref.data.equals(held!.copy)).toBe(true);
      const stats = cam.framePoolStats();
      expect(stats.allocated).toBeLessThanOrEqual(3);
      expect(stats.reused).toBeGreaterThanOrEqual(frames - 3);
    } finally {
      await cam.stop();
    }
    // Stopped: only our frame is out; nothing is kept idle.
    expect(cam.framePoolStats()).toMatchObject({ inUse: 1, free: 0 });
    held!.ref.release();
    expect(cam.framePoolStats().inUse).toBe(0);
    expect(childProcesses(process.pid, 'ffmpeg').live).toEqual([]);
  }, 60_000);
});

const CLIPS = resolve(fileURLToPath(new URL('../../', import.meta.url)), '../shared/data/video/asl_gestures');
const clip = existsSync(CLIPS) ? readdirSync(CLIPS).filter((f) => f.endsWith('.mkv')).sort()[0] : undefined;

describe.skipIf(!clip)('the camera pipeline on pooled frames, real face detector', () => {
  let detector: Detector;
  beforeAll(async () => {
    detector = await loadDetector('face', { threads: 1 });
  });
  afterAll(() => detector?.close());

  it('analyses, keeps and renders exactly the frames ffmpeg delivered while buffers are reused', async () => {
    const width = 640;
    const height = 480;
    // The schema's camera defaults for everything not set here.
    const config: CameraConfig = loadConfig({
      text: JSON.stringify({
        // fps faster than one thread detects: frames get replaced and buffers cycle while analyses read theirs
        cameras: [{ id: 'asl', url: 'file:///unused', fps: 25, width, height, tasks: ['face'], loop: true }],
      }),
    }).config.cameras[0];
    const src = source('asl', join(CLIPS, clip!), width, height, config.fps, [], true);
    const arrived = new Map<number, string>();
    src.onFrame((f) => {
      arrived.set(f.seq, sha1(f.data));
      arrived.delete(f.seq - 500);
    });
    const queue = new InferenceQueue({ concurrency: 1, capacity: 2 });
    const problems: string[] = [];
    const analysed: Array<{ result: AnalysisResult; copy: Buffer }> = [];
    // eslint-disable-next-line prefer-const -- assigned below; the analysis delivers to it
    let camera!: Camera;
    const copies = new Map<number, Buffer>();
    const analyser = new CameraAnalyser({
      stage: new AnalysisStage({ detectors: async () => detector }),
      settings: { camera: 'asl', tasks: ['face'], thresholds: {}, lang: 'en', privacy: 'faces', tilesPerFrame: 1 },
      deliver: (result) => {
        if (sha1(result.frame.data) !== arrived.get(result.frame.seq)) problems.push(`frame ${result.frame.seq} changed during its analysis`);
        if (analysed.length < 40) analysed.push({ result, copy: copies.get(result.frame.seq)! });
        copies.delete(result.frame.seq);
        camera.accept(result);
      },
    });
    const scheduler = new FrameScheduler<AnalysedFrame>({
      queue,
      log: logger('test:frames:scheduler'),
      maxAgeMs: () => 2000,
      // The daemon's analyse step, with checks of the bytes before it.
      analyse: async (_id, frame) => {
        if (sha1(frame.data) !== arrived.get(frame.seq)) problems.push(`frame ${frame.seq} changed before its analysis`);
        if (copies.size < 50) copies.set(frame.seq, Buffer.from(frame.data));
        await analyser.analyse(frame);
      },
    });
    src.onFrame((raw) => scheduler.submit('asl', { data: raw.data, width: raw.width, height: raw.height, seq: raw.seq, time: raw.time, ref: raw.ref.retain() }));
    camera = new Camera({
      config,
      source: src,
      frames: () => scheduler.stats('asl'),
      topics: new Topics('raypack', 'test'),
      publish: { minIou: 0.6, minIntervalMs: 0, heartbeatMs: 60_000, license: 'test' },
      log: logger('test:frames:camera'),
    });

    // Snapshots rendered while frames keep coming, each compared with a render of a copy taken at the request.
    const renders: Array<{ seq: number; jpeg: Promise<Buffer>; result: AnalysisResult; copy: Buffer }> = [];
    let latestChecks = 0;
    const sampler = setInterval(() => {
      const latest = camera.latestResult();
      if (!latest) return;
      latestChecks += 1;
      if (sha1(latest.frame.data) !== arrived.get(latest.frame.seq)) problems.push(`latest frame ${latest.frame.seq} was overwritten`);
      if (renders.length < 12 && renders.at(-1)?.seq !== latest.frame.seq) {
        const copy = Buffer.from(latest.frame.data);
        try {
          renders.push({ seq: latest.frame.seq, jpeg: camera.snapshots.get(latest, 'pixel', '00ff00'), result: latest, copy });
        } catch (error) {
          problems.push(`snapshot of frame ${latest.frame.seq}: ${(error as Error).message}`);
        }
      }
    }, 37);
    camera.start();
    try {
      await waitFor(() => (analysed.length >= 30 && renders.length >= 8) || problems.length > 0 || undefined, 60_000, '30 analysed frames and 8 snapshots');
    } finally {
      clearInterval(sampler);
      await camera.stop();
    }
    await waitFor(() => (queue.stats().running === 0 && queue.stats().waiting === 0) || undefined, 20_000, 'the last analysis');
    expect(problems).toEqual([]);
    expect(latestChecks).toBeGreaterThan(10);
    expect(src.status().framesReceived).toBeGreaterThan(analysed.length); // frames arrived faster than analysed: buffers cycled

    // Analysis saw the right pixels: detecting again on a private copy gives the same faces.
    let withFaces = 0;
    for (const { result, copy } of analysed.slice(0, 6)) {
      const again = faceBoxes(await detector.detect({ data: copy, width, height }), width, height);
      expect(result.faces).toEqual(again);
      if (again.length > 0) withFaces += 1;
    }
    expect(withFaces).toBeGreaterThan(0); // the clips show a person facing the camera

    // Every snapshot equals a render of the copy taken when it was requested (the check above: the delivered frame).
    for (const r of renders) {
      const own = await renderSnapshot({ ...r.result, frame: { ...r.result.frame, data: r.copy, ref: undefined } }, 'pixel', '00ff00');
      expect((await r.jpeg).equals(own)).toBe(true);
    }

    // Stopped and idle: only the latest result's frame is still held; the pool stayed at a few buffers.
    const pool = src.framePoolStats();
    expect(pool.inUse).toBe(1);
    // Out at once: filling, waiting, analysed, latest, and older latest frames whose snapshot render is still running.
    expect(pool.allocated).toBeLessThanOrEqual(8);
    expect(pool.reused).toBeGreaterThanOrEqual(src.status().framesReceived - pool.allocated);
    console.info(`pooled frames: ${pool.allocated} buffers for ${src.status().framesReceived} frames, ${analysed.length} analysed, ${renders.length} snapshots`);
    await sleep(10);
    expect(childProcesses(process.pid, 'ffmpeg').live).toEqual([]);
  }, 120_000);
});
