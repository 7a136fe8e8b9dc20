/**
 * The privacy regions of every frame of a video file, through the camera pipeline (camera.ts: the analysis stage
 * with its privacy passes in turn, and the tracker). A file is not live, so nothing is dropped and the future is
 * known: frames are analysed at `analysisFps` (every frame when absent), and a frame between two analysed ones is
 * held back until the next analysed one is done, then hides
 * - the regions of the analysed frame before it (seen and tracked),
 * - what the tracker predicts at its own time from there (a face that moves on is followed), and
 * - the regions of the analysed frame after it (a face that appears, or moves further than predicted, is hidden
 *   where it will be as well as where it was).
 * The last frame is always analysed, so every frame has analysed frames on both sides. A frame whose analysis
 * fails or times out raises: the caller writes nothing more (fail closed). Frames come out in order.
 */
import type { RgbImage } from '../core/image.ts';
import type { FaceBox } from '../raypack/wire.ts';
import type { TrackerOptionsInput } from '../tracking/tracker.ts';
import { CameraAnalyser, type AnalysisResult } from './camera.ts';
import type { AnalysisStage } from './stage.ts';
import type { PrivacyMode, PrivacyRegion } from './types.ts';

export interface VideoFrame extends RgbImage {
  /** 0-based position in the video. */
  readonly index: number;
  /** Milliseconds from the start (index / fps). */
  readonly time: number;
}

export interface PrivateFrame {
  readonly frame: VideoFrame;
  /** Everything to hide in this frame. */
  readonly privacy: readonly PrivacyRegion[];
  /** The faces reported (at the stage's face threshold), on analysed frames only. */
  readonly faces?: readonly FaceBox[];
  readonly analysed: boolean;
}

export interface VideoPrivacyOptions {
  readonly stage: AnalysisStage;
  readonly privacy: PrivacyMode;
  /** The video's frame rate. */
  readonly videoFps: number;
  /** Frames analysed per second of video; absent: every frame. */
  readonly analysisFps?: number;
  /** Privacy passes beyond the whole-image face pass per analysed frame, taken in turn (camera.ts tilesPerFrame). */
  readonly tilesPerFrame: number;
  /** One frame's analysis longer than this fails the video (default 60 s: files are not live). */
  readonly timeoutMs?: number;
  readonly tracker?: TrackerOptionsInput;
  /** Runs each frame's analysis (the daemon's inference queue, shared with the cameras); default: at once. */
  readonly schedule?: <T>(work: () => Promise<T>) => Promise<T>;
}

export class VideoPrivacy {
  private readonly analyser: CameraAnalyser;
  private readonly intervalMs: number;
  private readonly halfFrameMs: number;
  private readonly waiting: VideoFrame[] = [];
  private lastRegions: readonly PrivacyRegion[] = [];
  private nextDueMs = -Infinity;
  private result: AnalysisResult | undefined;
  private analysedCount = 0;
  private readonly schedule: <T>(work: () => Promise<T>) => Promise<T>;

  constructor(options: VideoPrivacyOptions) {
    this.schedule = options.schedule ?? ((work) => work());
    this.intervalMs = options.analysisFps !== undefined ? 1000 / options.analysisFps : 0;
    this.halfFrameMs = 500 / options.videoFps;
    this.analyser = new CameraAnalyser({
      stage: options.stage,
      settings: {
        camera: 'video',
        tasks: ['face'],
        thresholds: {},
        lang: 'en',
        privacy: options.privacy,
        tilesPerFrame: options.tilesPerFrame,
        timeoutMs: options.timeoutMs ?? 60_000,
        tracker: options.tracker,
      },
      deliver: (result) => (this.result = result),
    });
  }

  /** Frames analysed so far. */
  get analysed(): number {
    return this.analysedCount;
  }

  /** Take the next frame (in order); returns the frames whose regions are now known, in order. */
  async push(frame: VideoFrame): Promise<PrivateFrame[]> {
    if (frame.time < this.nextDueMs) {
      this.waiting.push(frame);
      return [];
    }
    return this.analyseWith(frame);
  }

  /** The end of the video: the frames still held back, with the last of them analysed. */
  async finish(): Promise<PrivateFrame[]> {
    const last = this.waiting.pop();
    return last ? this.analyseWith(last) : [];
  }

  private async analyseWith(frame: VideoFrame): Promise<PrivateFrame[]> {
    const held = this.waiting.splice(0);
    // What the tracker carries to each held frame, from the analysed frame before them (before this one updates it).
    const carried = held.map((f) => this.analyser.carriedAt(f.time));
    this.result = undefined;
    await this.schedule(() => this.analyser.analyse({ data: frame.data, width: frame.width, height: frame.height, seq: frame.index, time: frame.time }));
    const result = this.result as AnalysisResult | undefined;
    if (!result) throw new Error('the frame analysis delivered no result');
    this.analysedCount += 1;
    // Half a frame of slack, so 10 fps of a 30 fps video is every third frame whatever the rounding of frame times.
    this.nextDueMs = frame.time + this.intervalMs - this.halfFrameMs;
    const out: PrivateFrame[] = held.map((f, i) => ({ frame: f, privacy: [...this.lastRegions, ...carried[i], ...result.privacy], analysed: false }));
    out.push({ frame, privacy: result.privacy, faces: result.faces, analysed: true });
    this.lastRegions = result.privacy;
    return out;
  }
}
