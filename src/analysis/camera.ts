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
import { TrackEvents, type TrackEvent } from '../tracking/events.ts';
import { TrackIds, Tracker, type TrackerOptionsInput, type TrackInfo } from '../tracking/tracker.ts';
import type { CountsSnapshot } from '../counting/counter.ts';
import { OBJECT_CANDIDATE_SCORE, ObjectTracking, type ObjectTrack, type ObjectTrackingSettings } from './object-tracking.ts';
import { SceneCut } from './scene-cut.ts';
import type { AnalysisStage } from './stage.ts';
import type { PrivacyMode, PrivacyPasses, PrivacyRegion } from './types.ts';

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
  /**
   * Track events of this frame: the hidden regions' tracks (`kind: privacy`) and, on a camera that tracks objects,
   * the object tracks (`kind: object`, with their zones); new when confirmed, rate-limited updates, end.
   */
  readonly events: readonly TrackEvent[];
  /** The object tracks of this frame (a camera that tracks objects: the objects task and tracking labels). */
  readonly objectTracks?: readonly ObjectTrack[];
  /** Zone and line counts after this frame (a camera with object tracking). */
  readonly counts?: CountsSnapshot;
  /** The camera's privacy masks (blacked out in `frame` already): every render blacks them out again over what it draws. */
  readonly mask?: MaskSpans;
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
   * Privacy passes beyond the whole-image face pass, per frame: the tiles of the grid, the person pass (for person
   * heads, unless the camera's objects task finds the persons anyway), the pose pass, the second-opinion models and
   * the mirrored passes (privacy.flip) and the bordered pass (privacy.border) take turns, `tilesPerFrame` of them per frame (0: the face pass only), so a frame costs about
   * 1 + tilesPerFrame passes whatever is configured; the tracker keeps what each found hidden until its turn
   * comes again. Every pass every frame would multiply a frame's cost by their number.
   */
  readonly tilesPerFrame: number;
  /** Least time between two `update` events of one track (default DEFAULT_EVENT_UPDATE_MS). */
  readonly eventUpdateMs?: number;
  /** Object tracks, zones and lines (analysis/object-tracking.ts); used only when the camera runs the objects task. */
  readonly objectTracking?: ObjectTrackingSettings;
}

export class CameraAnalyser {
  private readonly stage: AnalysisStage;
  private readonly settings: CameraAnalysisSettings;
  private readonly deliver: (result: AnalysisResult) => void;
  private readonly now: () => number;
  private readonly tracker: Tracker;
  private readonly events: TrackEvents;
  private readonly objectTracking: ObjectTracking | undefined;
  private failed = 0;
  private readonly scene = new SceneCut();
  private cuts = 0;
  private turn = 0;
  private grid: number | undefined;
  /** Frames until a pass taken in turn runs again (1: every pass every frame). */
  private revisit = 1;
  /** The sources of the passes that run on every frame (a region found by any of them needs no hold). */
  private everyFrame: ReadonlySet<string> = new Set(['face']);
  /** Time between analysed frames, a moving average of the frames' own times (ms). */
  private interval: number | undefined;
  private lastTime: number | undefined;

  constructor(options: { stage: AnalysisStage; settings: CameraAnalysisSettings; deliver: (result: AnalysisResult) => void; now?: () => number }) {
    this.stage = options.stage;
    this.settings = options.settings;
    this.deliver = options.deliver;
    this.now = options.now ?? Date.now;
    const threshold = options.stage.privacy.threshold;
    // One id source for both trackers: an event's id names one track, privacy or object.
    const ids = new TrackIds();
    this.tracker = new Tracker({ highScore: threshold, lowScore: Math.min(0.1, threshold), ...options.settings.tracker }, ids);
    this.events = new TrackEvents({ updateIntervalMs: options.settings.eventUpdateMs });
    const objects = options.settings.objectTracking;
    this.objectTracking = objects && objects.labels.length > 0 && options.settings.tasks.includes('objects') ? new ObjectTracking(objects, ids) : undefined;
  }

  /** Frames analysed with every privacy pass at once because they began a new scene (the first frame, a cut). */
  get sceneCuts(): number {
    return this.cuts;
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
    const analysis = await this.stage.analyse(
      { image: frame },
      {
        report: {
          face: { threshold: s.thresholds.face },
          ...(wantsObjects ? { objects: { threshold: s.thresholds.objects } } : {}),
          ...(wantsFood ? { food: { threshold: s.thresholds.food } } : {}),
        },
        ...(this.objectTracking ? { objectCandidates: OBJECT_CANDIDATE_SCORE } : {}),
        privacy: s.privacy,
        privacyPasses: await this.nextPasses(frame, wantsObjects || wantsFood),
      },
    );
    const endtime = this.now();
    const faces = faceBoxes(analysis.faces ?? [], frame.width, frame.height);
    const seen = analysis.privacy ?? [];
    const tracked = this.track(seen, frame.time);
    const privacy = [...seen, ...tracked.predicted];
    const tags = (list: readonly Detection[] | undefined): TagResult | undefined =>
      list ? { tags: recogTags(list, -Infinity, s.lang), starttime, endtime } : undefined;
    const candidates = analysis.objectCandidates;
    const objects = this.objectTracking?.step(candidates?.detections ?? analysis.objects ?? [], frame.width, frame.height, frame.time, candidates?.reportThreshold ?? 0);
    return {
      camera: s.camera,
      frame,
      faces,
      privacy,
      faceSeconds: (analysis.timings.face ?? 0) / 1000,
      objects: tags(analysis.objects),
      food: tags(analysis.food),
      timings: analysis.timings,
      events: objects ? [...tracked.events, ...objects.events] : tracked.events,
      ...(objects ? { objectTracks: objects.tracks, counts: objects.counts } : {}),
      ...(s.mask ? { mask: s.mask } : {}),
    };
  }

