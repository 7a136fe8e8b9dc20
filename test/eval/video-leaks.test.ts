import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hiddenShare, insideHidden, iou, isSampled, leaks, summarizeLeaks } from '../../scripts/eval/videos/leaks.ts';
import { formatVideoLeakTable, listVideos, runVideoLeaks } from '../../scripts/eval/videos/command.ts';

const DATA = resolve(import.meta.dirname, '../../../shared/data');

describe('video leak measures', () => {
  it('counts a face found after anonymizing as a leak only where it overlaps a face found before', () => {
    expect(iou([0, 0, 10, 10], [5, 0, 10, 10])).toBeCloseTo(50 / 150, 9);
    expect(iou([0, 0, 10, 10], [20, 20, 5, 5])).toBe(0);
    const before = [[100, 100, 40, 40], [300, 50, 30, 30]] as const;
    expect(leaks(before, [])).toEqual([]);
    expect(leaks(before, before)).toEqual(before);
    expect(leaks(before, [[104, 102, 40, 40], [10, 10, 30, 30]])).toEqual([[104, 102, 40, 40]]);
  });

  it('finds faces inside hidden regions by the share of their box hidden', () => {
    const hidden = [{ x: 0, y: 0, width: 50, height: 100 }, { x: 50, y: 0, width: 50, height: 50 }];
    expect(hiddenShare([0, 0, 100, 100], hidden)).toBe(0.75);
    expect(hiddenShare([60, 60, 10, 10], hidden)).toBe(0);
    expect(insideHidden([[0, 0, 100, 100], [60, 60, 20, 20], [40, 0, 20, 20]], hidden)).toEqual([[0, 0, 100, 100], [40, 0, 20, 20]]);
  });

  it('rates frames with a leak over frames with a face in the original', () => {
    const s = summarizeLeaks([
      { originalFaces: 2, leaks: 1, insideHidden: 0 },
      { originalFaces: 1, leaks: 0, insideHidden: 1 },
      { originalFaces: 0, leaks: 0, insideHidden: 0 },
    ]);
    expect(s).toMatchObject({ frames: 3, framesWithFaces: 2, framesWithLeak: 1, leakRate: 0.5, facesInOriginal: 3, leakedFaces: 1, facesInsideHidden: 1, framesWithFaceInsideHidden: 1 });
    expect(summarizeLeaks([]).leakRate).toBeNaN();
  });

  it('samples the first frame of each interval', () => {
    const picked = Array.from({ length: 90 }, (_, i) => i).filter((i) => isSampled(i, 30, 2));
    expect(picked).toEqual([0, 15, 30, 45, 60, 75]);
    expect(Array.from({ length: 12 }, (_, i) => i).filter((i) => isSampled(i, 29.833, 2))).toEqual([0]);
    expect(Array.from({ length: 5 }, (_, i) => i).filter((i) => isSampled(i, 2, 5))).toEqual([0, 1, 2, 3, 4]);
  });
});

describe.skipIf(!existsSync(join(DATA, 'video/asl_gestures/again.mkv')) || !existsSync(join(DATA, 'models/yunet')))('eval --privacy --videos on one clip', () => {
  it('anonymizes it with the anonymize pipeline and checks the sampled frames with both references, before and after', async () => {
    const videos = listVideos(DATA);
    expect(videos.some((v) => v.endsWith('asl_gestures/again.mkv'))).toBe(true);
    expect(videos.some((v) => v.endsWith('one-by-one-person-detection.mp4'))).toBe(true);
    const lines: string[] = [];
    const run = await runVideoLeaks({ dataDir: DATA, videos: [join(DATA, 'video/asl_gestures/again.mkv')], sampleFps: 2, log: (l) => lines.push(l) });
    const [v] = run.videos;
    expect(v).toMatchObject({ video: 'asl_gestures/again.mkv', fps: 30, width: 640, height: 480 });
    // Every frame written and analysed (the command's default); 2 per second checked.
    expect(v.analysed).toBe(v.frames);
    expect(v.sampled).toBe(Math.ceil(v.frames / 15));
    for (const ref of ['ref:yunet-n', 'ref:ultraface-rfb-640']) {
      for (const mode of ['pixel', 'fill'] as const) {
        const s = v.leaks[ref][mode];
        expect(s.frames).toBe(v.sampled);
        // One signer facing the camera: the reference finds the face in the original frames.
        expect(s.framesWithFaces).toBeGreaterThan(v.sampled / 2);
        expect(s.framesWithLeak).toBe(s.leakFrames.length);
        expect(s.leakRate).toBe(s.framesWithLeak / s.framesWithFaces);
        expect(run.total[ref][mode]).toMatchObject({ frames: s.frames, framesWithLeak: s.framesWithLeak });
      }
    }
    expect(lines.at(-1)).toMatch(/^1\/1 asl_gestures\/again\.mkv: \d+ frames/);
    expect(formatVideoLeakTable(run)).toMatch(/asl_gestures\/again\.mkv +\d+ +\d+\.\d %/);
  }, 60_000);
});
