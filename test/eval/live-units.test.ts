import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { parseEvalArgs } from '../../scripts/eval/args.ts';
import { bandBits, checksum, drawBand, numberFromBits, readBand, type BandLayout } from '../../scripts/eval/live/band.ts';
import { frameSize } from '../../scripts/eval/live/clip.ts';
import { filledShare, isFill, measureSnapshot } from '../../scripts/eval/live/measure.ts';
import { frameTruth, planClip, segmentOf, windowOffset, type ClipOptions, type PhotoSpec } from '../../scripts/eval/live/pan.ts';
import { dedupeFrames, faceRuns, frameFromSeq, liveMetrics, type ObservedFrame } from '../../scripts/eval/live/runs.ts';

const W = 1280;
const layout: BandLayout = { width: W, top: 672, height: 48 };

function frameWithBand(n: number): { data: Uint8Array; width: number; height: number } {
  const frame = { data: new Uint8Array(W * 720 * 3).fill(90), width: W, height: 720 };
  drawBand(frame, layout, n);
  return frame;
}

async function throughJpeg(frame: { data: Uint8Array; width: number; height: number }, quality: number): Promise<{ data: Uint8Array; width: number; height: number }> {
  const jpeg = await sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } }).jpeg({ quality }).toBuffer();
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}

describe('frame band', () => {
  it('carries 16 bits of frame number and a 4-bit checksum, and refuses numbers it cannot carry', () => {
    expect(bandBits(0x1234)).toHaveLength(20);
    expect(numberFromBits(bandBits(0x1234))).toBe(0x1234);
    expect(numberFromBits(bandBits(65535))).toBe(65535);
    const flipped = bandBits(777);
    flipped[3] ^= 1;
    expect(numberFromBits(flipped)).toBeUndefined();
    expect(checksum(0)).toBe(0xa);
    expect(() => bandBits(65536)).toThrow(RangeError);
    expect(() => bandBits(-1)).toThrow(RangeError);
  });

  it('reads back every number drawn, also through a JPEG at quality 30', async () => {
    for (const n of [0, 1, 2, 255, 256, 1000, 4095, 12345, 65535]) {
      expect(readBand(frameWithBand(n), layout)).toBe(n);
      expect(readBand(await throughJpeg(frameWithBand(n), 30), layout)).toBe(n);
    }
  });

  it('takes each bit from the copy that shows it, and reads nothing when a bit is hidden in both', () => {
    let frame = frameWithBand(4321);
    const cover = (x0: number, x1: number, colour = [255, 0, 255]): void => {
      for (let y = 660; y < 720; y++) for (let x = x0; x < x1; x++) frame.data.set(colour, (y * W + x) * 3);
    };
    cover(100, 300);
    expect(readBand(frame, layout)).toBe(4321);
    // A large face at the bottom edge: its fill box across the middle hides the end of the left copy and the start of the right one.
    frame = frameWithBand(4321);
    cover(270, 790);
    expect(readBand(frame, layout)).toBe(4321);
    // Grey fill (no colour to tell it from the band): still an erased bit, not a wrong one.
    frame = frameWithBand(4321);
    cover(100, 300, [128, 128, 128]);
    expect(readBand(frame, layout)).toBe(4321);
    cover(700, 900);
    expect(readBand(frame, layout)).toBeUndefined();
    expect(readBand({ ...frame, width: 640 }, layout)).toBeUndefined();
  });
});

const photos: PhotoSpec[] = [
  { id: 'a', width: 416, height: 416, faces: [[100, 100, 20, 20], [0, 0, 5, 5], [400, 10, 16, 16]] },
  { id: 'b', width: 800, height: 400, faces: [[10, 300, 40, 40]] },
];
const options: ClipOptions = { width: 1280, height: 672, fps: 10, secondsPerPhoto: 2, leadInFrames: 5, zoom: 1 };

