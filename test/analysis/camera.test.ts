/**
 * One camera's analysis (src/analysis/camera.ts) with the real detectors on real photos: a face the detector
 * misses in a frame stays hidden through the tracker's prediction; a frame whose analysis fails or times out never
 * reaches the output, which keeps the last anonymized frame and counts the failure (fail closed). The fault is
 * injected in a wrapper around the real detector.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CameraAnalyser, type AnalysedFrame, type AnalysisResult } from '../../src/analysis/camera.ts';
import { DEFAULT_PRIVACY } from '../../src/analysis/privacy.ts';
import { AnalysisStage } from '../../src/analysis/stage.ts';
import type { PrivacyRegion } from '../../src/analysis/types.ts';
import { area, intersection } from '../../src/core/geometry.ts';
import { loadDetector } from '../../src/detect/registry.ts';
import type { Detector } from '../../src/detect/types.ts';
import { hiddenAreas } from '../../src/image/anonymize.ts';

const SAMPLES = join(import.meta.dirname, '../../node_modules/@vladmandic/face-api/demo');

async function frameOf(file: string, seq: number, time: number): Promise<AnalysedFrame> {
  const { data, info } = await sharp(readFileSync(file)).resize(960, 640, { fit: 'fill' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, seq, time };
}

describe('camera analysis', () => {
  let real: Detector;
  /** What the wrapped detector does on the next call: run, see nothing, throw, or hang. */
  let fault: 'none' | 'blind' | 'tiles-only' | 'throw' | 'hang' = 'none';
  const wrapped = (): Detector => ({
    ...real,
    task: real.task,
    modelId: real.modelId,
    defaultThreshold: real.defaultThreshold,
    inputSize: real.inputSize,
    async detect(image, options) {
      if (fault === 'throw') throw new Error('injected: the face model failed');
      if (fault === 'hang') return new Promise(() => undefined);
      if (fault === 'blind') return [];
      // Only the tile passes see: the faces a camera finds only when a tile's turn comes.
      if (fault === 'tiles-only' && !options?.regions) return [];
      return real.detect(image, options);
    },
    detectAt: undefined,
    close: async () => undefined,
  });
  beforeAll(async () => {
    real = await loadDetector('face');
  }, 60_000);
  afterAll(() => real?.close());

  function analyser(delivered: AnalysisResult[], timeoutMs = 10_000): CameraAnalyser {
    const detector = wrapped();
    return new CameraAnalyser({
      stage: new AnalysisStage({ detectors: async () => detector, privacy: { threshold: 0.3, tiles: 0, zoom: 2, maxTilesPerSide: 3, overlap: 0.25, models: [], modelThreshold: 0, personHeads: false, personThreshold: 0.35, poseHeads: false, headCover: 0, flip: false, border: 0 } }),
      settings: { camera: 'cam', tasks: ['face'], thresholds: {}, lang: 'en', privacy: 'faces', tilesPerFrame: 1, timeoutMs },
      deliver: (r) => delivered.push(r),
    });
  }

  it('keeps a face hidden through frames the detector misses, at its predicted box', async () => {
    const delivered: AnalysisResult[] = [];
    const cam = analyser(delivered);
    const photo = join(SAMPLES, 'sample1.jpg');
    fault = 'none';
    await cam.analyse(await frameOf(photo, 1, 1000));
    await cam.analyse(await frameOf(photo, 2, 1200));
    const faces = delivered[1].faces;
    expect(faces.length).toBe(3);
    fault = 'blind';
    for (let i = 3; i <= 6; i++) await cam.analyse(await frameOf(photo, i, 1000 + 200 * (i - 1)));
    fault = 'none';
    for (const result of delivered.slice(2)) {
      expect(result.faces).toEqual([]);
      const hidden = hiddenAreas(result.privacy, result.frame.width, result.frame.height);
      expect(result.privacy.every((r) => r.predicted && r.trackId !== undefined)).toBe(true);
      for (const f of faces) {
        const box = { x: f.xpos, y: f.ypos, width: f.width, height: f.height };
        expect(Math.max(...hidden.map((h) => intersection(h, box) / area(box))), `frame ${result.frame.seq}`).toBeGreaterThan(0.95);
      }
    }
  });

  it('takes the privacy passes in turn: each frame runs the face pass and one more, every pass comes round', async () => {
    const objects = await loadDetector('objects');
    try {
      const delivered: AnalysisResult[] = [];
      const stage = new AnalysisStage({ detectors: async (task) => (task === 'face' ? real : objects), privacy: { ...DEFAULT_PRIVACY, personHeads: true, poseHeads: false, models: [] } });
      const cam = new CameraAnalyser({
        stage,
        settings: { camera: 'cam', tasks: ['face'], thresholds: {}, lang: 'en', privacy: 'faces', tilesPerFrame: 1 },
        deliver: (r) => delivered.push(r),
      });
      const photo = join(SAMPLES, 'sample3.jpg');
      const grid = await stage.privacyGridSize(960, 640);
      expect(grid).toBeGreaterThan(1);
      for (let i = 0; i < grid + 5; i++) await cam.analyse(await frameOf(photo, i + 1, 200 * i));
      const extra = delivered.map((r) => Object.keys(r.timings).filter((k) => k.startsWith('privacy') || k === 'objects').sort());
      // The first frame begins a scene: every pass at once. Then one extra pass per frame: the grid's tiles in turn,
      // then the person pass (the objects detector: this camera has no objects task), then the mirrored face pass
      // (privacy.flip), then the bordered one (privacy.border), then again.
      expect(extra[0]).toEqual(['objects', 'privacyBorder', 'privacyFlip', 'privacyTiles']);
      expect(extra.slice(1)).toEqual([...Array.from({ length: grid }, () => ['privacyTiles']), ['objects'], ['privacyFlip'], ['privacyBorder'], ['privacyTiles']]);
      expect(cam.sceneCuts).toBe(1);
    } finally {
      await objects.close();
    }
  });

  it('hands the object tracker the weak objects detections too, from the same inference, and reports only those at the threshold', async () => {
    const objects = await loadDetector('objects');
    try {
      const stage = new AnalysisStage({ detectors: async (task) => (task === 'face' ? real : objects), privacy: { ...DEFAULT_PRIVACY, personHeads: false, poseHeads: false, models: [], flip: false, tiles: 0 } });
      const image = await frameOf(join(SAMPLES, 'sample3.jpg'), 1, 0);
      const a = await stage.analyse({ image }, { report: { objects: { threshold: 0.35 } }, objectCandidates: 0.1 });
      const reported = a.objects ?? [];
      const candidates = a.objectCandidates!;
      expect(candidates.reportThreshold).toBe(0.35);
      expect(reported.length).toBeGreaterThan(0);
      expect(candidates.detections.filter((d) => d.score >= 0.35)).toEqual(reported);
      expect(candidates.detections.some((d) => d.score < 0.35)).toBe(true);
      expect(candidates.detections.every((d) => d.score >= 0.1)).toBe(true);
      // Without the request nothing more is computed or returned.
      expect((await stage.analyse({ image }, { report: { objects: { threshold: 0.35 } } })).objectCandidates).toBeUndefined();
    } finally {
      await objects.close();
    }
  });

  it('keeps a face that only a tile finds hidden until that tile comes round again', async () => {
    const delivered: AnalysisResult[] = [];
    const detector = wrapped();
    const privacy = { ...DEFAULT_PRIVACY, threshold: 0.3, tiles: 'auto' as const, models: [], personHeads: false, poseHeads: false, flip: false };
    const stage = new AnalysisStage({ detectors: async () => detector, privacy });
    const cam = new CameraAnalyser({ stage, settings: { camera: 'cam', tasks: ['face'], thresholds: {}, lang: 'en', privacy: 'faces', tilesPerFrame: 1 }, deliver: (r) => delivered.push(r) });
    const photo = join(SAMPLES, 'sample1.jpg');
    fault = 'none';
    const truth = await real.detect(await frameOf(photo, 0, 0), { threshold: 0.5 });
    expect(truth.length).toBe(3);
    const grid = await stage.privacyGridSize(960, 640);
    // Each tile's turn comes every `grid` frames (200 ms apart): longer than a tentative track lives (600 ms).
    expect(grid).toBeGreaterThanOrEqual(5);
    fault = 'tiles-only';
    for (let i = 0; i < 3 * grid; i++) await cam.analyse(await frameOf(photo, i + 1, 1000 + 200 * i));
    fault = 'none';
    const hiddenShare = (r: AnalysisResult, box: readonly number[]) => {
      const b = { x: box[0], y: box[1], width: box[2], height: box[3] };
      return Math.max(0, ...hiddenAreas(r.privacy, r.frame.width, r.frame.height).map((h) => intersection(h, b) / area(b)));
    };
    for (const [n, f] of truth.entries()) {
      const first = delivered.findIndex((r) => hiddenShare(r, f.box) > 0.95);
      expect(first, `face ${n} found by some tile`).toBeGreaterThanOrEqual(0);
      const shown = delivered.slice(first).filter((r) => hiddenShare(r, f.box) <= 0.95).map((r) => r.frame.seq);
      expect(shown, `face ${n}: frames where it shows after its tile found it`).toEqual([]);
    }
  });

  it('runs every pass on the frame that begins a new scene: a face only a tile finds is hidden from that frame on', async () => {
    const delivered: AnalysisResult[] = [];
    const detector = wrapped();
    const privacy = { ...DEFAULT_PRIVACY, threshold: 0.3, tiles: 'auto' as const, models: [], personHeads: false, poseHeads: false, flip: false, border: 0 };
    const stage = new AnalysisStage({ detectors: async () => detector, privacy });
    const cam = new CameraAnalyser({ stage, settings: { camera: 'cam', tasks: ['face'], thresholds: {}, lang: 'en', privacy: 'faces', tilesPerFrame: 1 }, deliver: (r) => delivered.push(r) });
    fault = 'none';
    const first = join(SAMPLES, 'sample1.jpg');
    const second = join(SAMPLES, 'sample6.jpg');
    const truth = await real.detect(await frameOf(second, 0, 0), { threshold: 0.5 });
    expect(truth.length).toBeGreaterThanOrEqual(1);
    fault = 'tiles-only';
    for (let i = 0; i < 3; i++) await cam.analyse(await frameOf(first, i + 1, 1000 + 200 * i));
    // The camera cuts to another scene: its faces, seen only through tiles, are hidden in its very first frame.
    await cam.analyse(await frameOf(second, 4, 1600));
    await cam.analyse(await frameOf(second, 5, 1800));
    fault = 'none';
    const cutFrame = delivered[3];
    expect(Object.keys(cutFrame.timings)).toContain('privacyTiles');
    // What that frame's own analysis found is what every pass at once finds (as for an upload), tile by tile.
    fault = 'tiles-only';
    const everyPass = await stage.analyse({ image: await frameOf(second, 0, 0) }, { privacy: 'faces' });
    fault = 'none';
    const strip = (list: readonly PrivacyRegion[]) => list.filter((r) => !r.predicted).map(({ trackId: _, ...r }) => r);
    expect(strip(cutFrame.privacy)).toEqual(strip(everyPass.privacy ?? []));
    const hidden = hiddenAreas(cutFrame.privacy, cutFrame.frame.width, cutFrame.frame.height);
    for (const [n, f] of truth.entries()) {
      const b = { x: f.box[0], y: f.box[1], width: f.box[2], height: f.box[3] };
      expect(Math.max(0, ...hidden.map((h) => intersection(h, b) / area(b))), `face ${n} in the cut's first frame`).toBeGreaterThan(0.6);
    }
    expect(cam.sceneCuts).toBe(2);
  });

  it('fails closed: a frame whose analysis throws or hangs is never delivered, and is counted', async () => {
    const delivered: AnalysisResult[] = [];
    const cam = analyser(delivered, 1500);
    const photo = join(SAMPLES, 'sample2.jpg');
    fault = 'none';
    await cam.analyse(await frameOf(photo, 1, 0));
    fault = 'throw';
    await expect(cam.analyse(await frameOf(photo, 2, 200))).rejects.toThrow(/injected/);
    fault = 'hang';
    await expect(cam.analyse(await frameOf(photo, 3, 400))).rejects.toThrow(/longer than 1500 ms: nothing of this frame is served/);
    fault = 'none';
    expect(delivered.map((r) => r.frame.seq)).toEqual([1]);
    expect(cam.failedClosed).toBe(2);
    await cam.analyse(await frameOf(photo, 4, 600));
    expect(delivered.map((r) => r.frame.seq)).toEqual([1, 4]);
  });
});