  /**
   * What the tracker carries to `time` (ms, the frames' clock) from the last analysed frame, without updating it:
   * the regions of a video frame that is not analysed itself (src/analysis/video.ts).
   */
  carriedAt(time: number): PrivacyRegion[] {
    return this.tracker.predictAt(time).map(trackedRegion);
  }

  /**
   * This frame's share of the privacy passes (see tilesPerFrame); every pass (undefined) on a frame that begins a
   * new scene (scene-cut.ts): nothing the tracker holds covers its faces yet, and a face only one pass finds would
   * otherwise show until that pass came round, up to a whole cycle.
   */
  private async nextPasses(frame: AnalysedFrame, personsFree: boolean): Promise<PrivacyPasses | undefined> {
    const privacy = this.stage.privacy;
    this.grid ??= await this.stage.privacyGridSize(frame.width, frame.height);
    // The cycle: every tile, then the passes that are not free on this camera.
    const others: Array<'persons' | 'poses' | 'models' | 'flip' | 'border'> = [];
    if (privacy.personHeads && !personsFree) others.push('persons');
    if (privacy.poseHeads) others.push('poses');
    if (privacy.models.length > 0) others.push('models');
    if (privacy.flip) others.push('flip');
    if (privacy.border > 0) others.push('border');
    const cycle = this.grid + others.length;
    const count = Math.min(this.settings.tilesPerFrame, cycle);
    this.revisit = count > 0 ? Math.ceil(cycle / count) : 1;
    this.everyFrame = new Set(personsFree ? ['face', 'person', 'person-head'] : ['face']);
    if (this.scene.next(frame) && count > 0) {
      this.cuts += 1;
      return undefined;
    }
    const picked = Array.from({ length: count }, (_, i) => (this.turn + i) % Math.max(1, cycle));
    this.turn = cycle > 0 ? (this.turn + count) % cycle : 0;
    const tiles = picked.filter((k) => k < this.grid!);
    const named = new Set(picked.filter((k) => k >= this.grid!).map((k) => others[k - this.grid!]));
    return {
      tiles: { from: tiles[0] ?? 0, count: tiles.length },
      persons: personsFree || named.has('persons'),
      poses: named.has('poses'),
      models: named.has('models'),
      flip: named.has('flip'),
      border: named.has('border'),
    };
  }

  /** The tracks this frame's regions did not see, at their predicted and grown boxes (capture time, not analysis time), and the track events. */
  private track(seen: readonly PrivacyRegion[], time: number): { predicted: PrivacyRegion[]; events: TrackEvent[] } {
    const hold = this.holdMs(time);
    const update = this.tracker.update(
      seen.map((r) => ({ box: r, score: r.score, label: r.kind, ...(r.sources.some((x) => this.everyFrame.has(x)) ? {} : { holdMs: hold }) })),
      time,
    );
    const predicted = update.boxes.filter((t) => t.state === 'predicted').map(trackedRegion);
    return { predicted, events: this.events.next(update, time).map((e) => ({ ...e, kind: 'privacy' as const })) };
  }

  /**
   * How long a region found only by a pass taken in turn is held: until that pass has run again, and one frame
   * more for jitter ((revisit + 1) frame intervals, the interval measured on the frames' own times, so dropped and
   * slow frames count). The tracker's shorter tentative limit would otherwise drop it after 3 frames while its
   * pass comes round only every `revisit` frames (12 or more on a 720p camera: the tiles, the poses, the second
   * opinions and the mirrored pass).
   */
  private holdMs(time: number): number {
    if (this.lastTime !== undefined && time > this.lastTime) {
      const delta = Math.min(time - this.lastTime, 2000);
      this.interval = this.interval === undefined ? delta : 0.8 * this.interval + 0.2 * delta;
    }
    this.lastTime = time;
    return this.revisit > 1 ? (this.revisit + 1) * (this.interval ?? 200) : 0;
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

/** A track the frame's detections did not see, as the region that hides it (its predicted, grown box). */
function trackedRegion(t: TrackInfo): PrivacyRegion {
  return { ...t.box, kind: (t.label as PrivacyRegion['kind'] | undefined) ?? 'face', score: t.score, sources: ['track'], trackId: t.id, predicted: true };
}