describe('pan geometry and truth', () => {
  const plan = planClip(photos, options);

  it('puts a lead-in first, then each photo scaled to cover the picture, the window panning end to end', () => {
    expect(plan.totalFrames).toBe(5 + 2 * 20);
    expect(plan.photosEnd).toBe(45);
    expect(planClip(photos, { ...options, tailFrames: 7 })).toMatchObject({ totalFrames: 52, photosEnd: 45 });
    const [a, b] = plan.segments;
    expect(a).toMatchObject({ first: 5, frames: 20, scaledWidth: 1280, scaledHeight: 1280, from: [0, 0], to: [0, 608] });
    // 800x400 scaled by max(1280/800, 672/400) = 1.68: 1344 x 672, the second photo pans back.
    expect(b).toMatchObject({ first: 25, frames: 20, scaledWidth: 1344, scaledHeight: 672, from: [64, 0], to: [0, 0] });
    expect(segmentOf(plan, 4)).toBeUndefined();
    expect(segmentOf(plan, 5)).toBe(a);
    expect(segmentOf(plan, 45)).toBeUndefined();
    expect(windowOffset(a, 5)).toEqual([0, 0]);
    expect(windowOffset(a, 24)).toEqual([0, 608]);
    expect(windowOffset(a, 14)).toEqual([0, 288]);
  });

  it('gives each frame its faces: scaled labels minus the window offset, cut to the picture, small labels left out', () => {
    expect(frameTruth(plan, photos, 0)).toEqual([]);
    const s = 1280 / 416;
    const first = frameTruth(plan, photos, 5);
    // The 5 px label is not a face; the one at the right edge is inside (1280 wide exactly).
    expect(first.map((f) => f.face)).toEqual([0, 2]);
    expect(first[0].box[0]).toBeCloseTo(100 * s, 6);
    expect(first[0].box[1]).toBeCloseTo(100 * s, 6);
    expect(first[0].size).toBeCloseTo(20 * s, 6);
    const later = frameTruth(plan, photos, 14);
    expect(later[0].box[1]).toBeCloseTo(100 * s - 288, 6);
    // Face 2 (y 10..26 -> 31..80 scaled) has left the picture by then.
    expect(later.map((f) => f.face)).toEqual([0]);
    // Photo b, first frame: offset x 64, the face at x 10*1.68 - 64 < 0 is cut to the picture and kept while half of it shows.
    const b0 = frameTruth(plan, photos, 25);
    expect(b0).toHaveLength(0);
    const bEnd = frameTruth(plan, photos, 44);
    expect(bEnd).toHaveLength(1);
    expect(bEnd[0].box[0]).toBeCloseTo(16.8, 6);
  });
});

describe('snapshot measures', () => {
  it('counts the fill colour inside a face box', () => {
    const image = { data: new Uint8Array(100 * 100 * 3).fill(100), width: 100, height: 100 };
    for (let y = 0; y < 50; y++) for (let x = 0; x < 100; x++) image.data.set([250, 8, 247], (y * 100 + x) * 3);
    expect(isFill(250, 8, 247)).toBe(true);
    expect(isFill(220, 160, 140)).toBe(false);
    expect(filledShare(image, [0, 0, 10, 10])).toBe(1);
    expect(filledShare(image, [0, 40, 10, 20])).toBe(0.5);
    expect(filledShare(image, [0, 60, 10, 10])).toBe(0);
  });

  it('reads a snapshot: its frame from the band and the coverage of that frame\'s faces', () => {
    const plan = planClip(photos, options);
    const size = frameSize(options);
    expect(size).toMatchObject({ width: 1280, height: 672 + 96, pictureTop: 48 });
    const framed = (n: number): { data: Uint8Array; width: number; height: number } => {
      const frame = { data: new Uint8Array(size.width * size.height * 3).fill(90), width: size.width, height: size.height };
      for (const band of size.bands) drawBand(frame, band, n);
      return frame;
    };
    const frame = framed(5);
    const face = frameTruth(plan, photos, 5)[0];
    for (let y = Math.round(face.box[1]) + 48; y < Math.round(face.box[1] + face.box[3]) + 48; y++) {
      for (let x = Math.round(face.box[0]); x < Math.round(face.box[0] + face.box[2]); x++) frame.data.set([255, 0, 255], (y * W + x) * 3);
    }
    // The band under the picture hidden across its whole width: the one above still tells the frame.
    for (let y = size.bands[1].top; y < size.height; y++) for (let x = 0; x < W; x++) frame.data.set([255, 0, 255], (y * W + x) * 3);
    const seen = measureSnapshot(frame, size, plan, photos);
    expect(seen?.frame).toBe(5);
    expect(seen?.faces.map((f) => Math.round(f.coverage * 100))).toEqual([100, 0]);
    // The filled face and the filled band are no false fill; a 64x64 block far from every face is.
    expect(seen?.falseFill).toBe(0);
    for (let y = 450 + 48; y < 514 + 48; y++) for (let x = 600; x < 664; x++) frame.data.set([255, 0, 255], (y * W + x) * 3);
    const far = (t: { box: readonly number[] }) => t.box[0] + t.box[2] < 500 || t.box[0] > 764 || t.box[1] + t.box[3] < 350 || t.box[1] > 614;
    expect(frameTruth(plan, photos, 5).every(far)).toBe(true);
    expect(measureSnapshot(frame, size, plan, photos)?.falseFill).toBeCloseTo((64 * 64) / (1280 * 672), 6);
    expect(measureSnapshot(framed(52), size, plan, photos)).toBeUndefined();
  });
});

describe('frames placed by sequence number', () => {
  it('places an unreadable frame between readable ones that lie exactly ratio frames apart per sequence number', () => {
    const readable = [{ seq: 2, frame: 35 }, { seq: 3, frame: 38 }, { seq: 7, frame: 50 }, { seq: 9, frame: 57 }, { frame: 60 }];
    expect(frameFromSeq(5, readable, 3)).toBe(44);
    expect(frameFromSeq(3, readable, 3)).toBe(38);
    // Between seq 7 and 9 the clip moved 7 frames, not 6: a frame was dropped or doubled, so seq 8 is not placed.
    expect(frameFromSeq(8, readable, 3)).toBeUndefined();
    // Not bracketed, or no whole ratio: not placed.
    expect(frameFromSeq(1, readable, 3)).toBeUndefined();
    expect(frameFromSeq(10, readable, 3)).toBeUndefined();
    expect(frameFromSeq(5, readable, 2.5)).toBeUndefined();
    expect(frameFromSeq(Number.NaN, readable, 3)).toBeUndefined();
  });
});

