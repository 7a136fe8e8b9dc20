/**
 * One camera's analysis step: privacy masks blacked out, the frame through the analysis stage (faces reported at
 * the camera's threshold, privacy regions found recall-first, objects/food when the camera wants them), every
 * hidden region tracked (tracking/tracker.ts: a region the detectors miss in a frame stays hidden at its predicted,
 * grown position; a new one is hidden from its first frame), and the result handed to the camera's output (publish, snapshots,
 * MJPEG). Frames flow one way: capture (supervisor) -> scheduler -> this -> the output. A frame whose analysis fails
 * or times out never reaches the output: snapshots and streams keep the last anonymized frame (fail closed), and
 * `failedClosed` counts it.
 */
import type { RgbImage } from '../core/image.ts';
import type { Detection, Task } from '../detect/types.ts';
import type { Lang } from '../detect/labels.ts';
import { RaypackError } from '../errors.ts';
import { applyMask, type MaskSpans } from '../image/privacy-mask.ts';
import { faceBoxes, recogTags, type FaceBox, type RecogTag } from '../raypack/wire.ts';
import { Tracker, type TrackerOptionsInput } from '../tracking/tracker.ts';
import type { AnalysisStage } from './stage.ts';
import type { PrivacyMode, PrivacyRegion } from './types.ts';

/** A reference on a pooled frame buffer (camera/frame-pool.ts FrameBuffer): retain to keep its pixels, release to give them back. */
export interface FrameRef {
  retain(): FrameRef;
  release(): void;
}

/** A camera frame as the scheduler hands it over. */
export interface AnalysedFrame extends RgbImage {
  readonly seq: number;
  readonly time: number;
  /**
   * The pooled buffer behind `data` (camera/frame-pool.ts), absent for frames that are not pooled. The analysis
   * reads the pixels only while its caller holds a reference (the scheduler does until analyse() settles).
   */
  readonly ref?: FrameRef;
}

export interface TagResult {
  readonly tags: RecogTag[];
  readonly starttime: number;
  readonly endtime: number;
}

export interface AnalysisResult {
  readonly camera: string;
  readonly frame: AnalysedFrame;
  /** Reported faces (the camera's threshold), in frame pixels, best first. */
  readonly faces: FaceBox[];
  /** What every anonymized image of this frame hides: this frame's regions plus the tracks predicted through a miss. */
  readonly privacy: readonly PrivacyRegion[];
  readonly faceSeconds: number;
  readonly objects?: TagResult;
  readonly food?: TagResult;
  /** Milliseconds per analysis step. */
  readonly timings: Readonly<Record<string, number>>;
}

export interface CameraAnalysisSettings {
  readonly camera: string;
  readonly tasks: readonly Task[];
  readonly thresholds: Partial<Record<Task, number>>;
  readonly lang: Lang;
  readonly privacy: PrivacyMode;
  /** Privacy masks, rasterised for the camera's frame size; blacked out before anything reads the frame. */
  readonly mask?: MaskSpans;
  /** A frame's analysis that takes longer than this fails (closed): nothing of it is served. */
  readonly timeoutMs?: number;
  /** The tracker's settings (its defaults when absent; highScore is the privacy threshold, so every hidden region starts a track). */
  readonly tracker?: TrackerOptionsInput;
  /**
   * Privacy tiles run per frame, taking the grid in turn (a face found in a tile stays hidden until its tile comes
   * round again): the whole grid every frame would multiply the cost of a frame by the number of tiles. A camera
   * without the objects task (whose pass finds the persons for free) runs the person pass on every other frame
   * instead of a tile, so a frame costs about two passes either way; the tracker carries what each found.
   */
  readonly tilesPerFrame: number;
}

export class CameraAnalyser {
  private readonly stage: AnalysisStage;
  private readonly settings: CameraAnalysisSettings;
  private readonly deliver: (result: AnalysisResult) => void;
  private readonly now: () => number;
  private readonly tracker: Tracker;
  private failed = 0;
  private nextTile = 0;
  private frames = 0;

  constructor(options: { stage: AnalysisStage; settings: CameraAnalysisSettings; deliver: (result: AnalysisResult) => void; now?: () => number }) {
    this.stage = options.stage;
    this.settings = options.settings;
    this.deliver = options.deliver;
    this.now = options.now ?? Date.now;
    const threshold = options.stage.privacy.threshold;
    this.tracker = new Tracker({ highScore: threshold, lowScore: Math.min(0.1, threshold), ...options.settings.tracker });
  }

  /** Frames whose analysis failed or timed out, none of which reached the output. */
  get failedClosed(): number {
    return this.failed;
  }

  async analyse(frame: AnalysedFrame): Promise<void> {
    const s = this.settings;
    // Masked pixels are gone before any detector, snapshot or stream sees the frame.
    if (s.mask) applyMask(frame.data, s.mask);
    let result: AnalysisResult;
    try {
      result = await withTimeout(this.analyseFrame(frame), s.timeoutMs ?? 10_000);
    } catch (error) {
      this.failed += 1;
      throw error;
    }
    this.deliver(result);
  }

  private async analyseFrame(frame: AnalysedFrame): Promise<AnalysisResult> {
    const s = this.settings;
    const wantsObjects = s.tasks.includes('objects');
    const wantsFood = s.tasks.includes('food');
    const starttime = this.now();
    // Without the objects task, tiles and the person pass take turns (both every frame would be ~3 passes).
    const personsFree = wantsObjects || wantsFood || s.privacy === 'body';
    const personsTurn = personsFree || this.frames % 2 === 1;
    const tiles = personsFree || !personsTurn ? s.tilesPerFrame : 0;
    this.frames += 1;
    const analysis = await this.stage.analyse(
      { image: frame },
      {
        report: {
          face: { threshold: s.thresholds.face },
          ...(wantsObjects ? { objects: { threshold: s.thresholds.objects } } : {}),
          ...(wantsFood ? { food: { threshold: s.thresholds.food } } : {}),
        },
        privacy: s.privacy,
        privacyTiles: { from: this.nextTile, count: tiles },
        privacyPersons: personsTurn,
      },
    );
    this.nextTile += tiles;
    const endtime = this.now();
    const faces = faceBoxes(analysis.faces ?? [], frame.width, frame.height);
    const seen = analysis.privacy ?? [];
    const privacy = [...seen, ...this.predicted(seen, frame.time)];
    const tags = (list: readonly Detection[] | undefined): TagResult | undefined =>
      list ? { tags: recogTags(list, -Infinity, s.lang), starttime, endtime } : undefined;
    return {
      camera: s.camera,
      frame,
      faces,
      privacy,
      faceSeconds: (analysis.timings.face ?? 0) / 1000,
      objects: tags(analysis.objects),
      food: tags(analysis.food),
      timings: analysis.timings,
    };
  }

  /** The tracks this frame's regions did not see, at their predicted and grown boxes (capture time, not analysis time). */
  private predicted(seen: readonly PrivacyRegion[], time: number): PrivacyRegion[] {
    const { boxes } = this.tracker.update(
      seen.map((r) => ({ box: r, score: r.score, label: r.kind })),
      time,
    );
    return boxes
      .filter((t) => t.state === 'predicted')
      .map((t) => ({ ...t.box, kind: (t.label as PrivacyRegion['kind'] | undefined) ?? 'face', score: t.score, sources: ['track'], trackId: t.id, predicted: true }));
  }
}

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RaypackError('internal', `frame analysis took longer than ${ms} ms: nothing of this frame is served`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
