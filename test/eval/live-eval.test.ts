/**
 * The live privacy eval end to end on a short clip: the clip's band reads back on every frame after H.264, the
 * truth boxes sit on the photo's faces to the pixel, and a run through the RTSP server and the daemon's camera
 * yields measured snapshots of both photos (no target asserted: two photos say nothing about a rate).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { FACE_SETS, loadDataset } from '../../scripts/eval/datasets.ts';
import { frameSize, pickPhotos, readFrameNumber, writeClip } from '../../scripts/eval/live/clip.ts';
import { runLiveEval } from '../../scripts/eval/live/command.ts';
import { frameTruth, type ClipOptions } from '../../scripts/eval/live/pan.ts';
import { rtspServerAvailable } from '../helpers/rtsp.ts';

const DATA = resolve(import.meta.dirname, '../../../shared/data');
const haveData = existsSync(join(DATA, 'faces/wider-val-416')) && existsSync(join(DATA, 'faces/facemask-voc'));
const dir = mkdtempSync(join(tmpdir(), 'raypack-live-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!haveData || !rtspServerAvailable())('eval --privacy --live', () => {
  it('writes a clip whose every frame tells its number after H.264, with truth boxes on the faces', async () => {
    const sets = await Promise.all(FACE_SETS.map((n) => loadDataset(DATA, n)));
    const photos = await pickPhotos(sets, 2);
    expect(photos.map((p) => p.set)).toEqual(['faces/wider-val-416', 'faces/facemask-voc']);
    const options: ClipOptions = { width: 640, height: 312, fps: 10, secondsPerPhoto: 1.5, leadInFrames: 5, zoom: 1.2 };
    const size = frameSize(options);
    const plan = await writeClip(photos, options, join(dir, 'clip.mp4'));
    const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', join(dir, 'clip.mp4'), '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 1 << 28 });
    const bytes = size.width * size.height * 3;
    expect(raw.length).toBe(plan.totalFrames * bytes);
    const frame = (i: number): { data: Uint8Array; width: number; height: number } => ({ data: raw.subarray(i * bytes, (i + 1) * bytes), width: size.width, height: size.height });
    for (let i = 0; i < plan.totalFrames; i++) expect(readFrameNumber(frame(i), size)).toBe(i);

    // Exact truth: the picture inside a frame's truth box is the photo's labelled face (cut out of the photo file and
    // scaled to the box on its own), and not the picture half a box beside it.
    for (const f of [plan.segments[0].first + 3, plan.segments[1].first + 9]) {
      const whole = frameTruth(plan, photos, f).filter((t) => {
        const l = photos[t.photo].faces[t.face];
        const sx = plan.segments[t.photo].scaledWidth / photos[t.photo].width;
        const sy = plan.segments[t.photo].scaledHeight / photos[t.photo].height;
        // Not cut by the picture's edge, and half a box of room on one side.
        return Math.abs(t.box[2] - l[2] * sx) < 0.01 && Math.abs(t.box[3] - l[3] * sy) < 0.01 && (t.box[0] > t.box[2] || t.box[0] + 2 * t.box[2] < options.width);
      });
      expect(whole.length).toBeGreaterThan(0);
      const t = whole.reduce((a, b) => (b.size > a.size ? b : a));
      const label = photos[t.photo].faces[t.face];
      const w = Math.round(t.box[2]);
      const h = Math.round(t.box[3]);
      const face = await sharp(photos[t.photo].path)
        .removeAlpha()
        .toColourspace('srgb')
        .extract({ left: Math.round(label[0]), top: Math.round(label[1]), width: Math.round(label[2]), height: Math.round(label[3]) })
        .resize(w, h, { fit: 'fill' })
        .raw()
        .toBuffer();
      const shown = (dx: number): Uint8Array => {
        const out = new Uint8Array(w * h * 3);
        const x0 = Math.round(t.box[0]) + dx;
        const y0 = Math.round(t.box[1]) + size.pictureTop;
        for (let y = 0; y < h; y++) out.set(frame(f).data.subarray(((y0 + y) * size.width + x0) * 3, ((y0 + y) * size.width + x0 + w) * 3), y * w * 3);
        return out;
      };
      const diff = (a: Uint8Array): number => a.reduce((sum, v, i) => sum + Math.abs(v - face[i]), 0) / a.length;
      const same = diff(shown(0));
      const beside = diff(shown(t.box[0] > t.box[2] ? -Math.round(w / 2) : Math.round(w / 2)));
      expect(same).toBeLessThan(12);
      expect(beside).toBeGreaterThan(same * 3);
    }
  }, 30_000);

  it('measures a short run of the real camera: snapshots of both photos, each read from its band', async () => {
    const lines: string[] = [];
    const result = await runLiveEval({ dataDir: DATA, photos: 2, secondsPerPhoto: 2.5, clipFps: 15, size: { width: 960, height: 540 }, zoom: 1, log: (l) => lines.push(l) });
    expect(lines.some((l) => l.startsWith('daemon up, camera at 5 fps'))).toBe(true);
    expect(result.camera.fps).toBe(5);
    expect(result.snapshots.pulled).toBeGreaterThan(10);
    // Snapshots showing the same analysed frame are one frame; every frame seen lies in the clip.
    expect(result.snapshots.distinctFrames).toBe(result.frames.length);
    expect(new Set(result.frames.map((f) => f.frame)).size).toBe(result.frames.length);
    expect(result.frames.every((f) => f.frame >= 0 && f.frame < result.clip.frames)).toBe(true);
    expect(result.snapshots.unreadable).toBeLessThan(result.snapshots.pulled / 2);
    const photosSeen = new Set(result.frames.flatMap((f) => f.faces.map((x) => x.photo)));
    expect([...photosSeen].sort()).toEqual([0, 1]);
    const m = result.metrics;
    expect(m.faceFrames).toBe(result.frames.reduce((a, f) => a + f.faces.length, 0));
    expect(m.overall.faces).toBe(m.faceFrames);
    expect(m.overall.coverage70).toBeGreaterThanOrEqual(0);
    expect(m.faces).toBeGreaterThan(0);
    // The camera analysed at least the frames the snapshots showed.
    expect((result.camera.status as { frames: { analysed: number } }).frames.analysed).toBeGreaterThanOrEqual(result.frames.length);
  }, 60_000);
});
