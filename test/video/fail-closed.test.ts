/**
 * Fail closed: when the analysis of one frame fails, anonymizeVideo writes no file and leaves nothing behind, and
 * its ffmpeg processes are gone. The detectors are the real ones; a wrapper makes the face model fail on its
 * 12th call (fault injection, the one kind of stand-in the tests allow).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnalysisStage } from '../../src/analysis/stage.ts';
import { loadDetector } from '../../src/detect/registry.ts';
import type { Detector } from '../../src/detect/types.ts';
import { anonymizeVideo } from '../../src/video/anonymize.ts';
import { childProcesses } from '../helpers/processes.ts';
import { HAVE_VIDEO, VIDEO } from './helpers.ts';

describe.skipIf(!HAVE_VIDEO)('anonymizeVideo fails closed', () => {
  let dir: string;
  let face: Detector;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'raypack-failclosed-'));
    face = await loadDetector('face', { threads: 1 });
  });
  afterAll(async () => {
    await face?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a frame whose analysis fails: the job rejects, no output, no partial file, no ffmpeg left', async () => {
    let calls = 0;
    const failing: Detector = Object.assign(Object.create(face) as Detector, {
      detect: (...args: Parameters<Detector['detect']>) => {
        calls += 1;
        if (calls === 12) return Promise.reject(new Error('injected: the face model failed'));
        return face.detect(...args);
      },
      detectAt: undefined,
    });
    const stage = new AnalysisStage({ detectors: async () => failing, privacy: { threshold: 0.2, tiles: 0, zoom: 2, maxTilesPerSide: 3, overlap: 0.25, models: [], modelThreshold: 0, personHeads: false, personThreshold: 0.35, poseHeads: false, headCover: 0, flip: false, border: 0 } });
    const output = join(dir, 'out.mp4');
    const written: number[] = [];
    await expect(
      anonymizeVideo({ stage, input: join(VIDEO, 'asl_gestures/bird.mkv'), output, privacy: 'faces', render: 'pixel', analysisFps: 10, onFrame: (f) => written.push(f.frame.index) }),
    ).rejects.toThrow(/injected: the face model failed/);
    expect(calls).toBe(12);
    // Frames were handed to the encoder before the failure (those before the failing analysed frame), but no file is kept.
    expect(written.length).toBeGreaterThan(0);
    expect(readdirSync(dir)).toEqual([]);
    expect(childProcesses(process.pid, 'ffmpeg').live).toEqual([]);
  });
});