describe('runs of visible frames', () => {
  const f = (frame: number, faces: [number, number, number][], seq?: number): ObservedFrame => ({ frame, seq, faces: faces.map(([face, size, coverage]) => ({ photo: 0, face, size, coverage })) });

  it('counts a face\'s longest run of analysed frames visible; a hidden frame or its absence ends a run', () => {
    const frames = [
      f(30, [[0, 50, 0], [1, 30, 1]]),
      f(33, [[0, 50, 0.5], [1, 30, 1]]),
      f(36, [[0, 60, 0.2]]),
      f(39, [[0, 60, 1], [1, 30, 0]]),
      f(42, [[0, 60, 0], [1, 30, 0]]),
      f(45, [[1, 30, 0]]),
      f(48, [[0, 60, 0]]),
    ];
    const runs = faceRuns([...frames].reverse());
    const r0 = runs.find((r) => r.face === 0)!;
    expect(r0).toMatchObject({ size: 60, frames: 6, visible: 5, longestRun: 3, longestRunAnalysed: 3, runFrom: 30, runTo: 36 });
    const r1 = runs.find((r) => r.face === 1)!;
    expect(r1).toMatchObject({ size: 30, frames: 5, visible: 3, longestRun: 3, runFrom: 39, runTo: 45 });
    const m = liveMetrics([...frames, frames[0]]);
    expect(m.frames).toBe(7);
    expect(m.faceFrames).toBe(11);
    expect(m.overall.coverage70).toBeCloseTo(3 / 11, 9);
    expect(m.bySize['40-80'].faces).toBe(6);
    expect(m.framesWithVisibleFace).toBe(1);
    expect(m.framesWithVisibleFace40).toBeCloseTo(5 / 7, 9);
    expect(m.faces40).toBe(1);
    expect(m.faces40OverMaxRun).toBe(1);
    expect(m.worstRuns.map((r) => r.face)).toEqual([0]);
    expect(m.faces40OverMaxRunSnapshots).toBe(1);
    expect(dedupeFrames([{ frame: 2 }, { frame: 1 }, { frame: 2 }])).toEqual([{ frame: 1 }, { frame: 2 }]);
  });
});

describe('runs in analysed frames', () => {
  const f = (frame: number, seq: number, coverage: number): ObservedFrame => ({ frame, seq, faces: [{ photo: 1, face: 0, size: 90, coverage }] });

  it('counts the analysed frames the snapshots skipped inside a run, by the camera sequence numbers', () => {
    // Snapshots caught seq 10, 11, 13 (12 was analysed between two pulls), then 14 hid the face.
    const [run] = faceRuns([f(30, 10, 0), f(33, 11, 0), f(39, 13, 0.1), f(42, 14, 1), f(45, 15, 0)]);
    expect(run).toMatchObject({ longestRun: 3, longestRunAnalysed: 4, runFrom: 30, runTo: 39 });
    const m = liveMetrics([f(30, 10, 0), f(36, 12, 0), f(42, 14, 1)]);
    expect(m.faces40OverMaxRun).toBe(1);
    expect(m.faces40OverMaxRunSnapshots).toBe(0);
  });
});

describe('eval --privacy --live / --videos arguments', () => {
  it('takes the live options with their defaults, and refuses bad ones', () => {
    const a = parseEvalArgs(['--privacy', '--live']);
    expect(a).toMatchObject({ live: true, photos: 30, fps: undefined, secondsPerPhoto: 4, clipFps: 15, size: { width: 1280, height: 720 }, zoom: 1 });
    expect(parseEvalArgs(['--privacy', '--live', '--photos', '3', '--fps', '10', '--size', '640x360', '--zoom', '1.5'])).toMatchObject({ photos: 3, fps: 10, size: { width: 640, height: 360 }, zoom: 1.5 });
    expect(parseEvalArgs(['--privacy', '--videos', '--sample-fps', '1'])).toMatchObject({ videos: true, sampleFps: 1, analysisFps: undefined });
    expect(() => parseEvalArgs(['--live'])).toThrow(/with --privacy/);
    expect(() => parseEvalArgs(['--privacy', '--live', '--videos'])).toThrow(/one/);
    expect(() => parseEvalArgs(['--privacy', '--live', '--size', '12x7'])).toThrow(/--size/);
    expect(() => parseEvalArgs(['--privacy', '--live', '--fps', '0'])).toThrow(/--fps/);
    expect(() => parseEvalArgs(['--privacy', '--live', '--zoom', '0.5'])).toThrow(/--zoom/);
  });
});
